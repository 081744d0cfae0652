"""The training loop shared by every trainable method.

``train(config)`` decodes the training split once into uint8 tensors on the device, runs the
method's ``TrainingTask.step`` on batches augmented on the device, and keeps the run folder
up to date: ``last``/``best`` weights with sidecars, ``state.pt`` (resumable), ``log.jsonl``,
``epochs.csv`` and ``grids/``. Losses stay on the device and are read every ``log_every``
steps only. Under ``torchrun`` it runs DistributedDataParallel (rank 0 writes the files).

``Trainer.__init__`` is the set-up, ``Trainer.run`` the whole loop; what the loop changes is
one ``RunState`` (``state.py``), saved in ``state.pt`` with the modules and optimisers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from flashcli.datasets import PairSet, SizeGroup, fingerprint, load_pairs_uint8
from flashcli.enhancer import resolve_options
from flashcli.errors import FlashcliError, UsageError
from flashcli.methods import create_enhancer
from flashcli.ops.metrics import METRICS, TRAINING_METRICS, quantize
from flashcli.plugins import registry
from flashcli.runtime.progress import ProgressFn, report
from flashcli.training import checkpoint as ckpt
from flashcli.training.augment import crop_resize_flip
from flashcli.training.config import TrainConfig
from flashcli.training.data import DeviceData
from flashcli.training.distributed import Dist, setup, unwrapped, wrap_ddp
from flashcli.training.logs import CsvLog, JsonlLog, image_grid, save_png
from flashcli.training.sources import describe, training_sets, validation_split
from flashcli.training.state import LossSums, RunState
from flashcli.training.task import StepContext, TrainingTask, eval_mode

log = logging.getLogger(__name__)
#: The validation metric that picks the ``best`` weights (never a test one).
BEST_BY = METRICS[TRAINING_METRICS[0]]

#: Settings that may change when a run is resumed (the rest define the run).
RESUMABLE_OVERRIDES = ("data", "pairs", "test_pairs", "epochs", "steps", "device", "amp", "compile", "channels_last",
                       "log_every", "checkpoint_every", "eval_every")


class TrainingInterrupted(FlashcliError):
    """Ctrl-C: the state was saved; exit status 130."""

    exit_code = 130


def resume_config(run: str | Path, **overrides: Any) -> TrainConfig:
    """The config of the run in ``run`` with ``overrides`` (only ``RESUMABLE_OVERRIDES``)."""
    state = ckpt.load_state(run)
    saved = state["config"]
    # A setting given again with the run's own value changes nothing: not a change.
    overrides = {k: v for k, v in overrides.items()
                 if k in RESUMABLE_OVERRIDES or k not in saved or not _same(saved[k], v)}
    bad = sorted(k for k in overrides if k not in RESUMABLE_OVERRIDES)
    if bad:
        flags = ", ".join("--opt" if k == "opts" else "--" + k.replace("_", "-") for k in bad)
        raise UsageError(f"{run}: {flags} cannot change when resuming; drop them, or start a new "
                         "run with --out")
    data = {"val_fraction": 0.0,  # runs from before the validation split: none
            **saved, **overrides, "out": str(Path(run).expanduser())}
    if overrides.get("data"):  # the data moved: a folder now, whatever it was before
        data.update(pairs=None, test_pairs=overrides.get("test_pairs"))  # given: refused
    elif overrides.get("pairs"):  # two folders now (their test pairs only if given again)
        data.update(data="", test_pairs=overrides.get("test_pairs"))
    try:
        return TrainConfig.from_dict(data).validate()
    except (TypeError, ValueError) as exc:
        raise FlashcliError(f"{run}: the run's saved config is malformed ({exc}); start a new run") from None


def _same(saved: Any, given: Any) -> bool:
    """Whether a value given on resuming equals the run's saved one (tuples as lists)."""
    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return plain(saved) == plain(given)


