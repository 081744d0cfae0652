#!/usr/bin/env bash
# The CUDA checks of issue 16 in one go, JSON under OUTDIR (see docs/performance.md, "CUDA").
#
#   benchmarks/gpu/run.sh OUTDIR [--smoke] [--only STEP,STEP] [--train-seconds N] [--budget N]
#
# Full mode (a GPU, about 8 minutes): the GPU tests and the suite on CUDA, training throughput,
# relight, LIME/SRIE, metrics, eval, and a short training run on rendered pairs.
# --smoke: the same steps at tiny sizes on the CPU (CI runs it, under 2 minutes).
# Every step has a time limit and runs whatever the others did; its outcome goes to
# OUTDIR/STEP.step.json, its output to OUTDIR/logs/STEP.log; the exit status is 1 when any
# step failed, timed out or found no time left. Needs no network: missing
# packages come from the wheels in .whl/ (benchmarks/gpu/fetch_wheels.sh, run where pip works).
# Steps: setup pytest_gpu pytest_suite train_throughput relight baselines metrics eval
#        synth train_short train_scores (summary always runs).
set -uo pipefail

usage() { echo "usage: $0 OUTDIR [--smoke] [--only STEP,...] [--train-seconds N] [--budget SECONDS]" >&2; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
OUTDIR=$1; shift
SMOKE=0; ONLY=""; TRAIN_SECONDS=""; BUDGET=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --smoke) SMOKE=1 ;;
        --only) ONLY=${2:?}; shift ;;
        --train-seconds) TRAIN_SECONDS=${2:?}; shift ;;
        --budget) BUDGET=${2:?}; shift ;;
        *) usage ;;
    esac
    shift
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=${PYTHON:-python3}
export ROOT PY
SUMMARY="$ROOT/benchmarks/gpu/summary.py"
mkdir -p "$OUTDIR/logs" || exit 1
OUTDIR=$(cd "$OUTDIR" && pwd)
export PYTHONUNBUFFERED=1
START=$SECONDS

if [[ $SMOKE == 1 ]]; then
    DEV=cpu; BUDGET=${BUDGET:-300}; TRAIN_SECONDS=${TRAIN_SECONDS:-4}   # takes 75-105 s here
    export CUDA_VISIBLE_DEVICES=""   # the smoke run is the CPU path, also on a GPU machine
    export OMP_NUM_THREADS=1         # tiny tensors: one thread, no spin-waiting on a busy CPU
else
    DEV=cuda; BUDGET=${BUDGET:-470}; TRAIN_SECONDS=${TRAIN_SECONDS:-90}
fi
NPROC=$(nproc 2>/dev/null || echo 2)

wanted() { [[ -z $ONLY || ",$ONLY," == *",$1,"* ]]; }

# step NAME LIMIT_S CMD...: run CMD with a time limit (never past the budget), log, record.
step() {
    local name=$1 limit=$2; shift 2
    wanted "$name" || return 0
    local left=$((BUDGET - (SECONDS - START) - 5)) rc t0=$SECONDS
    (( limit > left )) && limit=$left
    if (( limit < 5 )); then
        rc=125
    else
        echo "== $name (limit ${limit}s)" >&2
        if [[ $(type -t "$1") == function ]]; then  # a function runs in a bash of its own
            timeout -k 10 "$limit" bash -c "$(declare -f "$1"); \"\$@\"" _ "$@" >"$OUTDIR/logs/$name.log" 2>&1
        else
            timeout -k 10 "$limit" "$@" >"$OUTDIR/logs/$name.log" 2>&1
        fi
        rc=$?
    fi
    "$PY" "$SUMMARY" record "$OUTDIR" "$name" "$rc" "$((SECONDS - t0))" "$limit" "$@"
    if (( rc != 0 )); then
        echo "   $name: exit $rc; the end of $OUTDIR/logs/$name.log:" >&2
        tail -n 12 "$OUTDIR/logs/$name.log" 2>/dev/null | sed 's/^/   | /' >&2
    fi
    return 0
}

HAS_PLUGINS="import importlib.metadata as m, sys; sys.exit(not m.entry_points(group='flashcli'))"
export HAS_PLUGINS
setup() {
    # Offline: rawpy and exifread from .whl/, then flashcli itself (editable, no deps).
    if ! "$PY" -c "import rawpy, exifread" 2>/dev/null; then
        "$PY" -m pip install -q --no-index --find-links "$ROOT/.whl" rawpy exifread || return 1
    fi
    if ! "$PY" -c "$HAS_PLUGINS"; then
        "$PY" -m pip install -q --no-deps --no-build-isolation --no-index -e "$ROOT" || return 1
    fi
    "$PY" -c "import flashcli, flashcli_lime, rawpy, exifread, torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
}

pytest_args() {  # xdist where it is installed and worth it
    if [[ $SMOKE == 0 ]] && "$PY" -c "import xdist" 2>/dev/null; then echo "-n $((NPROC / 2))"; fi
}

# -- 0. set-up; the rendered pairs of item 5 start now, in the background, on half the cores
step setup 120 setup
if ! "$PY" -c "$HAS_PLUGINS" 2>/dev/null; then  # no editable install: the checkout plus its entry points
    "$PY" "$SUMMARY" dist-info "$OUTDIR/.site" "$ROOT/pyproject.toml"
    export PYTHONPATH="$ROOT:$ROOT/plugins:$OUTDIR/.site${PYTHONPATH:+:$PYTHONPATH}"
    echo "   setup: flashcli from the checkout (PYTHONPATH), entry points in $OUTDIR/.site" >&2
