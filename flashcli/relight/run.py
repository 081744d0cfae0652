"""Run a planned relight: decoding and encoding in a thread pool while the device works.

The method runs on a working-size copy and its per-pixel gain is carried to full resolution
by the fast guided filter (:mod:`flashcli.ops.upsample`), or, with ``working_size="full"``, on the
full image in blended tiles (:mod:`flashcli.ops.tiling`), or whole for a method that reads the
whole frame. Failures of single files are collected in the report; the run goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli import plugins
from flashcli.enhancer import DEFAULT_TILE as DEFAULT_TILE  # re-exported by flashcli.relight
from flashcli.enhancer import (
    Enhancer,
    full_resolution_tiles,
    resolve_options,
    resolve_working_size,
)
from flashcli.errors import FlashcliError, UsageError
from flashcli.io.imageio import PhotoMeta, decode_pixels, pixels_to_tensor, write_image
from flashcli.methods import create_enhancer, weights_info
from flashcli.ops.look import Look, apply_look
from flashcli.relight import manifest
from flashcli.relight.discover import Ignored, discover, no_photos_message
from flashcli.relight.plan import (
    DEFAULT_TEMPLATE,
    Job,
    check_bit_depth,
    failure,
    mark_dropped,
    megapixels,
    plan,
)
from flashcli.relight.report import (
    FAILED,
    PROCESSED,
    REDONE,
    SKIP_EXISTS,
    UNKNOWN_SETTINGS,
    WOULD_PROCESS,
    FileResult,
    RelightReport,
)
from flashcli.relight.sheet import SheetCollector, parse_exposures, parse_strengths, sheet_format
from flashcli.runtime.device import check_device_spec, resolve_device
from flashcli.runtime.lazy import lazy_module

# torch and the modules that import it load on first use: relight() starts decoding the first
# photos (Pillow and NumPy only) before it imports torch, so the two overlap.
if TYPE_CHECKING:
    import torch

    from flashcli.ops import tiling, upsample
else:
    torch = lazy_module("torch")
    tiling = lazy_module("flashcli.ops.tiling")
    upsample = lazy_module("flashcli.ops.upsample")

#: Full-resolution megapixels held by one batch, and decoded ahead of the device (memory
#: guards for 50 MP photos: one megapixel is 12 MB as float32).
BATCH_MEGAPIXELS = 100.0
IN_FLIGHT_MEGAPIXELS = 200.0


@dataclass
class RelightConfig:
    """How to relight (every setting of :func:`relight` but the inputs and callbacks).

    ``select`` is ``"fired"`` (default) or ``"all"``. ``method`` None is the installed
    method whose ``default_for`` names relight. ``working_size``: long side in pixels (an
    int or its text), ``"full"``, or None for the method's own ``working_size`` (full
    resolution when it has none).
    """

    recursive: bool = False
    select: str = "fired"
    include_unknown: bool = False
    include_relit: bool = False
    method: str | None = None
    weights: str | os.PathLike | None = None
    options: dict[str, Any] | None = None
    device: str | torch.device = "auto"
    working_size: int | str | None = None
    template: str = DEFAULT_TEMPLATE
    format: str | None = None
    quality: int = 95
    bit_depth: int = 8
    overwrite: bool = False
    dry_run: bool = False
    workers: int | None = None
    max_pixels: int | None = None
    batch_size: int = 4
    amp: bool = True
    tile: int | None = None
    overlap: int | None = None
    #: 0 leaves photos untouched, 1 applies the method's full change; the gain is
    #: interpolated in log space (see :mod:`flashcli.ops.look`).
    strength: float = 1.0
    #: EV added to the method's exposure.
    exposure: float = 0.0
    #: ``"auto"`` (the method's), ``"flash"`` (the photo's colour) or kelvin.
    white_balance: str | float = "auto"
    #: A JPEG or PNG of the first ``sheet_rows`` relit photos before and after, at each of
    #: ``sheet_strengths`` (text ``0.5,1`` or numbers; see :mod:`flashcli.relight.sheet`)
    #: and each of ``sheet_exposures`` (values of ``exposure``; None: ``exposure`` only).
    contact_sheet: str | os.PathLike | None = None
    sheet_strengths: str | tuple[float, ...] | None = None
    sheet_rows: int = 6
    sheet_exposures: str | tuple[float, ...] | None = None

    @property
    def look(self) -> Look:
        return Look(float(self.strength), float(self.exposure), self.white_balance)

    def validate(self) -> RelightConfig:
        """This config checked, as a new one with its white balance parsed (this one is
        left as it is)."""
        check_device_spec(self.device)
        if self.method is not None and not (isinstance(self.method, str) and self.method.strip()):
            raise UsageError(f"--method {self.method!r}: empty method name; name one (see "
                             "`flashcli plugins`) or leave --method out for the default")
        white_balance = self.look.validate().white_balance
        check_bit_depth(self.format, self.bit_depth)
        if not 1 <= int(self.quality) <= 100:
            raise UsageError(f"--quality {self.quality}: use 1 to 100")
        strengths, exposures = self.sheet_strengths, self.sheet_exposures
        for option, value in (("--sheet-strengths", strengths), ("--sheet-exposures", exposures)):
            if value is not None and self.contact_sheet is None:
                raise UsageError(f"{option} {value}: it sets what the contact sheet shows; add "
                                 "--contact-sheet PATH")
        if self.contact_sheet is not None:
            sheet_format(self.contact_sheet)
            strengths, exposures = parse_strengths(strengths), parse_exposures(exposures)
        return dataclasses.replace(self, white_balance=white_balance, sheet_strengths=strengths,
                                   sheet_exposures=exposures)


class _Timer:
    """Accumulates seconds per stage (thread-safe enough: one writer per key at a time).
    ``device`` (set once known) is synchronised at the end of ``sync`` stages on CUDA."""

    def __init__(self) -> None:
        self.device: Any = None
        self.totals: dict[str, float] = {"decode": 0.0, "method": 0.0, "upsample": 0.0,
                                         "encode": 0.0}

    @contextlib.contextmanager
    def stage(self, name: str, sync: bool = False):
        start = time.perf_counter()
        try:
            yield
        finally:
            if sync and self.device is not None and self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - start


@contextlib.contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch intra-op threads (restored after). On a busy CPU, spare threads
    waiting for cores cost more than they give; the I/O pool uses the other cores."""
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != old:
            torch.set_num_threads(old)


