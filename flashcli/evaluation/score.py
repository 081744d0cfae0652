"""Scoring (the step relight calls run): decode the pairs a chunk at a time, run every
method once per image in batches of same-size images, apply the look, quantise the outputs to
8 bit as the authors did and score them with the chosen metrics of
:data:`flashcli.ops.metrics.METRICS`; then each method's mean and spread (:func:`summaries`) and
its comparison with the baseline (:func:`compare`).

A failure on one image (unreadable file, a method error, out of memory) is recorded and
counted; the other images go on. Problems are logged (:mod:`logging`) and progress goes to a
callback; nothing is printed.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

from flashcli.datasets import Pair, load_pair_uint8
from flashcli.enhancer import Enhancer, full_resolution_tiles, resolve_working_size
from flashcli.evaluation.plan import EvalConfig
from flashcli.evaluation.report import (
    AMBIENT,
    FLASH,
    Comparison,
    Failure,
    ImageScore,
    MethodSummary,
)
from flashcli.io.decodefail import is_out_of_memory, one_line, out_of_memory
from flashcli.io.fsutil import safe_name
from flashcli.io.imageio import write_image
from flashcli.ops import metrics, tiling, upsample
from flashcli.ops.look import apply_look
from flashcli.runtime.progress import ProgressFn
from flashcli.runtime.progress import report as report_progress

log = logging.getLogger(__name__)


def _memory_message(pair: Pair, flash: torch.Tensor, batch: int) -> str:
    """A pair too large for the memory there is: its file, its size, the fixes."""
    h, w = flash.shape[-2:]
    fix = ("run it with more memory (close other programs, or raise the limit: ulimit -v)"
           + (", or with --batch-size 1" if batch > 1 else "") + ", or evaluate smaller copies")
    return out_of_memory(pair.flash, int(w), int(h), fix)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _thumb(images: torch.Tensor, side: int) -> torch.Tensor:
    """uint8 previews (N x 3 x h x w) whose long side is at most ``side``."""
    h, w = images.shape[-2:]
    scale = min(1.0, side / max(h, w))
    x = images.float()
    if scale < 1.0:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return x.clamp(0, 1).mul(255).round().to(torch.uint8).cpu()


def load_pair(pair: Pair) -> tuple[Pair, torch.Tensor | None, torch.Tensor | None, str | None]:
    try:
        flash, ambient = load_pair_uint8(pair)
        return pair, flash, ambient, None
    except Exception as exc:  # noqa: BLE001 - any decode error is one failed pair
        return pair, None, None, one_line(exc, typed=False)


def summaries(methods: Sequence[str], chosen: Sequence[metrics.Metric], scores: list[ImageScore],
              failures: list[Failure], seconds: Mapping[str, float]) -> dict[str, MethodSummary]:
    """Mean and sample standard deviation of each method's scores, its seconds per image and
    its failures (the dataset's are not the method's)."""
    out = {}
    for m in methods:
        mine = [s for s in scores if s.method == m]
        n = len(mine)
        mean, std = {}, {}
        for metric in chosen:
            values = torch.tensor([s.values[metric.name] for s in mine], dtype=torch.float64)
            mean[metric.name] = float(values.mean()) if n else math.nan
            std[metric.name] = float(values.std(correction=1)) if n > 1 else 0.0 if n else math.nan
        out[m] = MethodSummary(
            method=m, images=n, mean=mean, std=std,
            seconds_per_image=seconds.get(m, 0.0) / n if n else math.nan,
            failures=sum(1 for f in failures if f.method == m),  # the dataset's are not the method's
        )
    return out


def compare(scores: list[ImageScore], method: str, baseline: str,
            chosen: Sequence[metrics.Metric] | None = None) -> Comparison:
    """Mean difference of each metric of ``method`` over ``baseline`` (over the finite
    differences) and its wins, on the images both scored."""
    base = {s.stem: s for s in scores if s.method == baseline}
    mine = [(s, base[s.stem]) for s in scores if s.method == method and s.stem in base]
    diff, wins = {}, {}
    for metric in chosen if chosen is not None else metrics.select():
        d = [a.values[metric.name] - b.values[metric.name] for a, b in mine]
        d = [x for x in d if math.isfinite(x)]
        diff[metric.name] = sum(d) / len(d) if d else math.nan
        wins[metric.name] = sum(1 for a, b in mine
                                if metric.better(a.values[metric.name], b.values[metric.name]))
    return Comparison(method=method, baseline=baseline, images=len(mine), diff=diff, wins=wins)


class Scoring:
    """Runs every method on batches of same-size pairs and collects scores, failures,
    timings, thumbnails and saved outputs."""

    def __init__(self, enhancers: dict[str, Enhancer], device: torch.device, cfg: EvalConfig,
                 chosen: list[metrics.Metric], pairs: list[Pair], failures: list[Failure],
                 progress: ProgressFn | None) -> None:
        self.enhancers, self.device, self.cfg, self.chosen = enhancers, device, cfg, chosen
        self.pairs, self.failures, self.progress = pairs, failures, progress
        self.scores: list[ImageScore] = []
        self.seconds: dict[str, float] = defaultdict(float)
        self.thumbs: dict[str, dict[str, torch.Tensor]] = {}
        side = cfg.thumbnail_side
        self.thumb_stems = {p.stem for p in pairs[:cfg.thumbnail_pairs]} if side else set()
        self.save_dir = Path(cfg.save_images_dir) if cfg.save_images_dir is not None else None
        self.total = len(pairs) * len(enhancers)
        self.done = 0

    def advance(self, n: int) -> None:
        self.done += n
        report_progress(self.progress, "evaluating", self.done, self.total)

    def run(self) -> None:
        cfg = self.cfg
        chunk = max(cfg.batch_size * 4, cfg.workers)
        report_progress(self.progress, "evaluating", 0, self.total)
        with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
            for start in range(0, len(self.pairs), chunk):
                loaded = list(pool.map(load_pair, self.pairs[start:start + chunk]))
                by_size: dict[tuple[int, ...], list[tuple[Pair, torch.Tensor, torch.Tensor]]] = (
                    defaultdict(list))
                for pair, flash, ambient, error in loaded:
                    if error is not None:
                        log.warning(f"skipped: {error}")
                        self.failures.append(Failure(pair.stem, None, error))
                        self.advance(len(self.enhancers))
                    else:
                        by_size[tuple(flash.shape)].append((pair, flash, ambient))
                for items in by_size.values():
                    for b in range(0, len(items), cfg.batch_size):
                        self.batch(items[b:b + cfg.batch_size])

    def batch(self, batch: list[tuple[Pair, torch.Tensor, torch.Tensor]]) -> None:
        """Run every method on one batch of same-size pairs and score the outputs."""
        dev, side = self.device, self.cfg.thumbnail_side
        stems = [p.stem for p, _, _ in batch]
        try:
            flash = torch.stack([f for _, f, _ in batch]).to(dev).float().div_(255.0)
            ambient = torch.stack([a for _, _, a in batch]).to(dev).float().div_(255.0)
        except (MemoryError, RuntimeError) as exc:
            if not is_out_of_memory(exc):
                raise
            for pair, f, _ in batch:
                message = _memory_message(pair, f, len(batch))
                log.warning(f"skipped: {message}")
                self.failures.append(Failure(pair.stem, None, message))
            self.advance(len(batch) * len(self.enhancers))
            return
        keep = [i for i, s in enumerate(stems) if s in self.thumb_stems]
        if keep:
            for i, f_t, a_t in zip(keep, _thumb(flash[keep], side), _thumb(ambient[keep], side),
                                   strict=True):
                self.thumbs.setdefault(stems[i], {})[FLASH] = f_t
                self.thumbs[stems[i]][AMBIENT] = a_t
        for name, enhancer in self.enhancers.items():
            try:
                out, values, elapsed = self.score(enhancer, flash, ambient)
            except Exception as exc:  # noqa: BLE001 - one failed batch must not stop the run
                self.failures.extend(
                    Failure(p.stem, name, f"{name} on {p.stem}: " + (
                        _memory_message(p, f, len(batch)) if is_out_of_memory(exc) else one_line(exc, typed=False)))
                    for p, f, _ in batch)
                self.advance(len(stems))
                continue
            self.seconds[name] += elapsed
            for i, (pair, _, _) in enumerate(batch):
                self.scores.append(ImageScore(pair.stem, name, {k: v[i] for k, v in values.items()},
                                              elapsed / len(stems), pair.category))
            if keep:
                for i, t in zip(keep, _thumb(out[keep], side), strict=True):
                    self.thumbs[stems[i]][name] = t
            if self.save_dir is not None:
                save_outputs(self.save_dir, name, batch, out, self.failures)
            self.advance(len(stems))

    def score(self, enhancer: Enhancer, flash: torch.Tensor, ambient: torch.Tensor
              ) -> tuple[torch.Tensor, dict[str, list[float]], float]:
        """The (quantised) output, each metric per image, and the method's seconds."""
        _sync(self.device)
        t0 = time.perf_counter()
        out = self.relit(enhancer, flash)
        _sync(self.device)
        elapsed = time.perf_counter() - t0
        out = out.to(self.device)
        if self.cfg.quantize:
            out = metrics.quantize(out)
        values = {m.name: m.function(out, ambient).tolist() for m in self.chosen}
        return out, values, elapsed

    def relit(self, enhancer: Enhancer, flash: torch.Tensor) -> torch.Tensor:
        """The method's output for ``flash`` with the look applied, as relight makes it: at
        a working size, run on ``flash`` downscaled to that size and its gain carried to full
        resolution; at ``"full"``, in relight's blended tiles (whole for a ``whole_frame``
        method); on the whole photo when it is no larger than the working size. The
        reference row is the photo as it is."""
        if getattr(enhancer, "reference", False):
            return enhancer(flash)
        size = working_size_of(enhancer, self.cfg)

        def method(x: torch.Tensor) -> torch.Tensor:
            return apply_look(x, enhancer(x), self.cfg.look)[0]

        h, w = flash.shape[-2:]
        if size == "full":
            tile, overlap = full_resolution_tiles(enhancer)
            if tile is None or max(h, w) <= tile:
                return method(flash)
            out = tiling.run_tiled(enhancer, flash, tile, overlap, batch=self.cfg.batch_size)
            return apply_look(flash, out.clamp(0.0, 1.0), self.cfg.look)[0]
        if max(h, w) <= size:
            return method(flash)
        lo = upsample.downscale(flash, upsample.working_shape(h, w, size))
        return upsample.gain_upsample(lo, method(lo).clamp(0.0, 1.0), flash)


def working_size_of(enhancer: Enhancer, cfg: EvalConfig) -> int | str:
    """The long side eval runs ``enhancer`` at (``"full"``: the whole photo; always so for
    the reference row, which is scored as it is)."""
    if getattr(enhancer, "reference", False):
        return "full"
    return resolve_working_size(cfg.working_size, enhancer)


def save_outputs(save_dir: Path, name: str, batch, out: torch.Tensor, failures: list[Failure]) -> None:
    """Write each output of ``batch`` as ``save_dir/<method>/<stem>.png``; a file that cannot
    be written is a failure of that image."""

    for (pair, _, _), image in zip(batch, out.cpu(), strict=True):
        target = save_dir / safe_name(name) / f"{pair.stem}.png"
        try:
            write_image(target, image, None, format="png", protect=(pair.flash, pair.ambient))
        except Exception as exc:  # noqa: BLE001 - report, keep going
            failures.append(Failure(pair.stem, name, f"{target}: could not save ({one_line(exc, typed=False)})"))
