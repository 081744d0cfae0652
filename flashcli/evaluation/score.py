"""Score enhancement methods against ambient ground truth: the Python side of ``flashcli eval``.

``evaluate`` builds every method once (so missing weights fail before any work), decodes the
pairs a chunk at a time, runs each method once per image in batches of same-size images,
quantises the outputs to 8 bit as the authors did and scores them with the metrics of
:data:`flashcli.metrics.METRICS` that were asked for. A failure on one image (unreadable
file, a method error) is recorded and counted; the other images go on. Problems are logged
(:mod:`logging`) and progress goes to a callback; nothing is printed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from flashcli import __version__, metrics, selection
from flashcli.datasets import (
    Pair,
    PairSet,
    check_pairs,
    filter_category,
    find_pairs,
    load_pair_uint8,
)
from flashcli.decodefail import is_out_of_memory, out_of_memory
from flashcli.device import resolve_device
from flashcli.enhancer import Enhancer, validate_options
from flashcli.errors import FlashcliError, UsageError, WeightsError
from flashcli.fsutil import safe_name
from flashcli.look import Look, apply_look
from flashcli.methods import create_enhancer
from flashcli.plugins import registry
from flashcli.progress import ProgressFn, report

log = logging.getLogger(__name__)

#: Columns of a contact sheet besides the methods.
FLASH, AMBIENT = "flash", "ambient"


@dataclass
class ImageScore:
    """One method's scores on one image, by metric name (``values["psnr"]``)."""

    stem: str
    method: str
    values: dict[str, float]
    seconds: float
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stem": self.stem, "method": self.method, **self.values,
                "seconds": self.seconds, "category": self.category}


@dataclass
class MethodSummary:
    """Mean and (sample) standard deviation of one method's scores over its images."""

    method: str
    images: int
    mean: dict[str, float]
    std: dict[str, float]
    seconds_per_image: float
    failures: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "images": self.images}
        for name in self.mean:
            out[f"{name}_mean"], out[f"{name}_std"] = self.mean[name], self.std[name]
        return {**out, "seconds_per_image": self.seconds_per_image, "failures": self.failures}


@dataclass
class Comparison:
    """A method against the baseline on the images both scored: the mean difference of
    each metric (``diff``) and on how many images it did better (``wins``)."""

    method: str
    baseline: str
    images: int
    diff: dict[str, float]
    wins: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "baseline": self.baseline,
                               "images": self.images}
        out.update({f"{k}_diff": v for k, v in self.diff.items()})
        out.update({f"{k}_wins": v for k, v in self.wins.items()})
        return out


@dataclass
class Failure:
    """An image that could not be scored; ``method`` is None when the pair itself failed."""

    stem: str
    method: str | None
    message: str


@dataclass
class EvalConfig:
    """How to evaluate (every setting of :func:`evaluate` but the data, methods, weights,
    options and the progress callback).

    ``split``, ``category`` and ``limit`` choose the pairs of a dataset folder. ``baseline``:
    a method name, True for the installed method marked ``reference`` (if any), None for
    no comparison; it is added to the methods when missing. ``metrics``: names from
    :data:`flashcli.metrics.METRICS` (``"psnr,ssim"`` or a list; None: the default set).
    Outputs are rounded to 8 bit before scoring unless ``quantize`` is False.
    ``save_images_dir`` receives ``<method>/<stem>.png``; ``thumbnail_side`` keeps small
    previews of the first ``thumbnail_pairs`` pairs for contact sheets.
    """

    device: str | torch.device = "auto"
    quantize: bool = True
    baseline: str | bool | None = True
    save_images_dir: str | Path | None = None
    split: str | None = "test"
    category: str | None = None
    limit: int | None = None
    batch_size: int = 8
    metrics: str | Sequence[str] | None = None
    thumbnail_side: int | None = None
    thumbnail_pairs: int = 120
    workers: int = 4
    #: Share of every method's change that is scored (0: the flash photo, 1: the full output).
    strength: float = 1.0
    #: EV added to every method's exposure, and its white balance (see flashcli.look); the
    #: reference method (the flash photo) is scored as it is.
    exposure: float = 0.0
    white_balance: str | float = "auto"

    @property
    def look(self) -> Look:
        return Look(float(self.strength), float(self.exposure), self.white_balance)
    #: Leave out (with a warning) methods that fail to start instead of stopping: for the
    #: default set of methods, where one broken plugin must not stop the others.
    skip_broken: bool = False


