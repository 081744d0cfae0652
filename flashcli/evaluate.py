"""Score enhancement methods against ambient ground truth: the Python side of ``flashcli eval``.

``evaluate`` builds every method once (so missing weights fail before any work), decodes the
pairs a chunk at a time, runs each method once per image in batches of same-size images,
quantises the outputs to 8 bit as the authors did (REFERENCE.md §3) and scores them with
``flashcli.metrics``. A failure on one image (unreadable file, a method error) is recorded
and counted; the other images go on.
"""

from __future__ import annotations

import math
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from flashcli import __version__, console, metrics
from flashcli.datasets import Pair, PairSet, check_pairs, find_pairs, load_pair_uint8
from flashcli.device import resolve_device
from flashcli.enhancer import Enhancer
from flashcli.errors import FlashcliError, WeightsError
from flashcli.fsutil import safe_name
from flashcli.methods import create_enhancer
from flashcli.plugins import registry

#: Columns of a contact sheet besides the methods.
FLASH, AMBIENT = "flash", "ambient"


@dataclass
class ImageScore:
    """One method's scores on one image."""

    stem: str
    method: str
    psnr: float
    ssim: float
    loe: float | None
    seconds: float
    category: str | None = None


@dataclass
class MethodSummary:
    """Mean and (sample) standard deviation of one method's scores over its images."""

    method: str
    images: int
    psnr_mean: float
    psnr_std: float
    ssim_mean: float
    ssim_std: float
    loe_mean: float | None
    seconds_per_image: float
    failures: int


@dataclass
class Comparison:
    """A method against the baseline on the images both scored."""

    method: str
    baseline: str
    images: int
    psnr_diff: float
    ssim_diff: float
    psnr_wins: int
    ssim_wins: int


@dataclass
class Failure:
    """An image that could not be scored; ``method`` is None when the pair itself failed."""

    stem: str
    method: str | None
    message: str


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
            "summaries": [asdict(self.summaries[m]) for m in self.methods if m in self.summaries],
            "comparisons": [asdict(c) for c in self.comparisons],
            "failures": [asdict(f) for f in self.failures],
            "images": [asdict(s) for s in self.scores],
        })


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
    if isinstance(data, PairSet):
        pairs, given, root = list(data.pairs), list(data.problems), data.root
    else:
        pairs, given, root = list(data), [], None
    if limit is not None:
        if limit < 1:
            raise FlashcliError(f"--limit {limit}: give a positive number of pairs")
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
) -> dict[str, Enhancer]:
    """Create every method once; unknown names, stray weights/options or missing weights
    raise here, before any image is read."""
    weights = dict(weights or {})
    options = dict(options or {})
    reg = registry()
    for name in methods:
        reg.get(name)  # unknown method -> one line listing the available ones
    for what, given in (("--weights", weights), ("--opt", options)):
        stray = sorted(set(given) - set(methods))
        if stray:
            raise FlashcliError(
                f"{what} given for {', '.join(stray)}, which is not among the methods "
                f"({', '.join(methods)}); add it to --methods or drop the {what}"
            )
    enhancers = {}
    for name in methods:
        try:
            enhancers[name] = create_enhancer(name, dict(options.get(name) or {}),
                                              weights.get(name), device)
        except WeightsError as exc:
            if name in weights or "needs weights" not in exc.message:
                raise
            raise WeightsError(
                f"method {name} needs weights: pass --weights {name}=PATH (a .safetensors file "
                f"or a `flashcli train --method {name}` run folder)"
            ) from None
    return enhancers


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]


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


def _summaries(methods: Sequence[str], scores: list[ImageScore], failures: list[Failure],
               seconds: Mapping[str, float]) -> dict[str, MethodSummary]:
    out = {}
    for m in methods:
        mine = [s for s in scores if s.method == m]
        p = torch.tensor([s.psnr for s in mine], dtype=torch.float64)
        q = torch.tensor([s.ssim for s in mine], dtype=torch.float64)
        loes = [s.loe for s in mine if s.loe is not None]
        n = len(mine)
        out[m] = MethodSummary(
            method=m,
            images=n,
            psnr_mean=float(p.mean()) if n else math.nan,
            psnr_std=float(p.std(correction=1)) if n > 1 else 0.0 if n else math.nan,
            ssim_mean=float(q.mean()) if n else math.nan,
            ssim_std=float(q.std(correction=1)) if n > 1 else 0.0 if n else math.nan,
            loe_mean=float(sum(loes) / len(loes)) if loes else None,
            seconds_per_image=seconds.get(m, 0.0) / n if n else math.nan,
            failures=sum(1 for f in failures if f.method in (m, None)),
        )
    return out