def _amp_dtype(spec: str, device: torch.device) -> torch.dtype | None:
    if spec == "off" or (spec == "auto" and device.type != "cuda"):
        return None
    if spec == "fp16":
        if device.type != "cuda":
            raise UsageError(f"--amp fp16: float16 mixed precision needs a CUDA GPU and this run "
                             f"is on {device.type} (where fp16 autocast is slow or unsupported); "
                             "use --amp off, or bf16")
        return torch.float16
    if spec == "bf16" or (device.type == "cuda" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[dict[str, bool]]:
    """First Ctrl-C (or SIGTERM) asks the loop to stop at the next step boundary; a second
    one raises KeyboardInterrupt at once."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag["stop"]:
            raise KeyboardInterrupt
        flag["stop"] = True

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class Trainer:
    """One training run. ``__init__`` sets everything up (the task, the data on the device,
    the logs, where the run stands); :meth:`run` is the loop. Built by :func:`train`."""

    def __init__(self, config: TrainConfig, dist: Dist, *, resume: bool = False,
                 on_step: Callable[[int, dict[str, Any]], None] | None = None,
                 progress: ProgressFn | None = None) -> None:
        cfg = self.config = config  # resolved and validated
        self.on_step, self.progress = on_step, progress
        self.run_dir = Path(cfg.out).expanduser()
        self.dist, self.device = dist, dist.device
        self.per_step = cfg.batch_size * dist.world  # pairs per step, all processes together
        self.rank_rows = slice(dist.rank * cfg.batch_size, (dist.rank + 1) * cfg.batch_size)  # its share
        saved = ckpt.load_state(self.run_dir) if resume else None
        if not resume and (self.run_dir / ckpt.STATE).exists():
            raise FlashcliError(f"{self.run_dir}: holds a training run already; continue it with "
                                f"--resume {self.run_dir} or choose another --out")
        # a wrong dataset, a bad option or missing pretrained weights fail at once, before
        # any download or decoding (a resumed run checks its data once it is not finished)
        sets = training_sets(cfg, warn=dist.main) if saved is None else None
        self.task, self.init = _build_task(cfg, saved, self.device)
        self.modules = dict(self.task.modules)  # the plain modules (DDP wraps the task's), for checkpoints
        self.amp = _amp_dtype(cfg.amp, self.device)
        self.scaler = (torch.amp.GradScaler(self.device.type)
                       if self.amp == torch.float16 and self.device.type == "cuda" else None)
        _fast_cuda_kernels(self.device)
        if saved is not None:
            self._restore_weights(saved)
        if cfg.compile:
            for module in self.modules.values():
                module.compile()
        self.wrapped = wrap_ddp(self.task, dist)
        self.ctx = StepContext(self.device, self.amp, self.task.optimizers, self.scaler)
        # where the run stands: the one object the loop changes (saved in state.pt)
        self.state = RunState() if saved is None else _resumed_state(saved, self.run_dir)
        if saved is not None and self.state.done(cfg):
            raise self._finished()
        train_set, test_set = sets or training_sets(cfg, warn=dist.main)
        self.fingerprint = _dataset_fingerprint(cfg, train_set, test_set, saved, warn=dist.main)
        train_set, val_set = _hold_out(cfg, train_set, self.state, warn=dist.main)
        self.data, self.val, self.test = _decode(train_set, val_set, test_set, self.device,
                                                 progress if dist.main else None)
        self.n_val, self.n_test = (len(s.pairs) if s else 0 for s in (val_set, test_set))
        self.grid = _grid_pairs(self.test, train_set, cfg.grid_pairs, self.device)
        self.jsonl, self.csv_log = _open_logs(self.run_dir, self.state, truncate=saved is not None and dist.main)
        self.total = cfg.steps or cfg.epochs * self.data.steps_per_epoch(self.per_step)
        self.aug = torch.Generator(device=self.device)  # reseeded every step: (seed, step, rank)

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Train until ``epochs`` (or ``steps``) are done; returns the summary.

        Everything the loop changes is in ``self.state`` (a :class:`RunState`, fresh or
        resumed from ``state.pt``). Under DDP every process runs this loop on its share of
        each batch; rank 0 alone tests and writes files, the others wait at the barriers.
        """
        cfg, st, dist = self.config, self.state, self.dist
        self._announce()
        st.start_clocks()
        started, first_step = time.perf_counter(), st.step
        with _stop_on_signal() as signalled:
            self._report_progress()
            while not st.done(cfg):
                # the epoch's batches follow from (seed, epoch): a resumed run skips those done
                groups, index = self.data.epoch_plan(st.epoch, cfg.seed, self.per_step)
                while st.batch_in_epoch < len(groups) and not st.done(cfg):
                    b = st.batch_in_epoch
                    losses = self._train_step(groups[b], index[b, self.rank_rows])  # DDP syncs grads
                    st.count_step(losses)
                    if st.step % cfg.log_every == 0:  # log.jsonl; NaN/Inf losses: diverged
                        st.last_log, st.window = self._log(st.window), LossSums()
                    self._report_progress()
                    if self.on_step is not None:
                        self.on_step(st.step, losses)
                    if self._stop_requested(signalled):  # Ctrl-C or SIGTERM (all ranks agree)
                        self.save()  # a resumable checkpoint, then exit status 130
                        raise self._interrupted()
                if st.batch_in_epoch < len(groups):
                    break  # --steps reached mid-epoch
                # the epoch is done: its CSV row, test metrics and best weights, a checkpoint
                st.epoch, st.batch_in_epoch = st.epoch + 1, 0
                row = self._epoch_row(st.epoch_sums)  # NaN/Inf losses: diverged
                st.epoch_sums = LossSums()
                final = st.done(cfg)
                if dist.main and (st.epoch % cfg.eval_every == 0 or final):  # rank 0 tests
                    st.metrics = self.evaluate()
                    self._keep_best(st.metrics)
                    row.update(st.metrics)
                if dist.main:
                    self.csv_log.write(row)
                if st.epoch % cfg.checkpoint_every == 0 or final:
                    self.save()
                dist.barrier()
                self._report_progress()
        if st.batch_in_epoch:  # --steps ended it mid-epoch: test and save where it stopped
            if dist.main:
                st.metrics = self.evaluate()
                self._keep_best(st.metrics)
            self.save()
        if st.window.n:  # the steps since the last log.jsonl record
            st.last_log = self._log(st.window)
        dist.barrier()
        return self._summary(time.perf_counter() - started, first_step)

    # -- one step ----------------------------------------------------------------------

    def _train_step(self, group: int, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """One augmented batch through the task's step (this process's rows of the batch)."""
        cfg = self.config
        self.aug.manual_seed((cfg.seed * 1_000_003 + self.state.step) * 64 + self.dist.rank)
        pairs = crop_resize_flip(self.data.batch(group, rows), cfg.crop_size, self.aug,
                                 cfg.crop_min, cfg.flip)
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        flash = pairs[:, :3].contiguous(memory_format=fmt)
        ambient = pairs[:, 3:].contiguous(memory_format=fmt)
        losses = self.task.step(flash, ambient, self.ctx)
        if self.scaler is not None:
            self.scaler.update()
        return losses

    def _stop_requested(self, signalled: dict[str, bool]) -> bool:
        """A signal arrived; under DDP every process must agree, so they ask each other
        (a collective) at log steps only."""
        if not self.dist.active:
            return signalled["stop"]
        return self.state.step % self.config.log_every == 0 and self.dist.any(signalled["stop"])

    # -- evaluation --------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self) -> dict[str, Any]:
        """Validation and test PSNR/SSIM (on 8-bit outputs; ``val_*`` choose the best
        weights, ``test_*`` are reported only) and the image grid (rank 0 only)."""
        out: dict[str, Any] = {}
        # fp32 (metrics are taken on 8-bit levels), modules in eval mode
        with unwrapped(self.task, self.wrapped), eval_mode(self.task.modules.values()):
            for prefix, groups in (("val", self.val), ("test", self.test)):
                out.update(self._scores(prefix, groups))
            rows = []
            for flash, ambient in self.grid:
                f = flash[None].float().div_(255)
                rows.append([f[0], self.task.predict(f)[0].float(), ambient.float().div(255)])
        if rows:
            save_png(self.run_dir / "grids" / f"epoch_{self.state.epoch:04d}.png", image_grid(rows))
        return out

    def _scores(self, prefix: str, groups: list[SizeGroup]) -> dict[str, float]:
        """Mean ``TRAINING_METRICS`` of the current weights on ``groups`` (none: {})."""
        if not groups:
            return {}
        chosen, bs = [METRICS[n] for n in TRAINING_METRICS], self.config.batch_size
        scores: dict[str, list[torch.Tensor]] = {m.name: [] for m in chosen}
        for g in groups:
            for i in range(0, len(g.stems), bs):
                flash = g.flash[i:i + bs].float().div_(255)
                ambient = g.ambient[i:i + bs].float().div_(255)
                pred = quantize(self.task.predict(flash).float())
                for m in chosen:
                    scores[m.name].append(m.function(pred, ambient).float())
        return {f"{prefix}_{k}": torch.cat(v).mean().item() for k, v in scores.items()}

    def _keep_best(self, metrics: dict[str, Any]) -> None:
        """Write the ``best`` weights when the first training metric on the validation
        pairs just improved (rank 0); the test pairs never choose."""
        value = metrics.get(f"val_{BEST_BY.name}")
        if value is not None and (self.state.best is None or BEST_BY.better(value, self.state.best)):
            self.state.best = value
            ckpt.save_inference(self.run_dir, ckpt.BEST, self._inference_state(), self._meta(metrics))

    # -- checkpoints -------------------------------------------------------------------

    def save(self) -> None:
        """Write the ``last`` weights and the resumable state (rank 0 only); weights holding
        NaN or Inf are never written over the last good ones."""
        if not self.dist.main:
            return
        if not all(bool(torch.isfinite(v).all()) for v in self._inference_state().values()
                   if v.is_floating_point()):
            raise self._diverged("the weights hold NaN or Inf")
        ckpt.save_inference(self.run_dir, ckpt.LAST, self._inference_state(), self._meta(self.state.metrics))
        ckpt.save_state(self.run_dir, {
            "format": 1, "config": self.config.to_dict(),
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "scaler": self.scaler.state_dict() if self.scaler else {},
            "rng": ckpt.rng_state(), **self.state.to_saved(),
            "dataset_fingerprint": self.fingerprint, "init": self.init,
            "extra": self.task.extra_state(),
        })

    def _meta(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"method": self.config.method, "options": self.config.options,
                "train": self.config.to_dict(), "epoch": self.state.epoch, "step": self.state.step,
                "dataset": {"root": describe(self.config), "fingerprint": self.fingerprint,
                            "train_pairs": len(self.data), "val_pairs": self.n_val,
                            "test_pairs": self.n_test},
                "init": self.init,
                "metrics": metrics or {}, "versions": ckpt.versions()}

    def _inference_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.modules[self.task.inference].state_dict().items()}

    # -- logs, progress and the summary ------------------------------------------------

    def _log(self, window: LossSums) -> dict[str, Any]:
        """A log.jsonl record of the steps in ``window`` (after checking their losses)."""
        st = self.state
        record = {"step": st.step, "epoch": st.epoch + (1 if st.batch_in_epoch else 0),
                  "processes": self.dist.world, "losses": window.means(),
                  "lr": {k: o.param_groups[0]["lr"] for k, o in self.task.optimizers.items()},
                  "images_per_s": window.n * self.per_step / max(window.seconds(), 1e-9),
                  "time": time.time()}
        self._check_losses(record["losses"])
        if self.dist.main:
            self.jsonl.write(record)
        return record

    def _epoch_row(self, sums: LossSums) -> dict[str, Any]:
        """The epochs.csv row of the epoch just done (after checking its losses)."""
        seconds = sums.seconds()
        row: dict[str, Any] = {"epoch": self.state.epoch, "step": self.state.step,
                               "seconds": round(seconds, 4),
                               "images_per_s": round(sums.n * self.per_step / max(seconds, 1e-9), 2)}
        row.update(sums.means())
        self._check_losses({k: v for k, v in row.items() if k in sums.sums})
        return row

    def _check_losses(self, losses: dict[str, float]) -> None:
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise self._diverged(", ".join(f"loss {k} is {v}" for k, v in bad.items()))

    def _announce(self) -> None:
        if self.dist.main:
            log.info(f"training {self.config.method} on {len(self.data)} pairs ({self.n_val} validation, "
                     f"{self.n_test} test) "
                     f"on {self.device}{f' x{self.dist.world}' if self.dist.active else ''}; "
                     f"run folder {self.run_dir}")

    def _report_progress(self) -> None:
        if self.dist.main:  # rank 0 reports
            st, last = self.state, self.state.last_log
            report(self.progress, "training", min(st.step, self.total), self.total,
                   epoch=min(st.epoch + 1, self.config.epochs), losses=last.get("losses", {}),
                   images_per_s=last.get("images_per_s"))

    def _summary(self, seconds: float, first_step: int) -> dict[str, Any]:
        """What :func:`train` returns; ``images_per_s`` is the mean over this invocation's
        steps (from ``first_step``), not the last log interval."""
        cfg, st = self.config, self.state
        speed = (round((st.step - first_step) * self.per_step / max(seconds, 1e-9), 3)
                 if st.step > first_step else None)
        return {"run": str(self.run_dir), "method": cfg.method, "epochs": st.epoch,
                "steps": st.step, "processes": self.dist.world, "rank": self.dist.rank,
                "seconds": round(seconds, 3), "losses": st.last_log.get("losses", {}),
                "images_per_s": speed, "val_pairs": self.n_val, "test_pairs": self.n_test,
                f"best_val_{BEST_BY.name}": st.best,
                **st.metrics, "weights": str(self.run_dir / f"{ckpt.LAST}.safetensors")}

    # -- the ways a run ends early -----------------------------------------------------

    def _interrupted(self) -> TrainingInterrupted:
        return TrainingInterrupted(
            f"{self.run_dir}: interrupted at epoch {self.state.epoch + 1}, step {self.state.step}; "
            f"state saved, continue with `flashcli train --resume {self.run_dir}`")

    def _diverged(self, what: str) -> FlashcliError:
        kept = self.run_dir / f"{ckpt.LAST}.safetensors"
        keep = (f"the last good checkpoint ({kept}) is kept" if kept.exists()
                else "no checkpoint had been written yet")
        return FlashcliError(f"{self.run_dir}: training diverged at step {self.state.step} ({what}); "
                             f"{keep}; lower --lr (or the method's learning-rate options) and "
                             "start again")

    def _finished(self) -> FlashcliError:
        cfg, run, st = self.config, self.run_dir, self.state
        by_steps = bool(cfg.steps) and st.step >= cfg.steps
        done = f"step {st.step} of --steps {cfg.steps}" if by_steps else f"epoch {st.epoch} of --epochs {cfg.epochs}"
        more = f"--steps {st.step * 2}" if by_steps else f"--epochs {max(cfg.epochs, st.epoch) * 2}"
        return FlashcliError(f"{run}: this run is finished ({done}); extend it with "
                             f"`flashcli train --resume {run} {more}`")

    def _restore_weights(self, saved: dict[str, Any]) -> None:
        """The saved modules, optimisers, scaler and random state, into this run's."""
        try:
            for name, module in self.modules.items():
                module.load_state_dict(saved["modules"][name])
            for name, opt in self.task.optimizers.items():
                opt.load_state_dict(saved["optimizers"][name])
        except (RuntimeError, KeyError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FlashcliError(f"{self.run_dir}: the saved state does not fit method {self.config.method} "
                                f"as installed now ({first}); start a new run") from None
        if self.scaler is not None and saved.get("scaler"):
            self.scaler.load_state_dict(saved["scaler"])
        ckpt.set_rng_state(saved["rng"])


# -- set-up: what Trainer.__init__ stores ---------------------------------------------------

def _build_task(cfg: TrainConfig, saved: dict[str, Any] | None,
                device: torch.device) -> tuple[TrainingTask, str | None]:
    """The method's training task, its modules on ``device``, and where its starting
    weights came from. Completes ``cfg``: the method's options with their defaults, and
    ``channels_last`` when automatic."""
    info = registry().get(cfg.method)
    if not getattr(info.cls, "trainable", False):
        trainable = sorted(n for n, m in registry().methods.items() if getattr(m.cls, "trainable", False))
        raise FlashcliError(f"method {cfg.method} is not trainable; trainable methods: "
                            f"{', '.join(trainable) or '(none installed)'}")
    torch.manual_seed(cfg.seed)
    fine_tune = cfg.init is not None and not saved
    if fine_tune:  # the weights' stored options are the defaults
        enhancer = create_enhancer(cfg.method, cfg.options,
                                   None if cfg.init == "bundled" else cfg.init, device)
    else:
        if saved:  # a run folder is data: its stored options are checked before anything is built
            try:
                resolve_options(info.cls, cfg.options)
            except UsageError as exc:
                raise FlashcliError(f"{cfg.out}: the run's saved options are invalid ({exc.message}); "
                                    "start a new run") from None
        enhancer = info.cls(**cfg.options)
    cfg.options = dict(enhancer.config)  # resolved, with defaults
    enhancer.to(device)
    task_cfg = dataclasses.replace(cfg, resuming=True) if saved or fine_tune else cfg
    task: TrainingTask = enhancer.training_task(task_cfg)
    init = saved.get("init") if saved else task.init
    if fine_tune:
        init = f"weights {enhancer.weights_info['file']} (sha256 {enhancer.weights_info['sha256'][:12]})"
    if task.inference not in task.modules:
        raise FlashcliError(f"method {cfg.method}: its training task has no module {task.inference!r}")
    if cfg.channels_last is None:  # auto: a win with cuDNN, a loss for small CPU convs
        cfg.channels_last = device.type == "cuda"
    fmt = torch.channels_last if cfg.channels_last else torch.preserve_format
    for module in task.modules.values():
        module.to(device, memory_format=fmt)
    return task, init


def _fast_cuda_kernels(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def _resumed_state(saved: dict[str, Any], run: Path) -> RunState:
    """Where the saved run stopped; its best score is that of ``best.json`` when better
    (the best weights may have been written after the last state)."""
    state = RunState.from_saved(saved)
    if state.val_stems is None:  # a run from before the validation split: its best was a test score
        state.best = None
        return state
    best_side = run / f"{ckpt.BEST}.json"
    if best_side.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError, RecursionError, OSError):
            value = json.loads(best_side.read_text())["metrics"][f"val_{BEST_BY.name}"]
            if state.best is None or BEST_BY.better(value, state.best):
                state.best = value
    return state


def _decode(train_set: PairSet, val_set: PairSet | None, test_set: PairSet | None, device: torch.device,
            progress: ProgressFn | None) -> tuple[DeviceData, list[SizeGroup], list[SizeGroup]]:
    """The training, validation and test pairs (None: none), decoded onto ``device``; the
    training and validation pairs together, so that one error lists the problems of both."""
    val = val_set.pairs if val_set else []
    total, decoded = len(train_set.pairs) + len(val) + (len(test_set.pairs) if test_set else 0), [0]

    def advance(_pair: Any) -> None:
        decoded[0] += 1
        report(progress, "decoding pairs", decoded[0], total)

    both = load_pairs_uint8(train_set.pairs + val, device, on_loaded=advance)
    held = {p.stem for p in val}
    train_groups, val_groups = ([_subset(g, held, keep) for g in both] for keep in (False, True))
    test = load_pairs_uint8(test_set.pairs, device, on_loaded=advance) if test_set else []
    return DeviceData([g for g in train_groups if g.stems], device), [g for g in val_groups if g.stems], test


def _subset(group: SizeGroup, stems: set[str], inside: bool) -> SizeGroup:
    """The pairs of ``group`` whose stems are (``inside``) or are not in ``stems``."""
    rows = [i for i, s in enumerate(group.stems) if (s in stems) == inside]
    index = torch.tensor(rows, dtype=torch.long, device=group.flash.device)
    return SizeGroup(group.flash.index_select(0, index), group.ambient.index_select(0, index),
                     [group.stems[i] for i in rows])


def _hold_out(cfg: TrainConfig, train_set: PairSet, state: RunState,
              warn: bool) -> tuple[PairSet, PairSet | None]:
    """The training pairs less the validation pairs, and those; ``state.val_stems`` records
    them (a resumed run keeps the ones it started with)."""
    train_set, val_set = validation_split(train_set, cfg.val_fraction, cfg.seed, state.val_stems)
    state.val_stems = sorted({p.stem for p in val_set.pairs}) if val_set else []
    if not train_set.pairs:
        raise FlashcliError(f"{describe(cfg)}: no training pairs left after holding out the "
                            "validation pairs; lower --val-fraction")
    if val_set is None and warn:
        log.warning(f"{describe(cfg)}: no validation pairs (--val-fraction {cfg.val_fraction:g}); "
                    "no best weights are chosen, only last.safetensors is written")
    return train_set, val_set


def _dataset_fingerprint(cfg: TrainConfig, train_set: PairSet, test_set: PairSet | None,
                         saved: dict[str, Any] | None, warn: bool) -> str:
    """The dataset's fingerprint (a warning when it changed since the run started)."""
    now = fingerprint(train_set.pairs + (test_set.pairs if test_set else []))
    was = (saved or {}).get("dataset_fingerprint")
    if was and was != now and warn:
        log.warning(f"{describe(cfg)}: the dataset changed since this run started "
                    "(files added, removed or modified); continuing on the current files")
    return now


def _grid_pairs(test: list[SizeGroup], train_set: PairSet, n: int,
                device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (flash, ambient) pairs of the image grids: test pairs, else the first training ones."""
    source = test or load_pairs_uint8(train_set.pairs[:n], device)
    return [(g.flash[i], g.ambient[i]) for g in source for i in range(len(g.stems))][:n]


def _open_logs(run: Path, state: RunState, truncate: bool) -> tuple[JsonlLog, CsvLog]:
    """log.jsonl and epochs.csv; ``truncate`` (a resumed run, rank 0) drops what was
    written after the state it resumes from."""
    run.mkdir(parents=True, exist_ok=True)
    jsonl, csv_log = JsonlLog(run / "log.jsonl"), CsvLog(run / "epochs.csv")
    if truncate:
        jsonl.truncate("step", state.step)
        csv_log.truncate("epoch", state.epoch)
    return jsonl, csv_log


def train(config: TrainConfig, *, resume: bool = False,
          on_step: Callable[[int, dict[str, Any]], None] | None = None,
          progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train ``config.method`` on ``config.data`` (or ``config.pairs``) into the run folder ``config.out``.

    ``resume``: continue the run already in ``config.out`` (see :func:`resume_config`).
    ``on_step(step, losses)`` is called after every step (losses are device tensors);
    ``progress(stage, done, total, **fields)`` reports decoding and training (rank 0).
    Returns a summary (steps, epochs, last losses, test PSNR/SSIM, weights path).
    """
    config = config.resolve().validate()
    dist = setup(config.device)  # under torchrun: this process's rank, the process group joined
    try:
        return Trainer(config, dist, resume=resume, on_step=on_step, progress=progress).run()
    finally:
        dist.close()