@dataclass
class EvalResult:
    """Everything ``evaluate`` measured, plus what it was asked."""

    methods: list[str]
    scores: list[ImageScore]
    summaries: dict[str, MethodSummary]
    comparisons: list[Comparison]
    failures: list[Failure]
    config: dict[str, Any]
    versions: dict[str, str]
    pairs: list[Pair] = field(default_factory=list)
    #: Small uint8 3 x h x w previews per stem and column (flash, methods, ambient).
    thumbnails: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    seconds: float = 0.0
    #: The metric names scored, in table order.
    metrics: list[str] = field(default_factory=lambda: list(metrics.DEFAULT_METRICS))

    def score_table(self, method: str) -> dict[str, ImageScore]:
        """This method's scores by stem."""
        return {s.stem: s for s in self.scores if s.method == method}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for results.json (non-finite numbers become None)."""
        return _finite({
            "config": self.config,
            "versions": self.versions,
            "seconds": self.seconds,
            "methods": self.methods,
            "metrics": self.metrics,
            "summaries": [self.summaries[m].to_dict() for m in self.methods if m in self.summaries],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "failures": [dataclasses.asdict(f) for f in self.failures],
            "images": [s.to_dict() for s in self.scores],
        })


# --- command-line values ------------------------------------------------------------------

def parse_weights(items: Sequence[str], methods: Sequence[str] | None = None) -> dict[str, str]:
    """``["NAME=PATH", ...]`` (as given to ``--weights``) -> ``{NAME: PATH}``; a plain PATH
    when ``methods`` holds one method (see :mod:`flashcli.selection`)."""
    return selection.parse_weights(items, methods)


def parse_method_options(items: Sequence[str], methods: Sequence[str] | None = None
                         ) -> dict[str, dict[str, str]]:
    """``["NAME.key=value", ...]`` (as given to ``--opt``) -> ``{NAME: {key: value}}``; a
    plain ``key=value`` when ``methods`` holds one method (see :mod:`flashcli.selection`)."""
    return selection.parse_options(items, methods)


# --- pairs and methods --------------------------------------------------------------------

def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def collect_pairs(
    data: str | Path | PairSet | Sequence[Pair],
    split: str | None = "test",
    category: str | None = None,
    limit: int | None = None,
    workers: int = 4,
    check: bool = True,
) -> tuple[list[Pair], list[Failure], Path | None]:
    """The usable pairs, the dataset problems as failures (by file name), and the root.

    With ``check`` every pair's headers are read (no pixel decode), so unreadable files and
    size mismatches are known before any work starts; without it only the folder listing is
    used (see ``check_collected``).
    """
    if isinstance(data, str | Path):
        data = find_pairs(data, split=split, category=category, check=False)
    elif category and isinstance(data, PairSet):
        data = PairSet(data.root, filter_category(data.pairs, category), list(data.problems))
    if isinstance(data, PairSet):
        pairs, given, root = list(data.pairs), list(data.problems), data.root
    else:
        pairs, given, root = list(data), [], None
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit {limit}: give a positive number of pairs")
        pairs = pairs[:limit]
    if not pairs and not given:
        raise FlashcliError(f"{root or 'dataset'}: no image pairs to evaluate")
    if not check:
        return pairs, [Failure(_name_of(msg), None, msg) for msg in given], root
    return check_collected(pairs, given, root, workers)


def check_collected(pairs: Sequence[Pair], given: Sequence[str], root: Path | None,
                    workers: int = 4) -> tuple[list[Pair], list[Failure], Path | None]:
    """Read the headers of ``pairs``; pairs with problems become failures, as do ``given``
    problem lines (unpaired files) not already found."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        checked = list(pool.map(lambda p: check_pairs([p], root), pairs))
    found = {msg for msgs in checked for msg in msgs}
    failures = [Failure(_name_of(msg), None, msg) for msg in given if msg not in found]
    good = []
    for pair, msgs in zip(pairs, checked, strict=True):
        if msgs:
            failures.append(Failure(pair.stem, None, "; ".join(msgs)))
        else:
            good.append(pair)
    return good, failures, root


