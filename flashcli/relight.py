"""The main job: relight a whole shoot at full resolution.

``relight(inputs, output_dir)`` finds the photos, keeps the frames whose EXIF says the
flash fired, runs the method and writes full-resolution results with their metadata:

1. discover: files, folders (``recursive``) and globs; other files are passed over;
2. plan: the output of each photo (the input tree mirrored under ``output_dir``, a name
   template, a format) and its fate (process, skip: no flash / unknown flash / exists,
   fail), from EXIF alone (no pixels decoded);
3. run: decoding and encoding in a thread pool while the device works; the method runs on
   a working-size copy and its per-pixel gain is carried to full resolution by the fast
   guided filter (:mod:`flashcli.upsample`), or, with ``working_size="full"``, on the
   full image in blended tiles (:mod:`flashcli.tiling`).

Failures of single files are collected in the report; the run goes on.
"""

from __future__ import annotations

import contextlib
import glob
import os
import string
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from flashcli.device import resolve_device
from flashcli.enhancer import Enhancer
from flashcli.errors import FlashcliError
from flashcli.fsutil import not_regular_reason, safe_name
from flashcli.imageio import PhotoMeta, is_image_path, read_image, read_metadata, write_image
from flashcli.tiling import run_tiled
from flashcli.upsample import GainField, apply_gain, downscale, fit_gain, working_shape

DEFAULT_METHOD = "guided-cgan"
DEFAULT_TEMPLATE = "{stem}_ambient.{ext}"
TEMPLATE_FIELDS = ("stem", "name", "ext", "inext", "method")
FORMATS = ("jpeg", "png", "tiff")
#: Tile side for ``working_size="full"`` when the method names no working size.
DEFAULT_TILE = 1024
#: Full-resolution megapixels held by one batch, and decoded ahead of the device (memory
#: guards for 50 MP photos: one megapixel is 12 MB as float32).
BATCH_MEGAPIXELS = 100.0
IN_FLIGHT_MEGAPIXELS = 200.0

# Fates of a file.
PROCESSED = "processed"
WOULD_PROCESS = "would-process"
SKIP_NO_FLASH = "skipped-no-flash"
SKIP_UNKNOWN = "skipped-unknown"
SKIP_EXISTS = "skipped-exists"
FAILED = "failed"
STATUSES = (PROCESSED, WOULD_PROCESS, SKIP_NO_FLASH, SKIP_UNKNOWN, SKIP_EXISTS, FAILED)

_EXT = {"jpeg": "jpg", "png": "png", "tiff": "tif"}
_FORMAT_NAMES = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "tiff": "tiff", "tif": "tiff"}
_SUFFIX_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png",
                  ".tif": "tiff", ".tiff": "tiff"}


# --- report ----------------------------------------------------------------------------------

@dataclass
class FileResult:
    """What happened to one input photo."""

    source: Path
    output: Path | None
    status: str
    reason: str = ""
    flash: str = "unknown"
    megapixels: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"source": str(self.source), "output": str(self.output) if self.output else None,
                "status": self.status, "reason": self.reason, "flash": self.flash,
                "megapixels": round(self.megapixels, 3)}


@dataclass
class RelightReport:
    """The outcome of a run: one :class:`FileResult` per photo, plus stage timings (s)."""

    files: list[FileResult] = field(default_factory=list)
    method: str = ""
    device: str = ""
    working_size: int | str | None = None
    dry_run: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def with_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def processed(self) -> list[FileResult]:
        return self.with_status(PROCESSED)

    @property
    def skipped_no_flash(self) -> list[FileResult]:
        return self.with_status(SKIP_NO_FLASH)

    @property
    def skipped_unknown(self) -> list[FileResult]:
        return self.with_status(SKIP_UNKNOWN)

    @property
    def skipped_exists(self) -> list[FileResult]:
        return self.with_status(SKIP_EXISTS)

    @property
    def failed(self) -> list[FileResult]:
        return self.with_status(FAILED)

    def counts(self) -> dict[str, int]:
        return {s: len(self.with_status(s)) for s in STATUSES}

    @property
    def megapixels(self) -> float:
        """Megapixels processed (or, in a dry run, to be processed)."""
        return sum(f.megapixels for f in self.files if f.status in (PROCESSED, WOULD_PROCESS))

    def to_dict(self) -> dict[str, Any]:
        wall = self.timings.get("wall", 0.0)
        return {
            "method": self.method, "device": self.device, "working_size": self.working_size,
            "dry_run": self.dry_run, "counts": self.counts(),
            "megapixels": round(self.megapixels, 3),
            "megapixels_per_second": round(self.megapixels / wall, 3) if wall > 0 else None,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "files": [f.to_dict() for f in self.files],
        }