fi
"$PY" "$SUMMARY" env "$OUTDIR" $([[ $SMOKE == 1 ]] && echo --smoke)
DATA="$OUTDIR/synth"
if [[ $SMOKE == 1 ]]; then SYNTH=(--pairs 8 --size 64x48 --test-fraction 0.25 --workers 1)
else SYNTH=(--pairs 2000 --test-fraction 0.1 --workers $((NPROC > 2 ? NPROC / 2 : 1)))
fi
SYNTH_PID=""
if wanted synth; then
    step synth 240 "$PY" -m flashcli synth "$DATA" "${SYNTH[@]}" --seed 1 --overwrite --device cpu -q --json &
    SYNTH_PID=$!
fi

# -- 1. tests: the GPU-marked ones, then the rest with --device (smoke: one file; CI runs all)
if [[ $SMOKE == 1 ]]; then SUITE=(tests/ops/test_linsolve.py); else SUITE=(tests); fi
step pytest_gpu 90 "$PY" -m pytest -q -m gpu --device "$DEV" -p no:cacheprovider \
    --junitxml="$OUTDIR/pytest_gpu.xml" "${SUITE[@]}"
# shellcheck disable=SC2046
step pytest_suite 180 "$PY" -m pytest -q -m "not gpu" --device "$DEV" -p no:cacheprovider $(pytest_args) \
    --junitxml="$OUTDIR/pytest_suite.xml" "${SUITE[@]}"
[[ -n $SYNTH_PID ]] && wait "$SYNTH_PID"

# -- 2. training throughput of the paper's model (width 1, frozen encoder, 224^2 crops)
if [[ $SMOKE == 1 ]]; then
    TT=(--device cpu --width 0.0625 --size 32 --batch 2 --batches 2,4 --compile-modes off --steps 1 --warmup 1 --pairs 4 --threads 1)
else
    TT=(--device cuda --amp bf16 --batches 8,32,128 --compile-modes off,on --steps 20 --warmup 5 --pairs 128 --budget-s 140)
fi
step train_throughput 200 "$PY" benchmarks/train_throughput.py "${TT[@]}" --out "$OUTDIR/train_throughput.json"

# -- 3. relight: device part at 24 MP, whole-file wall time for 12 and 24 MP JPEGs
if [[ $SMOKE == 1 ]]; then RL=(--device cpu --sizes 0.02,0.04 --repeat 1 --folder 0 --opt width=0.0625)
else RL=(--device cuda --sizes 12,24 --repeat 3 --folder 0 --opt width=1)
fi
step relight 90 "$PY" benchmarks/relight.py "${RL[@]}" --out "$OUTDIR/relight.json"

# -- 4. LIME and SRIE at 12 MP, metrics against scikit-image, eval with three networks
if [[ $SMOKE == 1 ]]; then
    BL=(--device cpu --sizes 0.01 --threads 1 --timeout 30)
    MT=(--device cpu --pairs 4 --size 64x48 --batch 4 --repeats 1 --threads 1)
    EV=(--device cpu --pairs 2 --size 64x48 --width 0.0625 --no-loe --threads 1)
else
    BL=(--device cuda --sizes 12 --timeout 40)
    MT=(--device cuda --pairs 116 --repeats 3)
    EV=(--device cuda --pairs 116 --width 1)
fi
step baselines 100 "$PY" benchmarks/baselines.py "${BL[@]}" --methods lime srie --out "$OUTDIR/baselines.json"
step metrics 60 "$PY" benchmarks/metrics.py "${MT[@]}" --out "$OUTDIR/metrics.json"
step eval 60 "$PY" benchmarks/eval.py "${EV[@]}" --methods identity,guided-cgan,deepflash,unet --out "$OUTDIR/eval.json"

# -- 5. a short real training run of the paper's model on the rendered pairs, then its scores
left=$((BUDGET - (SECONDS - START) - 60))
(( TRAIN_SECONDS > left )) && TRAIN_SECONDS=$(( left > 5 ? left : 5 ))
if [[ $SMOKE == 1 ]]; then BATCH=2; TR=(--opt output=image --opt width=0.0625 --crop-size 32 --device cpu)
else BATCH=32; TR=(--opt output=image --opt width=1 --device cuda --amp bf16)
fi
if [[ -n ${VGG_WEIGHTS:-} ]]; then TR+=(--opt vgg_weights="$VGG_WEIGHTS")   # the paper: ImageNet encoder, frozen
else TR+=(--no-pretrained --opt freeze_encoder=false)                 # no ImageNet weights offline
fi
STEPS=$("$PY" "$SUMMARY" train-steps "$OUTDIR" "$TRAIN_SECONDS" "$BATCH" "$([[ $SMOKE == 1 ]] && echo 2 || echo 300)")
step train_short $((TRAIN_SECONDS + 90)) sh -c '"$0" -m flashcli train "$@" > "'"$OUTDIR"'/train_short.json"' \
    "$PY" "$DATA" -o "$OUTDIR/train_run" --steps "${STEPS:-1}" --batch-size "$BATCH" \
    --checkpoint-every 100000 --eval-every 100000 --log-every 10 -q --json "${TR[@]}"
step train_scores 60 "$PY" -m flashcli eval "$DATA" --methods identity,guided-cgan \
    --weights "guided-cgan=$OUTDIR/train_run" --report "$OUTDIR/train_scores" --device "$DEV" -q

# -- summary: OUTDIR/summary.json and a Markdown table; exit 1 when a step did not succeed
"$PY" "$SUMMARY" collect "$OUTDIR"
rc=$?
echo "total $((SECONDS - START)) s; results in $OUTDIR" >&2
exit $rc