def _name_of(problem: str) -> str:
    """The file named at the start of a dataset problem line."""
    return Path(problem.split(":", 1)[0].split(",")[0].strip()).name


def build_enhancers(
    methods: Sequence[str],
    weights: Mapping[str, str | Path] | None,
    options: Mapping[str, Mapping[str, Any]] | None,
    device: torch.device,
    skip_broken: bool = False,
) -> dict[str, Enhancer]:
    """Create every method once; unknown names, stray weights/options or missing weights
    raise here, before any image is read. With ``skip_broken`` a method that fails to start
    is left out with a warning instead. A name may carry a label (``NAME@LABEL``, see
    :mod:`flashcli.selection`): the results, weights and options go by the whole name."""
    weights = dict(weights or {})
    options = dict(options or {})
    reg = registry()
    for name in methods:
        reg.get(selection.method_of(selection.check_label(name)))  # unknown -> the list
    for what, given in (("--weights", weights), ("--opt", options)):
        stray = sorted(set(given) - set(methods))
        if stray:
            raise UsageError(
                f"{what} given for {', '.join(stray)}, which is not among the methods "
                f"({', '.join(methods)}); add it to --methods or drop the {what}"
            )
    for name in methods:  # a bad --opt value is a usage error, even where broken methods are left out
        validate_options(reg.get(selection.method_of(name)).cls, options.get(name))
    enhancers = {}
    for name in methods:
        method = selection.method_of(name)
        try:
            enhancers[name] = create_enhancer(method, dict(options.get(name) or {}),
                                              weights.get(name), device)
        except WeightsError as exc:
            if name in weights or "needs weights" not in exc.message:
                raise
            raise WeightsError(
                f"method {method} needs weights: pass --weights {name}=PATH (a .safetensors file "
                f"or a `flashcli train --method {method}` run folder)"
            ) from None
        except FlashcliError as exc:
            if not skip_broken:
                raise
            log.warning(f"left out: {exc.message}")
    return enhancers


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]


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


def _load(pair: Pair) -> tuple[Pair, torch.Tensor | None, torch.Tensor | None, str | None]:
    try:
        flash, ambient = load_pair_uint8(pair)
        return pair, flash, ambient, None
    except Exception as exc:  # noqa: BLE001 - any decode error is one failed pair
        return pair, None, None, _one_line(exc)


def _summaries(methods: Sequence[str], chosen: Sequence[metrics.Metric], scores: list[ImageScore],
               failures: list[Failure], seconds: Mapping[str, float]) -> dict[str, MethodSummary]:
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


def _start(methods, baseline, weights, options, dev, cfg):
    """The enhancers, and the methods and baseline that started."""
    enhancers = build_enhancers(methods, weights, options, dev, cfg.skip_broken)
    methods = [m for m in methods if m in enhancers]
    if not methods:
        raise FlashcliError("no method could start; see the warnings above")
    return enhancers, methods, baseline if baseline in enhancers else None


def _method_list(methods: Sequence[str], baseline: str | bool | None) -> tuple[list[str], str | None]:
    """The methods to run (the baseline first when it was not asked for) and the baseline."""
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise UsageError("no methods to evaluate; pass -m NAME -m NAME (see `flashcli plugins`)")
    if baseline is True:
        baseline = registry().reference_method()
    baseline = baseline or None
    if baseline and baseline not in methods:
        methods.insert(0, baseline)
    return methods, baseline


# --- scoring ------------------------------------------------------------------------------

class _Scoring:
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
        report(self.progress, "evaluating", self.done, self.total)

    def run(self) -> None:
        cfg = self.cfg
        chunk = max(cfg.batch_size * 4, cfg.workers)
        report(self.progress, "evaluating", 0, self.total)
        with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
            for start in range(0, len(self.pairs), chunk):
                loaded = list(pool.map(_load, self.pairs[start:start + chunk]))
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
                        _memory_message(p, f, len(batch)) if is_out_of_memory(exc) else _one_line(exc)))
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
                _save(self.save_dir, name, batch, out, self.failures)
            self.advance(len(stems))

    def score(self, enhancer: Enhancer, flash: torch.Tensor, ambient: torch.Tensor
              ) -> tuple[torch.Tensor, dict[str, list[float]], float]:
        """The (quantised) output, each metric per image, and the method's seconds."""
        _sync(self.device)
        t0 = time.perf_counter()
        out = enhancer(flash)
        if not getattr(enhancer, "reference", False):
            out, _ = apply_look(flash, out, self.cfg.look)
        _sync(self.device)
        elapsed = time.perf_counter() - t0
        out = out.to(self.device)
        if self.cfg.quantize:
            out = metrics.quantize(out)
        values = {m.name: m.function(out, ambient).tolist() for m in self.chosen}
        return out, values, elapsed


