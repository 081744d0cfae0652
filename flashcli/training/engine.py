"""The training loop shared by every trainable method.

``train(config)`` decodes the training split once into uint8 tensors on the device, runs the
method's ``TrainingTask.step`` on batches augmented on the device, and keeps the run folder
up to date: ``last``/``best`` weights with sidecars, ``state.pt`` (resumable), ``log.jsonl``,
``epochs.csv`` and ``grids/``. Losses stay on the device and are read every ``log_every``
steps only. Under ``torchrun`` it runs DistributedDataParallel (rank 0 writes the files).
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

from flashcli.datasets import PairSet, fingerprint, load_pairs_uint8
from flashcli.enhancer import resolve_options
from flashcli.errors import FlashcliError, UsageError
from flashcli.methods import create_enhancer
from flashcli.metrics import METRICS, TRAINING_METRICS, quantize
from flashcli.plugins import registry
from flashcli.progress import ProgressFn, report
from flashcli.training import checkpoint as ckpt
from flashcli.training.augment import crop_resize_flip
from flashcli.training.config import TrainConfig
from flashcli.training.data import DeviceData
from flashcli.training.distributed import Dist, setup, unwrapped, wrap_ddp
from flashcli.training.logs import CsvLog, JsonlLog, image_grid, save_png
from flashcli.training.sources import describe, training_sets
from flashcli.training.task import StepContext, TrainingTask, eval_mode

log = logging.getLogger(__name__)
#: The test metric that picks the ``best`` weights.
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
    bad = sorted(k for k in overrides if k not in RESUMABLE_OVERRIDES)
    if bad:
        raise FlashcliError(f"{run}: {', '.join(bad)} cannot change when resuming a run; "
                            f"only {', '.join(RESUMABLE_OVERRIDES)} can (or start a new run)")
    data = {**state["config"], **overrides, "out": str(Path(run).expanduser())}
    if overrides.get("data"):  # the data moved: a folder now, whatever it was before
        data.update(pairs=None, test_pairs=overrides.get("test_pairs"))  # given: refused
    elif overrides.get("pairs"):  # two folders now (their test pairs only if given again)
        data.update(data="", test_pairs=overrides.get("test_pairs"))
    try:
        return TrainConfig.from_dict(data).validate()
    except (TypeError, ValueError) as exc:
        raise FlashcliError(f"{run}: the run's saved config is malformed ({exc}); start a new run") from None


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
    """One training run; ``run()`` does the work. Built by :func:`train`."""

    def __init__(self, config: TrainConfig, resume: bool = False,
                 on_step: Callable[[int, dict[str, Any]], None] | None = None,
                 progress: ProgressFn | None = None) -> None:
        self.config = config.resolve().validate()
        self.on_step = on_step
        self.progress = progress
        self.run_dir = Path(config.out).expanduser()
        self.dist: Dist = setup(config.device)
        self.device = self.dist.device
        self.state = ckpt.load_state(self.run_dir) if resume else None
        if not resume and (self.run_dir / ckpt.STATE).exists():
            raise FlashcliError(f"{self.run_dir}: holds a training run already; continue it with "
                                f"--resume {self.run_dir} or choose another --out")
        self.per_step = config.batch_size * self.dist.world

    # -- set-up ------------------------------------------------------------------------

    def _load_data(self, sets: tuple[PairSet, PairSet | None]) -> None:
        """Decode the training (and test) pairs onto the device."""
        cfg = self.config
        train_set, test_set = sets
        pairs = train_set.pairs + (test_set.pairs if test_set else [])
        decoded = [0]

        def advance(_pair: Any) -> None:
            decoded[0] += 1
            if self.dist.main:
                report(self.progress, "decoding pairs", decoded[0], len(pairs))

        self.data = DeviceData(load_pairs_uint8(train_set.pairs, self.device, on_loaded=advance),
                               self.device)
        self.test = (load_pairs_uint8(test_set.pairs, self.device, on_loaded=advance)
                     if test_set else [])
        self.fingerprint = fingerprint(pairs)
        was = (self.state or {}).get("dataset_fingerprint")
        if was and was != self.fingerprint and self.dist.main:
            log.warning(f"{describe(cfg)}: the dataset changed since this run started "
                         "(files added, removed or modified); continuing on the current files")
        self.n_test = len(test_set.pairs) if test_set else 0
        grid_src = self.test or load_pairs_uint8(train_set.pairs[:cfg.grid_pairs], self.device)
        self.grid = [(g.flash[i], g.ambient[i]) for g in grid_src for i in range(len(g.stems))]
        self.grid = self.grid[:cfg.grid_pairs]

    def _build(self) -> None:
        cfg = self.config
        info = registry().get(cfg.method)
        if not getattr(info.cls, "trainable", False):
            trainable = sorted(n for n, m in registry().methods.items() if getattr(m.cls, "trainable", False))
            raise FlashcliError(f"method {cfg.method} is not trainable; trainable methods: "
                                f"{', '.join(trainable) or '(none installed)'}")
        torch.manual_seed(cfg.seed)
        started = cfg.init is not None and not self.state
        if started:  # fine-tuning: the weights' stored options are the defaults
            self.enhancer = create_enhancer(cfg.method, cfg.options,
                                            None if cfg.init == "bundled" else cfg.init, self.device)
        elif self.state:  # a run folder is data: its stored options are checked before anything is built
            try:
                resolve_options(info.cls, cfg.options)
            except UsageError as exc:
                raise FlashcliError(f"{cfg.out}: the run's saved options are invalid ({exc.message}); "
                                    "start a new run") from None
            self.enhancer = info.cls(**cfg.options)
        else:
            self.enhancer = info.cls(**cfg.options)
        self.config.options = dict(self.enhancer.config)  # resolved, with defaults
        self.enhancer.to(self.device)
        task_cfg = dataclasses.replace(cfg, resuming=True) if self.state or started else cfg
        self.task: TrainingTask = self.enhancer.training_task(task_cfg)
        self.init = self.state.get("init") if self.state else self.task.init
        if started:
            info_w = self.enhancer.weights_info
            self.init = f"weights {info_w['file']} (sha256 {info_w['sha256'][:12]})"
        if self.task.inference not in self.task.modules:
            raise FlashcliError(f"method {cfg.method}: its training task has no module {self.task.inference!r}")
        if cfg.channels_last is None:  # auto: a win with cuDNN, a loss for small CPU convs
            cfg.channels_last = self.device.type == "cuda"
        fmt = torch.channels_last if cfg.channels_last else torch.preserve_format
        for module in self.task.modules.values():
            module.to(self.device, memory_format=fmt)
        self.modules = dict(self.task.modules)  # the plain modules, for checkpoints
        self.amp = _amp_dtype(cfg.amp, self.device)
        self.scaler = (torch.amp.GradScaler(self.device.type)
                       if self.amp == torch.float16 and self.device.type == "cuda" else None)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.epoch, self.step, self.batch_in_epoch, self.best = 0, 0, 0, None
        if self.state:
            self._restore(self.state)
        if cfg.compile:
            for module in self.modules.values():
                module.compile()
        self.wrapped = wrap_ddp(self.task, self.dist)
        self.ctx = StepContext(self.device, self.amp, self.task.optimizers, self.scaler)

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            for name, module in self.modules.items():
                module.load_state_dict(state["modules"][name])
            for name, opt in self.task.optimizers.items():
                opt.load_state_dict(state["optimizers"][name])
        except (RuntimeError, KeyError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FlashcliError(f"{self.run_dir}: the saved state does not fit method {self.config.method} "
                                f"as installed now ({first}); start a new run") from None
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        ckpt.set_rng_state(state["rng"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        self.best = state.get("best", state.get("best_psnr"))  # best_psnr: states before 0.2
        best_side = self.run_dir / f"{ckpt.BEST}.json"
        if best_side.is_file():  # best may have been written after the last state
            with contextlib.suppress(ValueError, KeyError, TypeError, RecursionError, OSError):
                value = json.loads(best_side.read_text())["metrics"][f"test_{BEST_BY.name}"]
                if self.best is None or BEST_BY.better(value, self.best):
                    self.best = value

    # -- checkpoints and evaluation ----------------------------------------------------

    def _meta(self, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"method": self.config.method, "options": self.config.options,
                "train": self.config.to_dict(), "epoch": self.epoch, "step": self.step,
                "dataset": {"root": describe(self.config), "fingerprint": self.fingerprint,
                            "train_pairs": len(self.data), "test_pairs": self.n_test},
                "init": self.init,
                "metrics": metrics or {}, "versions": ckpt.versions()}

    def _inference_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.modules[self.task.inference].state_dict().items()}

    def _diverged(self, what: str) -> FlashcliError:
        kept = self.run_dir / f"{ckpt.LAST}.safetensors"
        keep = (f"the last good checkpoint ({kept}) is kept" if kept.exists()
                else "no checkpoint had been written yet")
        return FlashcliError(f"{self.run_dir}: training diverged at step {self.step} ({what}); "
                             f"{keep}; lower --lr (or the method's learning-rate options) and "
                             "start again")

    def _check_losses(self, losses: dict[str, float]) -> None:
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            raise self._diverged(", ".join(f"loss {k} is {v}" for k, v in bad.items()))

    def save(self, metrics: dict[str, Any] | None = None) -> None:
        """Write the ``last`` weights and the resumable state (rank 0 only); weights holding
        NaN or Inf are never written over the last good ones."""
        if not self.dist.main:
            return
        if not all(bool(torch.isfinite(v).all()) for v in self._inference_state().values()
                   if v.is_floating_point()):
            raise self._diverged("the weights hold NaN or Inf")
        ckpt.save_inference(self.run_dir, ckpt.LAST, self._inference_state(), self._meta(metrics))
        ckpt.save_state(self.run_dir, {
            "format": 1, "config": self.config.to_dict(),
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "scaler": self.scaler.state_dict() if self.scaler else {},
            "rng": ckpt.rng_state(), "epoch": self.epoch, "step": self.step,
            "batch_in_epoch": self.batch_in_epoch, "best": self.best,
            "dataset_fingerprint": self.fingerprint, "init": self.init,
            "extra": self.task.extra_state(), "epoch_sums": self.epoch_sums.snapshot(),
        })

    @torch.no_grad()
    def evaluate(self) -> dict[str, Any]:
        """Test-split PSNR/SSIM (on 8-bit outputs) and the image grid (rank 0 only)."""
        chosen = [METRICS[n] for n in TRAINING_METRICS]

        out: dict[str, Any] = {}
        # fp32 (metrics are taken on 8-bit levels), modules in eval mode
        with unwrapped(self.task, self.wrapped), eval_mode(self.task.modules.values()):
            if self.test:
                scores: dict[str, list[torch.Tensor]] = {m.name: [] for m in chosen}
                for g in self.test:
                    for i in range(0, len(g.stems), self.config.batch_size):
                        flash = g.flash[i:i + self.config.batch_size].float().div_(255)
                        ambient = g.ambient[i:i + self.config.batch_size].float().div_(255)
                        pred = quantize(self.task.predict(flash).float())
                        for m in chosen:
                            scores[m.name].append(m.function(pred, ambient).float())
                out = {f"test_{k}": torch.cat(v).mean().item() for k, v in scores.items()}
            rows = []
            for flash, ambient in self.grid:
                f = flash[None].float().div_(255)
                rows.append([f[0], self.task.predict(f)[0].float(), ambient.float().div(255)])
        if rows:
            save_png(self.run_dir / "grids" / f"epoch_{self.epoch:04d}.png", image_grid(rows))
        return out

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Train until ``epochs`` (or ``steps``) are done; returns the summary."""
        cfg = self.config
        # a wrong dataset, a bad option or missing pretrained weights fail at once, before
        # any download or decoding (a resumed run checks its data once it is not finished)
        sets = training_sets(cfg, warn=self.dist.main) if self.state is None else None
        self._build()
        if self.state is not None and self._done():
            raise self._finished()
        self._load_data(sets or training_sets(cfg, warn=self.dist.main))
        self._open_logs()
        self.total = cfg.steps or cfg.epochs * self.data.steps_per_epoch(self.per_step)
        self.aug = torch.Generator(device=self.device)
        self.window, self.epoch_sums = _Sums(), _Sums()
        self.metrics: dict[str, Any] = {}
        self.last_log: dict[str, Any] = {}
        if self.state is not None and self.batch_in_epoch:
            self.epoch_sums.load(self.state.get("epoch_sums"))
        started = time.perf_counter()
        if self.dist.main:
            log.info(f"training {cfg.method} on {len(self.data)} pairs ({self.n_test} test) "
                     f"on {self.device}{f' x{self.dist.world}' if self.dist.active else ''}; "
                     f"run folder {self.run_dir}")
        self.loop_start = (time.perf_counter(), self.step)
        with _stop_on_signal() as flag:
            self._progress()
            while not self._done() and self._run_epoch(flag):
                self._end_epoch()
        if self.batch_in_epoch:  # ended mid-epoch (--steps)
            if self.dist.main:
                self.metrics = self.evaluate()
                self._keep_best(self.metrics)
            self.save(self.metrics)
        if self.window.n:
            self.last_log = self._log(self.window)
        self.dist.barrier()
        return self._summary(time.perf_counter() - started)

    def _open_logs(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = JsonlLog(self.run_dir / "log.jsonl")
        self.csv_log = CsvLog(self.run_dir / "epochs.csv")
        if self.state and self.dist.main:
            self.jsonl.truncate("step", self.step)
            self.csv_log.truncate("epoch", self.epoch)

    def _done(self) -> bool:
        cfg = self.config
        return self.epoch >= cfg.epochs or (cfg.steps is not None and self.step >= cfg.steps)

    def _run_epoch(self, flag: dict[str, bool]) -> bool:
        """The remaining steps of this epoch; False when ``steps`` stopped it midway."""
        cfg = self.config
        groups, index = self.data.epoch_plan(self.epoch, cfg.seed, self.per_step)
        mine = slice(self.dist.rank * cfg.batch_size, (self.dist.rank + 1) * cfg.batch_size)
        while self.batch_in_epoch < len(groups) and not self._done():
            b = self.batch_in_epoch
            losses = self._step(groups[b], index[b, mine])
            self._after_step(losses, flag)
        return self.batch_in_epoch >= len(groups)

    def _step(self, group: int, rows: torch.Tensor) -> dict[str, torch.Tensor]:
        """One augmented batch through the task's step."""
        cfg = self.config
        self.aug.manual_seed((cfg.seed * 1_000_003 + self.step) * 64 + self.dist.rank)
        pairs = crop_resize_flip(self.data.batch(group, rows), cfg.crop_size, self.aug,
                                 cfg.crop_min, cfg.flip)
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        flash = pairs[:, :3].contiguous(memory_format=fmt)
        ambient = pairs[:, 3:].contiguous(memory_format=fmt)
        losses = self.task.step(flash, ambient, self.ctx)
        if self.scaler is not None:
            self.scaler.update()
        return losses

    def _after_step(self, losses: dict[str, torch.Tensor], flag: dict[str, bool]) -> None:
        """Bookkeeping of one step: sums, counters, logs, callbacks, Ctrl-C."""
        cfg = self.config
        self.window.add(losses)
        self.epoch_sums.add(losses)
        self.step += 1
        self.batch_in_epoch += 1
        if self.step % cfg.log_every == 0:
            self.last_log = self._log(self.window)
        self._progress()
        if self.on_step is not None:
            self.on_step(self.step, losses)
        stop = flag["stop"] if not self.dist.active else (
            self.step % cfg.log_every == 0 and self.dist.any(flag["stop"]))
        if stop:
            self.save(self.metrics)
            raise TrainingInterrupted(
                f"{self.run_dir}: interrupted at epoch {self.epoch + 1}, step {self.step}; "
                f"state saved, continue with `flashcli train --resume {self.run_dir}`")

    def _end_epoch(self) -> None:
        """Epoch bookkeeping: the CSV row, test metrics, best and last checkpoints."""
        cfg = self.config
        self.epoch += 1
        self.batch_in_epoch = 0
        row = self._epoch_row(self.epoch_sums)
        self._check_losses({k: v for k, v in row.items() if k in self.epoch_sums.sums})
        self.epoch_sums = _Sums()
        final = self._done()
        if self.dist.main and (self.epoch % cfg.eval_every == 0 or final):
            self.metrics = self.evaluate()
            self._keep_best(self.metrics)
            row.update(self.metrics)
        if self.dist.main:
            self.csv_log.write(row)
        if self.epoch % cfg.checkpoint_every == 0 or final:
            self.save(self.metrics)
        self.dist.barrier()
        self._progress()

    def _progress(self) -> None:
        if self.dist.main:  # rank 0 reports
            last = self.last_log
            report(self.progress, "training", min(self.step, self.total), self.total,
                   epoch=min(self.epoch + 1, self.config.epochs), losses=last.get("losses", {}),
                   images_per_s=last.get("images_per_s"))

    def _finished(self) -> FlashcliError:
        cfg, run = self.config, self.run_dir
        done = f"step {self.step} of --steps {cfg.steps}" if cfg.steps and self.step >= cfg.steps \
            else f"epoch {self.epoch} of --epochs {cfg.epochs}"
        more = (f"--steps {self.step * 2}" if cfg.steps and self.step >= cfg.steps
                else f"--epochs {max(cfg.epochs, self.epoch) * 2}")
        return FlashcliError(f"{run}: this run is finished ({done}); extend it with "
                             f"`flashcli train --resume {run} {more}`")

    def _mean_speed(self) -> float | None:
        """Images per second over the steps of this invocation (not the last log interval)."""
        t0, step0 = getattr(self, "loop_start", (None, self.step))
        if t0 is None or self.step <= step0:
            return None
        return round((self.step - step0) * self.per_step / max(time.perf_counter() - t0, 1e-9), 3)

    def _summary(self, seconds: float) -> dict[str, Any]:
        cfg, last = self.config, self.last_log
        return {"run": str(self.run_dir), "method": cfg.method, "epochs": self.epoch,
                "steps": self.step, "processes": self.dist.world, "rank": self.dist.rank,
                "seconds": round(seconds, 3), "losses": last.get("losses", {}),
                "images_per_s": self._mean_speed(), f"best_test_{BEST_BY.name}": self.best,
                **self.metrics, "weights": str(self.run_dir / f"{ckpt.LAST}.safetensors")}

    def _keep_best(self, metrics: dict[str, Any]) -> None:
        """Write the ``best`` weights when the first training metric just improved (rank 0)."""
        value = metrics.get(f"test_{BEST_BY.name}")
        if value is not None and (self.best is None or BEST_BY.better(value, self.best)):
            self.best = value
            ckpt.save_inference(self.run_dir, ckpt.BEST, self._inference_state(), self._meta(metrics))

    def _log(self, window: _Sums) -> dict[str, Any]:
        now = time.perf_counter()
        record = {"step": self.step, "epoch": self.epoch + (1 if self.batch_in_epoch else 0),
                  "processes": self.dist.world, "losses": window.means(),
                  "lr": {k: o.param_groups[0]["lr"] for k, o in self.task.optimizers.items()},
                  "images_per_s": window.n * self.per_step / max(now - window.t, 1e-9),
                  "time": time.time()}
        self._check_losses(record["losses"])
        if self.dist.main:
            self.jsonl.write(record)
        window.reset()
        return record

    def _epoch_row(self, sums: _Sums) -> dict[str, Any]:
        seconds = time.perf_counter() - sums.t
        row: dict[str, Any] = {"epoch": self.epoch, "step": self.step, "seconds": round(seconds, 4),
                               "images_per_s": round(sums.n * self.per_step / max(seconds, 1e-9), 2)}
        row.update(sums.means())
        return row


class _Sums:
    """Running sums of the step losses (device tensors, read only when reported)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.n = 0
        self.t = time.perf_counter()

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0) + v.detach().float()
        self.n += 1

    def means(self) -> dict[str, float]:
        return {k: (v / max(self.n, 1)).item() for k, v in self.sums.items()}

    def snapshot(self) -> dict[str, Any]:
        """Plain data for the resumable state, so a resumed epoch's row keeps its losses."""
        return {"sums": {k: float(v) for k, v in self.sums.items()}, "n": self.n,
                "seconds": time.perf_counter() - self.t}

    def load(self, saved: Any) -> None:
        """Continue from a :meth:`snapshot` (ignored when missing or malformed)."""
        try:
            sums = {str(k): torch.tensor(float(v)) for k, v in saved["sums"].items()}
            n, seconds = int(saved["n"]), float(saved["seconds"])
        except (TypeError, KeyError, ValueError, AttributeError):
            return
        self.sums, self.n, self.t = sums, n, time.perf_counter() - seconds


def train(config: TrainConfig, *, resume: bool = False,
          on_step: Callable[[int, dict[str, Any]], None] | None = None,
          progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train ``config.method`` on ``config.data`` (or ``config.pairs``) into the run folder ``config.out``.

    ``resume``: continue the run already in ``config.out`` (see :func:`resume_config`).
    ``on_step(step, losses)`` is called after every step (losses are device tensors);
    ``progress(stage, done, total, **fields)`` reports decoding and training (rank 0).
    Returns a summary (steps, epochs, last losses, test PSNR/SSIM, weights path).
    """
    trainer = Trainer(config, resume=resume, on_step=on_step, progress=progress)
    try:
        return trainer.run()
    finally:
        trainer.dist.close()