def compare(scores: list[ImageScore], method: str, baseline: str) -> Comparison:
    """Mean PSNR/SSIM difference of ``method`` over ``baseline`` and its wins, on shared images."""
    base = {s.stem: s for s in scores if s.method == baseline}
    mine = [(s, base[s.stem]) for s in scores if s.method == method and s.stem in base]
    n = len(mine)
    dp = [a.psnr - b.psnr for a, b in mine if math.isfinite(a.psnr - b.psnr)]
    ds = [a.ssim - b.ssim for a, b in mine]
    return Comparison(
        method=method,
        baseline=baseline,
        images=n,
        psnr_diff=sum(dp) / len(dp) if dp else math.nan,
        ssim_diff=sum(ds) / n if n else math.nan,
        psnr_wins=sum(1 for a, b in mine if a.psnr > b.psnr),
        ssim_wins=sum(1 for a, b in mine if a.ssim > b.ssim),
    )


def evaluate(
    data: str | Path | PairSet | Sequence[Pair],
    methods: Sequence[str],
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    device: str | torch.device = "auto",
    quantize: bool = True,
    baseline: str | None = "identity",
    progress: bool = True,
    save_images_dir: str | Path | None = None,
    *,
    split: str | None = "test",
    category: str | None = None,
    limit: int | None = None,
    batch_size: int = 8,
    with_loe: bool = True,
    thumbnail_side: int | None = None,
    thumbnail_pairs: int = 120,
    workers: int = 4,
) -> EvalResult:
    """Score ``methods`` on the flash/ambient pairs of ``data``.

    ``data`` is a dataset folder (REFERENCE.md §2 layout; ``split``, ``category`` apply), a
    ``PairSet`` or a list of ``Pair``; ``limit`` keeps the first N pairs. ``weights`` maps a
    method to its weights file or run folder, ``options`` a method to its option dict. The
    ``baseline`` method is added to ``methods`` when missing (None: no comparison). Outputs
    are rounded to 8 bit before scoring unless ``quantize`` is False. ``save_images_dir``
    receives ``<method>/<stem>.png``. ``thumbnail_side`` keeps small previews of the first
    ``thumbnail_pairs`` pairs for contact sheets.
    """
    started = time.perf_counter()
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise FlashcliError("no methods to evaluate; pass --methods, e.g. --methods identity,lime")
    if baseline and baseline not in methods:
        methods.insert(0, baseline)
    if batch_size < 1:
        raise FlashcliError(f"batch size {batch_size}: give a positive number")
    pairs, listed, root = collect_pairs(data, split, category, limit, workers, check=False)
    dev = resolve_device(device)
    enhancers = build_enhancers(methods, weights, options, dev)
    pairs, failures, root = check_collected(pairs, [f.message for f in listed], root, workers)
    if save_images_dir is not None:
        save_images_dir = Path(save_images_dir)
        from flashcli.imageio import write_image  # noqa: F401 - fail early if unavailable
    if progress:
        for f in failures:
            console.warn(f"skipped: {f.message}")
    skipped = len(failures)
    scores: list[ImageScore] = []
    seconds: dict[str, float] = defaultdict(float)
    thumbs: dict[str, dict[str, torch.Tensor]] = {}
    thumb_stems = {p.stem for p in pairs[:thumbnail_pairs]} if thumbnail_side else set()

    bar = console.progress() if progress else None
    task = bar.add_task("evaluating", total=len(pairs) * len(methods)) if bar else None
    chunk = max(batch_size * 4, workers)
    try:
        if bar:
            bar.start()
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for start in range(0, len(pairs), chunk):
                loaded = list(pool.map(_load, pairs[start:start + chunk]))
                by_size: dict[tuple[int, ...], list[tuple[Pair, torch.Tensor, torch.Tensor]]] = (
                    defaultdict(list))
                for pair, flash, ambient, error in loaded:
                    if error is not None:
                        failures.append(Failure(pair.stem, None, error))
                        if bar:
                            bar.advance(task, len(methods))
                    else:
                        by_size[tuple(flash.shape)].append((pair, flash, ambient))
                for items in by_size.values():
                    for b in range(0, len(items), batch_size):
                        batch = items[b:b + batch_size]
                        _run_batch(batch, enhancers, dev, quantize, with_loe, scores, failures,
                                   seconds, save_images_dir, thumbs, thumb_stems, thumbnail_side,
                                   lambda n: bar.advance(task, n) if bar else None)
    finally:
        if bar:
            bar.stop()

    order = {p.stem: i for i, p in enumerate(pairs)}
    scores.sort(key=lambda s: (order.get(s.stem, 0), methods.index(s.method)))
    summaries = _summaries(methods, scores, failures, seconds)
    comparisons = [compare(scores, m, baseline) for m in methods if baseline and m != baseline]
    reg = registry()
    versions = {
        "flashcli": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        **{f"plugin:{m}": reg.get(m).provided_by for m in methods},
    }
    config = {
        "dataset": str(root) if root else None,
        "split": split if isinstance(data, str | Path) else None,
        "category": category,
        "limit": limit,
        "pairs": len(pairs),
        "dataset_problems": skipped,
        "methods": methods,
        "weights": {k: str(v) for k, v in (weights or {}).items()},
        "options": {m: e.config for m, e in enhancers.items()},
        "device": str(dev),
        "quantize": quantize,
        "baseline": baseline,
        "batch_size": batch_size,
        "loe": with_loe,
    }
    return EvalResult(methods=methods, scores=scores, summaries=summaries,
                      comparisons=comparisons, failures=failures, config=config,
                      versions=versions, pairs=pairs, thumbnails=thumbs,
                      seconds=time.perf_counter() - started)


