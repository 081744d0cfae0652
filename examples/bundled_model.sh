#!/usr/bin/env bash
# How the bundled guided-cgan weights were made (CPU, 2 cores, about 45 minutes of training).
# The result lives in plugins/flashcli_guided_cgan/weights/; its sidecar repeats these commands.
set -euo pipefail
DATA=${DATA:-data}

# 1. Render 1000 training pairs (900 train / 100 test) and a held-out set with another seed.
flashcli synth "$DATA/synth-train" --pairs 1000 --size 320x240 --seed 1 --test-fraction 0.1
flashcli synth "$DATA/synth-heldout" --pairs 116 --size 320x240 --seed 20261125 --test-fraction 0

# 2. Train the narrow guided cGAN from scratch with the attention-guided reconstruction loss
#    (Table 2, row 3). With lambda = 1 and no pretrained encoder the adversarial term took over
#    and the generator produced only noise after two epochs, so the bundled run is R_M only.
#    The run was stopped with Ctrl-C after epoch 15 and resumed to epoch 21.
flashcli train "$DATA/synth-train" --out "$DATA/runs/bundled" --no-pretrained \
    --opt width=0.25 --opt freeze_encoder=false --opt lr_g=2e-4 --opt adversarial=false \
    --epochs 30 --crop-size 160 --batch-size 8 --seed 0 --eval-every 3 --checkpoint-every 3
flashcli train --resume "$DATA/runs/bundled" --epochs 21

# 3. Ship the best checkpoint (by PSNR on the run's own test split) with its provenance.
python examples/bundle_weights.py "$DATA/runs/bundled" "$DATA/synth-train" \
    --command "flashcli synth $DATA/synth-train --pairs 1000 --size 320x240 --seed 1 --test-fraction 0.1" \
    --command "flashcli train $DATA/synth-train --out $DATA/runs/bundled --no-pretrained --opt width=0.25 --opt freeze_encoder=false --opt lr_g=2e-4 --opt adversarial=false --epochs 30 --crop-size 160 --batch-size 8 --seed 0 --eval-every 3 --checkpoint-every 3" \
    --command "flashcli train --resume $DATA/runs/bundled --epochs 21"

# 4. Score it on the held-out renders against the baselines (docs/results.md).
flashcli eval "$DATA/synth-heldout" --split train --methods identity,lime,srie --report "$DATA/eval-baselines"
flashcli eval "$DATA/synth-heldout" --split train --methods identity,guided-cgan --report "$DATA/eval-cgan"