class _Runner:
    """Runs the planned jobs: decode (threads) -> method + upsampling (device) -> encode (threads).

    ``start`` submits the first decodes before the method exists (while torch is imported
    and the weights load); ``attach`` hands it the method, ``run`` does the rest.
    """

    def __init__(self, working_size: int | str, config: RelightConfig, pool: ThreadPoolExecutor,
                 workers: int, timer: _Timer, on_result: Callable[[FileResult], None],
                 record: Callable[[Job], None] | None = None) -> None:
        self.record = record  # called in the worker as soon as an output is in place
        self.size = working_size
        self.config = config
        self.quality, self.bit_depth = config.quality, config.bit_depth
        self.max_pixels = config.max_pixels
        self.batch_size = max(1, config.batch_size)
        # 8-bit sources stay 8-bit on the gain path (no full-size float copy).
        self.keep_8bit = working_size != "full" and config.bit_depth == 8
        self.pool, self.timer, self.on_result = pool, timer, on_result
        self.encodes: deque[tuple[Job, float, Future]] = deque()
        self.workers = workers
        self.max_encodes = max(2, workers)
        self.look = config.look
        self.attached = False  # set by attach(): torch is loaded, workers convert to tensors
        self.pending: deque[tuple[Job, Future]] = deque()
        self.todo: deque[Job] = deque()
        self.batch: list[tuple[Job, torch.Tensor, PhotoMeta]] = []
        wants_sheet = config.contact_sheet is not None and not config.dry_run
        self.sheet = SheetCollector(config.sheet_rows) if wants_sheet else None

    def attach(self, enhancer: Enhancer) -> None:
        self.attached = True
        self.enhancer = enhancer
        self.device = enhancer.device
        self.amp = self.config.amp and self.device.type == "cuda"
        self.tile, self.overlap = full_resolution_tiles(enhancer, self.config.tile, self.config.overlap)

    # -- stages --------------------------------------------------------------------------

    def _decode(self, job: Job) -> tuple[Any, PhotoMeta]:
        """Pixels (Pillow / LibRaw / tifffile: no torch), as a tensor once torch is loaded;
        the decodes queued before that return arrays, converted by :meth:`_next_image`."""
        with self.timer.stage("decode"):
            arr, meta = decode_pixels(job.source.path, max_pixels=self.max_pixels, meta=job.meta,
                                      keep_8bit=self.keep_8bit)
            if self.attached:
                return pixels_to_tensor(arr, meta, keep_8bit=self.keep_8bit), meta
            return arr, meta

    def _encode(self, job: Job, image: torch.Tensor, meta: PhotoMeta) -> None:
        with self.timer.stage("encode"):
            # Full-resolution chroma at high quality: the point is to keep every detail.
            sub = "4:4:4" if job.format == "jpeg" and self.quality >= 90 else None
            write_image(job.output, image, meta, format=job.format, quality=self.quality,
                        bit_depth=self.bit_depth, protect=(job.source.path,), subsampling=sub)
        if self.record is not None:
            self.record(job)

    def _method(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.to(self.device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
            return self.enhancer(x)

    def _looked(self, flash: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, list[dict]]:
        """The user's look over the method's result for whole photos (see flashcli.ops.look)."""
        if self.sheet is not None:
            self.sheet.seen(flash, out)
        return apply_look(flash, out, self.look)

    # -- flow ----------------------------------------------------------------------------

    def _held(self) -> float:
        return (sum(megapixels(j) for j, _ in self.pending)
                + sum(megapixels(j) for j, _, _ in self.batch))

    def _fill(self) -> None:
        """Decode ahead in the pool, bounded by count and by megapixels."""
        ahead = self.workers + self.batch_size
        while self.todo and len(self.pending) < ahead:
            if (self.pending or self.batch) and self._held() + megapixels(self.todo[0]) > IN_FLIGHT_MEGAPIXELS:
                return
            job = self.todo.popleft()
            self.pending.append((job, self.pool.submit(self._decode, job)))

    def start(self, jobs: list[Job]) -> None:
        """Queue ``jobs`` and submit the first decodes."""
        self.todo.extend(jobs)
        self._fill()

    def cancel(self) -> None:
        """Drop the queued work and what was decoded (the method could not be built)."""
        for _, fut in self.pending:
            fut.cancel()
        self.pending.clear()
        self.todo.clear()
        self.batch = []

    def _next_image(self) -> tuple[Job, torch.Tensor, PhotoMeta] | None:
        """The oldest decode as an upright tensor, or None when it failed (reported)."""
        job, fut = self.pending.popleft()
        try:
            image, meta = fut.result()
            if not isinstance(image, torch.Tensor):  # decoded before torch was loaded
                with self.timer.stage("decode"):
                    image = pixels_to_tensor(image, meta, keep_8bit=self.keep_8bit)
        except Exception as exc:
            self._finish(job, FAILED, failure(exc, job))
            return None
        return job, image, meta

    def run(self) -> None:
        """Batch consecutive photos of the same working size, run them, queue their encodes."""
        self._fill()
        key = None
        while self.pending or self.todo:
            if not self.pending:  # the memory budget is held by the batch: run it first
                self._run_batch(self.batch)
                self.batch = []
                self._fill()
                continue
            item = self._next_image()
            if item is None:
                self._fill()
                continue
            k = self._batch_key(item[1])
            mp = sum(x.shape[-1] * x.shape[-2] for _, x, _ in self.batch) / 1e6
            if self.batch and (k != key or len(self.batch) >= self.batch_size or mp > BATCH_MEGAPIXELS):
                self._run_batch(self.batch)
                self.batch = []
            self.batch.append(item)
            key = k
            self._fill()
        if self.batch:
            self._run_batch(self.batch)
            self.batch = []
        while self.encodes:
            self._drain_one()

    def _batch_key(self, image: torch.Tensor) -> tuple:
        h, w = image.shape[-2:]
        if self.size == "full":
            return ("full", h, w)
        if max(h, w) <= self.size:
            return ("direct", h, w)
        return ("gain", *upsample.working_shape(h, w, self.size), image.dtype)

    def _run_batch(self, batch: list[tuple[Job, torch.Tensor, PhotoMeta]]) -> None:
        if self.sheet is not None:
            self.sheet.begin()
        try:
            results = self._compute([x for _, x, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not isinstance(exc, FlashcliError):
                for item in batch:  # retry one by one so one bad photo fails alone
                    self._run_batch([item])
                return
            for job, _, _ in batch:
                self._finish(job, FAILED, failure(exc, job))
            return
        if self.sheet is not None:
            self.sheet.keep([job for job, _, _ in batch])
        for (job, _, meta), (result, look) in zip(batch, results, strict=True):
            job.look = look
            self._queue_encode(job, result, meta)

    def _compute(self, images: list[torch.Tensor]) -> list[tuple[torch.Tensor, dict]]:
        """The relit full-resolution images (3 x H x W, CPU) and the look applied to each."""
        kind = self._batch_key(images[0])[0]
        if kind != "gain":
            images = [_as_float(x) for x in images]
        if kind == "direct":
            with self.timer.stage("method", sync=True):
                x = torch.stack(images).to(self.device)
                out, looks = self._looked(x, self._method(x))
            return [(o.cpu(), look) for o, look in zip(out, looks, strict=True)]
        if kind == "full":
            outs = []
            for x in images:
                with self.timer.stage("method", sync=True):
                    y = (self._method(x[None]) if self.tile is None else
                         tiling.run_tiled(self._method, x[None], self.tile, self.overlap,
                                          batch=self.batch_size, device=self.device))
                    y, looks = self._looked(x[None].to(y.device), y.clamp_(0.0, 1.0))
                outs.append((y[0].clamp_(0.0, 1.0).cpu(), looks[0]))
            return outs
        return self._gain_path(images)

    def _gain_path(self, images: list[torch.Tensor]) -> list[tuple[torch.Tensor, dict]]:
        """Downscale, run the method, carry its gain to full resolution, in place
        (:mod:`flashcli.ops.upsample` picks the 8-bit or the float path)."""
        h, w = images[0].shape[-2:]
        size = upsample.working_shape(h, w, self.size)
        with self.timer.stage("method", sync=True):
            full = upsample.to_device(images, self.device)
            lo_in = upsample.working_batch(full, size)
            lo_out, looks = self._looked(lo_in, self._method(lo_in))
        one_thread = torch_threads(1) if self.device.type == "cpu" else contextlib.nullcontext()
        with self.timer.stage("upsample", sync=True), one_thread:  # small band-sized ops
            outs = upsample.carry_gain(lo_in, lo_out, full, dtype=images[0].dtype)
            return [(y.cpu(), look) for y, look in zip(outs, looks, strict=True)]

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
            self._finish(job, FAILED, failure(exc, job))
            return
        self._finish(job, PROCESSED, "", mp)

    def _finish(self, job: Job, status: str, reason: str, mp: float = 0.0) -> None:
        flash = job.meta.flash.fired_text if job.meta else "unknown"
        done = status == PROCESSED
        if done and job.redo:
            status, reason = REDONE, job.redo
        job.result = FileResult(job.source.path, job.output if done else None,
                                status, reason, flash, mp, job.look if done else None)
        self.on_result(job.result)


def _as_float(image: torch.Tensor) -> torch.Tensor:
    """An 8-bit photo as float in [0, 1] (others as they are)."""
    return image.float().div_(255) if image.dtype == torch.uint8 else image


def _method_class(config: RelightConfig, enhancer: Enhancer | None) -> tuple[RelightConfig, Any]:
    """The config with its method named (the default one when it names none), and the
    enhancer or the class of that method with its options checked (the method is built only
    when there is work)."""
    if enhancer is not None:
        return config, enhancer

    reg = plugins.registry()  # looked up per call: tests swap in their own
    config = dataclasses.replace(config, method=config.method or reg.default_method("relight"))
    kind = reg.get(config.method).cls
    resolve_options(kind, config.options or {})
    return config, kind


def _weights_of(config: RelightConfig, enhancer: Enhancer | None) -> dict[str, Any] | None:
    if enhancer is not None:
        return getattr(enhancer, "weights_info", None)

    return weights_info(config.method, config.weights)


def _started(cfg: RelightConfig, kind: Any, enhancer: Enhancer | None, size: int | str,
             device: torch.device, todo: list[Job],
             on_start: Callable[[RelightReport], None] | None) -> RelightReport:
    """The (empty) report once the device and the weights are known; shown to ``on_start``."""
    report = RelightReport(method=kind.name, working_size=size, dry_run=cfg.dry_run, device=str(device),
                           strength=float(cfg.strength), look=cfg.look.describe())
    if todo:  # the weights matter (and must exist) only when there is work
        report.weights = _weights_of(cfg, enhancer)
    if on_start is not None:
        on_start(report)
    return report


def _relight_jobs(runner: _Runner, cfg: RelightConfig, enhancer: Enhancer | None,
                  device: torch.device, workers: int) -> None:
    if enhancer is None:

        enhancer = create_enhancer(cfg.method, cfg.options, cfg.weights, device)
    runner.attach(enhancer)
    cpu = enhancer.device.type == "cpu"
    threads = max(1, (os.cpu_count() or 1) - workers) if cpu else None
    with torch_threads(threads) if threads else contextlib.nullcontext():
        runner.run()


class _Fingerprints:
    """The settings fingerprint of each job's output (:mod:`flashcli.relight.manifest`);
    the weights are described (hashed) once, when first needed."""

    def __init__(self, cfg: RelightConfig, kind: Any, enhancer: Enhancer | None,
                 size: int | str) -> None:
        self.cfg, self.kind, self.enhancer, self.size = cfg, kind, enhancer, size
        self.base: dict[str, Any] | None = None

    def __call__(self, job: Job) -> dict[str, Any]:
        cfg = self.cfg
        if self.base is None:
            if self.enhancer is not None:
                options = dict(getattr(self.enhancer, "config", {}) or {})
            else:

                options = resolve_options(self.kind, cfg.options or {})
            self.base = {"method": self.kind.name, "options": options, "working_size": self.size,
                         "weights": _weights_of(cfg, self.enhancer)}
        return manifest.fingerprint(
            **self.base, strength=cfg.strength, exposure=cfg.exposure,
            white_balance=cfg.white_balance, format=job.format, quality=cfg.quality,
            bit_depth=cfg.bit_depth)


def check_settings(jobs: list[Job], output_dir: Path, fingerprints: Callable[[Job], dict]) -> None:
    """Existing outputs against the settings recorded for them: the same ones stay skipped,
    other ones are redone (``job.redo`` says what changed), unrecorded ones stay skipped as
    made with unknown settings."""
    existing = [j for j in jobs if j.result is not None and j.result.status == SKIP_EXISTS]
    recorded = manifest.load(output_dir) if existing else {}
    for job in existing:
        assert job.result is not None
        entry = recorded.get(manifest.key_of(job.output, output_dir))
        if entry is None:
            job.result.reason = UNKNOWN_SETTINGS
            continue
        now = fingerprints(job)
        if entry == now:
            job.result.reason = "output exists, made with the same settings; --overwrite replaces it"
        else:
            job.redo = f"settings changed: {manifest.differences(entry, now)}"
            job.result = None


def _dry_run(jobs: list[Job]) -> None:
    for j in jobs:
        assert j.meta is not None
        why = j.why
        if j.redo:
            why = f"{why}; {j.redo}"
        j.result = FileResult(j.source.path, j.output, WOULD_PROCESS, why,
                              j.meta.flash.fired_text, megapixels(j))


def _run_jobs(runner: _Runner, cfg: RelightConfig, kind: Any, enhancer: Enhancer | None,
              size: int | str, jobs: list[Job], todo: list[Job], workers: int,
              on_start: Callable[[RelightReport], None] | None,
              on_plan: Callable[[list[Job]], None] | None) -> RelightReport:
    if runner.sheet is not None:
        runner.sheet.check_target(cfg.contact_sheet, [j.source.path for j in jobs],
                                  [j.output for j in jobs if j.output is not None])
    if todo and not cfg.dry_run:
        runner.start(todo)  # the first decodes overlap torch's import and the weights' load
    try:
        # The device, resolved once for the run (this imports torch).
        device = enhancer.device if enhancer is not None else resolve_device(cfg.device)
        report = _started(cfg, kind, enhancer, size, device, todo, on_start)
        runner.timer.device = device
        if on_plan is not None:
            on_plan(jobs)
        if cfg.dry_run:
            _dry_run(todo)
        elif todo:
            _relight_jobs(runner, cfg, enhancer, device, workers)
        if runner.sheet is not None:  # None on a dry run
            report.contact_sheet = runner.sheet.write(
                    cfg.contact_sheet, cfg.sheet_strengths, cfg.look, (PROCESSED, REDONE),
                    protect=tuple(Path(j.source.path) for j in jobs), exposures=cfg.sheet_exposures)
    except BaseException:
        runner.cancel()
        raise
    return report


def relight(
    inputs: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    config: RelightConfig | None = None,
    *,
    enhancer: Enhancer | None = None,
    on_start: Callable[[RelightReport], None] | None = None,
    on_plan: Callable[[list[Job]], None] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    **settings: Any,
) -> RelightReport:
    """Relight every flash-fired photo of ``inputs`` into ``output_dir``; see the package doc.

    ``config`` (a :class:`RelightConfig`) and keyword ``settings`` (its fields, e.g.
    ``method="NAME"``) say how. ``enhancer`` (a ready
    :class:`~flashcli.enhancer.Enhancer`) replaces ``method``/``weights``/``options``.
    ``on_start`` sees the (empty) report once the plan, method, device and weights are known,
    ``on_plan`` the plan before any photo is relit (the first ones may be decoding already,
    while torch is imported), ``on_result`` each file as it finishes.
    """
    start = time.perf_counter()
    cfg = dataclasses.replace(config or RelightConfig(), **settings).validate()
    ignored: list[Ignored] = []
    sources = discover(inputs, cfg.recursive, ignored=ignored)
    if not sources:
        raise FlashcliError(no_photos_message(inputs, ignored, cfg.recursive))
    cfg, kind = _method_class(cfg, enhancer)
    size = resolve_working_size(cfg.working_size, kind)
    workers = max(1, cfg.workers or min(4, os.cpu_count() or 1))
    timer = _Timer()
    out_dir = Path(output_dir).expanduser()
    fingerprints = _Fingerprints(cfg, kind, enhancer, size)
    recorder = manifest.Recorder(out_dir)
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="flashcli-io") as pool:
            jobs = plan(sources, out_dir, template=cfg.template, format=cfg.format,
                        bit_depth=cfg.bit_depth, method=kind.name, select=cfg.select,
                        include_unknown=cfg.include_unknown, overwrite=cfg.overwrite, pool=pool,
                        include_relit=cfg.include_relit)
            check_settings(jobs, out_dir, fingerprints)
            todo = [j for j in jobs if j.result is None]
            runner = _Runner(size, cfg, pool, workers, timer, on_result or (lambda r: None),
                             record=lambda job: recorder.add(job.output, fingerprints(job)))
            report = _run_jobs(runner, cfg, kind, enhancer, size, jobs, todo, workers,
                               on_start, on_plan)
    finally:
        recorder.flush()  # after the pool: the encodes in flight are in place and recorded
    mark_dropped(jobs)
    report.files = [j.result for j in jobs if j.result is not None]
    report.ignored = ignored
    report.timings = {**timer.totals, "wall": time.perf_counter() - start}
    return report