# --- discovery -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """An input photo and its path relative to the root mirrored under the output folder."""

    path: Path
    rel: Path


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _glob_base(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard."""
    base: list[str] = []
    for part in Path(pattern).parts:
        if _is_glob(part):
            break
        base.append(part)
    return Path(*base) if base else Path(".")


def _hidden(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
    return any(p.startswith(".") for p in parts)


def _folder_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and not _hidden(p, folder))


def discover(inputs: Sequence[str | os.PathLike], recursive: bool = False) -> list[Source]:
    """The image files named by ``inputs`` (files, folders, globs), each with the path it
    mirrors under the output folder. Non-image and hidden files are passed over."""
    groups: list[tuple[Path, list[Path]]] = []
    for item in inputs:
        text = os.fspath(item)
        if not text.strip():
            raise FlashcliError("an empty input path was given; name photos or folders (use . for this folder)")
        p = Path(text).expanduser()
        if p.is_dir():
            groups.append((p, _folder_files(p, recursive)))
        elif p.is_file():
            groups.append((p.parent, [p]))
        elif _is_glob(text):
            hits = sorted(Path(h) for h in glob.glob(os.path.expanduser(text), recursive=True))
            if not hits:
                raise FlashcliError(f"{text}: no files match this pattern; check the path")
            base = _glob_base(os.path.expanduser(text))
            files: list[Path] = []
            for h in hits:
                if h.is_dir():
                    files.extend(_folder_files(h, recursive))
                elif h.is_file():  # not a broken or looping symlink (as in folders)
                    files.append(h)
            groups.append((base, files))
        else:
            why = not_regular_reason(p) or "no such file or folder; check the path"
            raise FlashcliError(f"{text}: {why.replace('no such file;', 'no such file or folder;')}")
    if not groups:
        return []
    roots = {g[0].resolve() for g in groups}
    common = roots.pop() if len(roots) == 1 else Path(os.path.commonpath([str(r) for r in roots]))
    seen: set[Path] = set()
    sources = []
    for _, files in groups:
        for f in files:
            real = f.resolve()
            if real in seen or not is_image_path(f):
                continue
            seen.add(real)
            try:
                rel = real.relative_to(common)
            except ValueError:
                rel = Path(f.name)
            sources.append(Source(f, rel))
    return sources


# --- planning --------------------------------------------------------------------------------

def output_format(source: Path, format: str | None, bit_depth: int = 8) -> str:
    """``jpeg``, ``png`` or ``tiff``: ``format`` if given; else TIFF for 16-bit output, the
    input's format for PNG and TIFF inputs, JPEG for JPEG, RAW and anything else."""
    if format:
        fmt = _FORMAT_NAMES.get(format.strip().lower())
        if fmt is None:
            raise FlashcliError(f"--format {format}: unknown format; use jpeg, png or tiff")
        return fmt
    if bit_depth == 16:
        return "tiff"
    fmt = _SUFFIX_FORMAT.get(source.suffix.lower())
    return fmt if fmt in ("png", "tiff") else "jpeg"


def check_template(template: str) -> None:
    """Refuse templates with unknown fields or folder separators."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise FlashcliError(f"--template {template!r}: {exc}; e.g. '{DEFAULT_TEMPLATE}'") from None
    unknown = sorted(fields - set(TEMPLATE_FIELDS))
    if unknown:
        valid = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        raise FlashcliError(f"--template {template!r}: unknown field {', '.join(unknown)}; use {valid}")
    try:  # format specs and conversions ({stem:d}, {stem!z}) fail only when applied
        template.format(**{f: "x" for f in TEMPLATE_FIELDS})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, MemoryError,
            OverflowError) as exc:
        raise FlashcliError(f"--template {template!r}: {exc or type(exc).__name__}; use plain fields like "
                            f"'{DEFAULT_TEMPLATE}'") from None
    if "/" in template or "\\" in template or not template.strip():
        raise FlashcliError(f"--template {template!r}: must be a file name (no folders)")


def output_path(source: Source, output_dir: Path, template: str, fmt: str, method: str) -> Path:
    """Where ``source``'s result goes: its relative folder under ``output_dir``, named by
    ``template``. The input's own extension is kept when the format does not change."""
    suffix = source.path.suffix
    ext = suffix[1:] if _SUFFIX_FORMAT.get(suffix.lower()) == fmt else _EXT[fmt]
    name = template.format(stem=source.path.stem, name=source.path.name, ext=ext,
                           inext=suffix[1:].lower(), method=safe_name(method))
    return output_dir / source.rel.parent / name


def flash_fate(meta: PhotoMeta, select: str, include_unknown: bool) -> tuple[str | None, str]:
    """``(skip status or None, reason)`` for a photo's flash state."""
    fl = meta.flash
    detail = f"EXIF Flash=0x{fl.raw:02X}" if fl.raw is not None else "no EXIF Flash tag"
    if fl.fired is True:
        return None, f"flash fired ({detail})"
    if fl.fired is False:
        if select == "all":
            return None, f"flash did not fire ({detail}); --all"
        return SKIP_NO_FLASH, f"flash did not fire ({detail}); --all processes it"
    if select == "all" or include_unknown:
        return None, f"flash unknown ({detail}); processed by request"
    return SKIP_UNKNOWN, f"flash unknown ({detail}); --include-unknown processes it"


@dataclass
class Job:
    """One planned photo: its output, format and metadata (from EXIF only)."""

    source: Source
    output: Path
    format: str
    meta: PhotoMeta | None = None
    result: FileResult | None = None


def _inside_output(source: Source, out_dir: Path) -> bool:
    """True for a file inside an output folder nested in the input tree (earlier results)."""
    real, out = source.path.resolve(), out_dir.resolve()
    root = real.parents[len(source.rel.parts) - 1]
    return out != root and root in out.parents and out in real.parents


def _megapixels(job: Job) -> float:
    return job.meta.width * job.meta.height / 1e6 if job.meta else 0.0


def _read_meta(path: Path) -> PhotoMeta | Exception:
    try:
        return read_metadata(path)
    except Exception as exc:  # reported per file
        return exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, FlashcliError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def plan(
    sources: Sequence[Source],
    output_dir: str | os.PathLike,
    *,
    template: str = DEFAULT_TEMPLATE,
    format: str | None = None,
    bit_depth: int = 8,
    method: str = DEFAULT_METHOD,
    select: str = "fired",
    include_unknown: bool = False,
    overwrite: bool = False,
    pool: ThreadPoolExecutor | None = None,
) -> list[Job]:
    """Decide each photo's output and fate from its EXIF. Jobs with ``result`` set are
    already settled (skipped or failed); the others are to be processed.

    Files that are the planned output of another input (a previous run writing into the
    input folder) are left out, and nothing is ever planned onto an input file.
    """
    if select not in ("fired", "all"):
        raise ValueError(f"select must be 'fired' or 'all', not {select!r}")
    check_template(template)
    out_dir = Path(output_dir).expanduser()
    jobs = []
    for src in sources:
        fmt = output_format(src.path, format, bit_depth)
        jobs.append(Job(src, output_path(src, out_dir, template, fmt, method), fmt))
    planned = {j.output.resolve(): j for j in jobs}
    # Previous outputs of *other* inputs are left out; a photo whose own output would be
    # itself stays, to be refused below rather than dropped without a word.
    jobs = [j for j in jobs if planned.get(j.source.path.resolve(), j) is j
            and not _inside_output(j.source, out_dir)]
    inputs = {j.source.path.resolve(): j.source.path for j in jobs}

    metas = list(pool.map(_read_meta, [j.source.path for j in jobs]) if pool
                 else map(_read_meta, [j.source.path for j in jobs]))
    claimed: dict[Path, Path] = {}
    for job, meta in zip(jobs, metas, strict=True):
        src = job.source.path
        if isinstance(meta, Exception):
            job.result = FileResult(src, None, FAILED, _reason(meta))
            continue
        job.meta = meta
        flash = meta.flash.fired_text
        target = job.output.resolve()
        if target in inputs:
            job.result = FileResult(src, job.output, FAILED, f"{job.output}: would overwrite an "
                                    "input photo; choose another -o folder or --template", flash)
            continue
        if target in claimed:
            job.result = FileResult(src, job.output, FAILED, f"{job.output}: also the output of "
                                    f"{claimed[target]}; use --template '{{stem}}_{{inext}}_ambient.{{ext}}'",
                                    flash)
            continue
        claimed[target] = src
        skip, why = flash_fate(meta, select, include_unknown)
        if skip is not None:
            job.result = FileResult(src, None, skip, why, flash)
        elif job.output.exists() and not overwrite:
            job.result = FileResult(src, job.output, SKIP_EXISTS,
                                    "output exists; --overwrite replaces it", flash)
    return jobs


# --- running ---------------------------------------------------------------------------------

def resolve_working_size(working_size: int | str | None, method: Any) -> int | str:
    """The long side to run ``method`` (an enhancer or its class) at, or ``"full"`` (tiles
    at the method's own scale); None means the method's ``working_size``."""
    if working_size is None:
        working_size = getattr(method, "working_size", None) or "full"
    if isinstance(working_size, str):
        if working_size.strip().lower() == "full":
            return "full"
        if not working_size.strip().isdigit():
            raise FlashcliError(f"--working-size {working_size}: use a number of pixels or 'full'")
        working_size = int(working_size)
    if int(working_size) < 16:
        raise FlashcliError(f"--working-size {working_size}: too small; use at least 16 or 'full'")
    return int(working_size)


class _Timer:
    """Accumulates seconds per stage (thread-safe enough: one writer per key at a time)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.totals: dict[str, float] = {"decode": 0.0, "method": 0.0, "upsample": 0.0,
                                         "encode": 0.0}

    @contextlib.contextmanager
    def stage(self, name: str, sync: bool = False):
        start = time.perf_counter()
        try:
            yield
        finally:
            if sync and self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start


class _Runner:
    """Runs the planned jobs: decode (threads) -> method + upsampling (device) -> encode (threads)."""

    def __init__(self, enhancer: Enhancer, working_size: int | str, *, quality: int,
                 bit_depth: int, max_pixels: int | None, batch_size: int, amp: bool,
                 tile: int | None, overlap: int | None, pool: ThreadPoolExecutor, workers: int,
                 timer: _Timer, on_result: Callable[[FileResult], None]) -> None:
        self.enhancer = enhancer
        self.device = enhancer.device
        self.size = working_size
        self.quality, self.bit_depth, self.max_pixels = quality, bit_depth, max_pixels
        self.batch_size = max(1, batch_size)
        self.amp = amp and self.device.type == "cuda"
        self.tile = tile or (getattr(enhancer, "working_size", None) or DEFAULT_TILE)
        self.overlap = overlap if overlap is not None else max(8, self.tile // 4)
        self.pool, self.timer, self.on_result = pool, timer, on_result
        self.encodes: deque[tuple[Job, float, Future]] = deque()
        self.workers = workers
        self.max_encodes = max(2, workers)

    # -- stages --------------------------------------------------------------------------

    def _decode(self, job: Job) -> tuple[torch.Tensor, PhotoMeta]:
        with self.timer.stage("decode"):
            return read_image(job.source.path, max_pixels=self.max_pixels)

    def _encode(self, job: Job, image: torch.Tensor, meta: PhotoMeta) -> None:
        with self.timer.stage("encode"):
            # Full-resolution chroma at high quality: the point is to keep every detail.
            sub = "4:4:4" if job.format == "jpeg" and self.quality >= 90 else None
            write_image(job.output, image, meta, format=job.format, quality=self.quality,
                        bit_depth=self.bit_depth, protect=(job.source.path,), subsampling=sub)

    def _method(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
            return self.enhancer(batch.to(self.device, non_blocking=True))

    # -- flow ----------------------------------------------------------------------------

    def run(self, jobs: list[Job]) -> None:
        """Decode ahead in the pool (bounded by count and megapixels), batch consecutive
        photos of the same working size, run them, and queue their encodes."""
        pending: deque[tuple[Job, Future]] = deque()
        todo = deque(jobs)
        ahead = self.workers + self.batch_size
        batch: list[tuple[Job, torch.Tensor, PhotoMeta]] = []

        def held() -> float:
            return sum(_megapixels(j) for j, _ in pending) + sum(_megapixels(j) for j, _, _ in batch)

        def fill() -> None:
            while todo and len(pending) < ahead:
                if (pending or batch) and held() + _megapixels(todo[0]) > IN_FLIGHT_MEGAPIXELS:
                    return
                job = todo.popleft()
                pending.append((job, self.pool.submit(self._decode, job)))

        fill()
        key = None
        while pending or todo:
            if not pending:  # the memory budget is held by the batch: run it first
                self._run_batch(batch)
                batch = []
                fill()
                continue
            job, fut = pending.popleft()
            try:
                image, meta = fut.result()
            except Exception as exc:
                self._finish(job, FAILED, _reason(exc))
                fill()
                continue
            k = self._batch_key(image)
            mp = sum(x.shape[-1] * x.shape[-2] for _, x, _ in batch) / 1e6
            if batch and (k != key or len(batch) >= self.batch_size or mp > BATCH_MEGAPIXELS):
                self._run_batch(batch)
                batch = []
            batch.append((job, image, meta))
            key = k
            fill()
        if batch:
            self._run_batch(batch)
        while self.encodes:
            self._drain_one()

    def _batch_key(self, image: torch.Tensor) -> tuple:
        h, w = image.shape[-2:]
        if self.size == "full":
            return ("full", h, w)
        if max(h, w) <= self.size:
            return ("direct", h, w)
        return ("gain", *working_shape(h, w, self.size))

    def _run_batch(self, batch: list[tuple[Job, torch.Tensor, PhotoMeta]]) -> None:
        try:
            results = self._compute([x for _, x, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not isinstance(exc, FlashcliError):
                for item in batch:  # retry one by one so one bad photo fails alone
                    self._run_batch([item])
                return
            for job, _, _ in batch:
                self._finish(job, FAILED, _reason(exc))
            return
        for (job, _, meta), result in zip(batch, results, strict=True):
            self._queue_encode(job, result, meta)

    def _compute(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        """The relit full-resolution images (3 x H x W, CPU)."""
        kind = self._batch_key(images[0])[0]
        if kind == "direct":
            with self.timer.stage("method", sync=True):
                out = self._method(torch.stack(images))
            return [o.cpu() for o in out]
        if kind == "full":
            outs = []
            for x in images:
                with self.timer.stage("method", sync=True):
                    y = run_tiled(self._method, x[None], self.tile, self.overlap,
                                  batch=self.batch_size, device=self.device)
                outs.append(y[0].clamp_(0.0, 1.0))
            return outs
        return self._gain_path(images)

    def _gain_path(self, images: list[torch.Tensor]) -> list[torch.Tensor]:
        h, w = images[0].shape[-2:]
        size = working_shape(h, w, self.size)
        with self.timer.stage("method", sync=True):
            full = [x.to(self.device, non_blocking=True) for x in images]
            lo_in = torch.stack([downscale(x[None], size)[0] for x in full])
            lo_out = self._method(lo_in)
        outs = []
        with self.timer.stage("upsample", sync=True):
            field = fit_gain(lo_in, lo_out)
            for i, x in enumerate(full):
                one = GainField(field.a[i:i + 1], field.b[i:i + 1], field.floor,
                                field.low[i:i + 1], field.high[i:i + 1])
                y = apply_gain(one, x[None], out=x[None])  # in place: no second full image
                outs.append(y[0].cpu())
        return outs

    def _queue_encode(self, job: Job, image: torch.Tensor, meta: PhotoMeta) -> None:
        while len(self.encodes) >= self.max_encodes:
            self._drain_one()
        mp = image.shape[-1] * image.shape[-2] / 1e6
        self.encodes.append((job, mp, self.pool.submit(self._encode, job, image, meta)))

    def _drain_one(self) -> None:
        job, mp, fut = self.encodes.popleft()
        try:
            fut.result()
        except Exception as exc:
            self._finish(job, FAILED, _reason(exc))
            return
        self._finish(job, PROCESSED, "", mp)

    def _finish(self, job: Job, status: str, reason: str, mp: float = 0.0) -> None:
        flash = job.meta.flash.fired_text if job.meta else "unknown"
        job.result = FileResult(job.source.path, job.output if status == PROCESSED else None,
                                status, reason, flash, mp)
        self.on_result(job.result)


def relight(
    inputs: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    *,
    recursive: bool = False,
    select: str = "fired",
    include_unknown: bool = False,
    method: str = DEFAULT_METHOD,
    weights: str | os.PathLike | None = None,
    options: dict[str, Any] | None = None,
    enhancer: Enhancer | None = None,
    device: str | torch.device = "auto",
    working_size: int | str | None = None,
    template: str = DEFAULT_TEMPLATE,
    format: str | None = None,
    quality: int = 95,
    bit_depth: int = 8,
    overwrite: bool = False,
    dry_run: bool = False,
    workers: int | None = None,
    max_pixels: int | None = None,
    batch_size: int = 4,
    amp: bool = True,
    tile: int | None = None,
    overlap: int | None = None,
    on_plan: Callable[[list[Job]], None] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> RelightReport:
    """Relight every flash-fired photo of ``inputs`` into ``output_dir``; see the module doc.

    ``select`` is ``"fired"`` (default) or ``"all"``. ``enhancer`` (a ready
    :class:`~flashcli.enhancer.Enhancer`) replaces ``method``/``weights``/``options``.
    ``working_size``: long side in pixels, ``"full"``, or None for the method's own
    ``working_size`` (full resolution when it has none). ``on_plan`` sees the plan before
    any pixel is decoded, ``on_result`` each file as it finishes.
    """
    start = time.perf_counter()
    if bit_depth not in (8, 16):
        raise FlashcliError(f"--bit-depth {bit_depth}: use 8 or 16")
    if bit_depth == 16 and format and output_format(Path("x"), format) != "tiff":
        raise FlashcliError(f"--bit-depth 16: {format} is 8-bit only; use --format tiff")
    if not 1 <= int(quality) <= 100:
        raise FlashcliError(f"--quality {quality}: use 1 to 100")
    sources = discover(inputs, recursive)
    if not sources:
        raise FlashcliError(f"{', '.join(map(os.fspath, inputs))}: no photos found "
                            "(JPEG, PNG, TIFF or RAW); use --recursive for subfolders")
    if enhancer is not None:
        kind: Any = enhancer
    else:  # validate the method and its options now; build it only when there is work
        from flashcli.enhancer import resolve_options
        from flashcli.plugins import registry

        kind = registry().get(method).cls
        resolve_options(kind, options or {})
    name = kind.name
    size = resolve_working_size(working_size, kind)
    workers = max(1, workers or min(4, os.cpu_count() or 1))
    dev = enhancer.device if enhancer is not None else resolve_device(device)
    report = RelightReport(method=name, working_size=size, dry_run=dry_run, device=str(dev))
    timer = _Timer(dev)
    with ThreadPoolExecutor(workers, thread_name_prefix="flashcli-io") as pool:
        jobs = plan(sources, output_dir, template=template, format=format, bit_depth=bit_depth,
                    method=name, select=select, include_unknown=include_unknown,
                    overwrite=overwrite, pool=pool)
        if on_plan is not None:
            on_plan(jobs)
        todo = [j for j in jobs if j.result is None]
        if dry_run:
            for j in todo:
                assert j.meta is not None
                _, why = flash_fate(j.meta, select, include_unknown)
                j.result = FileResult(j.source.path, j.output, WOULD_PROCESS, why,
                                      j.meta.flash.fired_text, _megapixels(j))
        elif todo:
            if enhancer is None:
                from flashcli.methods import create_enhancer

                enhancer = create_enhancer(method, options, weights, dev)
            _Runner(enhancer, size, quality=quality, bit_depth=bit_depth, max_pixels=max_pixels,
                    batch_size=batch_size, amp=amp, tile=tile, overlap=overlap, pool=pool,
                    workers=workers, timer=timer,
                    on_result=on_result or (lambda r: None)).run(todo)
    report.files = [j.result for j in jobs if j.result is not None]
    report.timings = {**timer.totals, "wall": time.perf_counter() - start}
    return report