def _run_batch(batch, enhancers, dev, quantize, with_loe, scores, failures, seconds,
               save_dir, thumbs, thumb_stems, thumb_side, advance: Callable[[int], Any]) -> None:
    """Run every method on one batch of same-size pairs and score the outputs."""
    stems = [p.stem for p, _, _ in batch]
    flash = torch.stack([f for _, f, _ in batch]).to(dev).float().div_(255.0)
    ambient = torch.stack([a for _, _, a in batch]).to(dev).float().div_(255.0)
    keep = [i for i, s in enumerate(stems) if s in thumb_stems]
    if keep:
        for i, f_t, a_t in zip(keep, _thumb(flash[keep], thumb_side), _thumb(ambient[keep], thumb_side),
                               strict=True):
            thumbs.setdefault(stems[i], {})[FLASH] = f_t
            thumbs[stems[i]][AMBIENT] = a_t
    for name, enhancer in enhancers.items():
        try:
            _sync(dev)
            t0 = time.perf_counter()
            out = enhancer(flash)
            _sync(dev)
            elapsed = time.perf_counter() - t0
            out = out.to(dev)
            if quantize:
                out = metrics.quantize(out)
            p = metrics.psnr(out, ambient).tolist()
            q = metrics.ssim(out, ambient).tolist()
            lo = metrics.loe(out, ambient).tolist() if with_loe else [None] * len(stems)
        except Exception as exc:  # noqa: BLE001 - one failed batch must not stop the run
            msg = _one_line(exc)
            failures.extend(Failure(s, name, f"{name} on {s}: {msg}") for s in stems)
            advance(len(stems))
            continue
        seconds[name] += elapsed
        for (pair, _, _), ps, ss, ls in zip(batch, p, q, lo, strict=True):
            scores.append(ImageScore(pair.stem, name, ps, ss, ls, elapsed / len(stems),
                                     pair.category))
        if keep:
            for i, t in zip(keep, _thumb(out[keep], thumb_side), strict=True):
                thumbs[stems[i]][name] = t
        if save_dir is not None:
            _save(save_dir, name, batch, out, failures)
        advance(len(stems))


def _save(save_dir: Path, name: str, batch, out: torch.Tensor, failures: list[Failure]) -> None:
    from flashcli.imageio import write_image

    for (pair, _, _), image in zip(batch, out.cpu(), strict=True):
        target = save_dir / safe_name(name) / f"{pair.stem}.png"
        try:
            write_image(target, image, None, format="png", protect=(pair.flash, pair.ambient))
        except Exception as exc:  # noqa: BLE001 - report, keep going
            failures.append(Failure(pair.stem, name, f"{target}: could not save ({_one_line(exc)})"))