# --- the entry points ---------------------------------------------------------------------

def evaluate(
    data: str | Path | PairSet | Sequence[Pair],
    methods: Sequence[str],
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: EvalConfig | None = None,
    *,
    progress: ProgressFn | bool | None = None,
    **settings: Any,
) -> EvalResult:
    """Score ``methods`` on the flash/ambient pairs of ``data``.

    ``data`` is a dataset folder (``split``, ``category`` apply), a ``PairSet`` or a list of
    ``Pair``. ``weights`` maps a method to its weights file or run folder, ``options`` a
    method to its option dict. ``config`` (an :class:`EvalConfig`) and keyword
    ``settings`` (its fields) say how; ``progress(stage, done, total)`` follows the work.
    """
    started = time.perf_counter()
    cfg = dataclasses.replace(config or EvalConfig(), **settings)
    chosen = metrics.select(cfg.metrics)
    cfg.white_balance = cfg.look.validate().white_balance
    methods, baseline = _method_list(methods, cfg.baseline)
    if cfg.batch_size < 1:
        raise UsageError(f"batch size {cfg.batch_size}: give a positive number")
    pairs, listed, root = collect_pairs(data, cfg.split, cfg.category, cfg.limit, cfg.workers,
                                        check=False)
    dev = resolve_device(cfg.device)
    enhancers, methods, baseline = _start(methods, baseline, weights, options, dev, cfg)
    pairs, failures, root = check_collected(pairs, [f.message for f in listed], root, cfg.workers)
    for f in failures:
        log.warning(f"skipped: {f.message}")
    skipped = len(failures)
    scoring = _Scoring(enhancers, dev, cfg, chosen, pairs, failures, progress)
    scoring.run()
    order = {p.stem: i for i, p in enumerate(pairs)}
    scores = sorted(scoring.scores, key=lambda s: (order.get(s.stem, 0), methods.index(s.method)))
    reg = registry()
    versions = {"flashcli": __version__, "torch": torch.__version__,
                "python": platform.python_version(),
                **{f"plugin:{m}": reg.get(selection.method_of(m)).provided_by for m in methods}}
    config_out = {
        "dataset": str(root) if root else None,
        "split": cfg.split if isinstance(data, str | Path) else None,
        "category": cfg.category, "limit": cfg.limit, "pairs": len(pairs),
        "dataset_problems": skipped, "methods": methods,
        "weights": {k: str(v) for k, v in (weights or {}).items()},
        "weights_used": {m: getattr(e, "weights_info", None) for m, e in enhancers.items()
                         if getattr(e, "weights_info", None)},
        "strength": cfg.strength, "exposure": cfg.exposure, "white_balance": cfg.white_balance,
        "options": {m: e.config for m, e in enhancers.items()},
        "device": str(dev), "quantize": cfg.quantize, "baseline": baseline,
        "batch_size": cfg.batch_size, "metrics": [m.name for m in chosen],
    }
    return EvalResult(
        methods=methods, scores=scores,
        summaries=_summaries(methods, chosen, scores, failures, scoring.seconds),
        comparisons=[compare(scores, m, baseline, chosen) for m in methods if baseline and m != baseline],
        failures=failures, config=config_out, versions=versions, pairs=pairs,
        thumbnails=scoring.thumbs, seconds=time.perf_counter() - started,
        metrics=[m.name for m in chosen])


def _save(save_dir: Path, name: str, batch, out: torch.Tensor, failures: list[Failure]) -> None:
    from flashcli.imageio import write_image

    for (pair, _, _), image in zip(batch, out.cpu(), strict=True):
        target = save_dir / safe_name(name) / f"{pair.stem}.png"
        try:
            write_image(target, image, None, format="png", protect=(pair.flash, pair.ambient))
        except Exception as exc:  # noqa: BLE001 - report, keep going
            failures.append(Failure(pair.stem, name, f"{target}: could not save ({_one_line(exc)})"))
