"""Plan a relight from EXIF alone (no pixels decoded): each photo's output (the input tree
mirrored under the output folder, a name template, a format) and its fate (process, skip:
no flash / unknown flash / exists, fail)."""

from __future__ import annotations

import os
import string
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flashcli.decodefail import is_out_of_memory, max_pixels_fix, out_of_memory
from flashcli.errors import FlashcliError, UsageError
from flashcli.exif import written_by_flashcli
from flashcli.fsutil import safe_name
from flashcli.imageio import ImageMemoryError, PhotoMeta, is_image_path, read_metadata
from flashcli.relight.discover import Source
from flashcli.relight.report import (
    FAILED,
    SKIP_EXISTS,
    SKIP_NO_FLASH,
    SKIP_OURS,
    SKIP_UNKNOWN,
    FileResult,
)

DEFAULT_TEMPLATE = "{stem}_ambient.{ext}"
TEMPLATE_FIELDS = ("stem", "name", "ext", "inext", "method")
FORMATS = ("jpeg", "png", "tiff")

_EXT = {"jpeg": "jpg", "png": "png", "tiff": "tif"}
_FORMAT_NAMES = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "tiff": "tiff", "tif": "tiff"}
_SUFFIX_FORMAT = {".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".png": "png",
                  ".tif": "tiff", ".tiff": "tiff"}


def output_format(source: Path, format: str | None, bit_depth: int = 8) -> str:
    """``jpeg``, ``png`` or ``tiff``: ``format`` if given; else TIFF for 16-bit output, the
    input's format for PNG and TIFF inputs, JPEG for JPEG, RAW and anything else."""
    if format:
        fmt = _FORMAT_NAMES.get(format.strip().lower())
        if fmt is None:
            raise UsageError(f"--format {format}: unknown format; use jpeg, png or tiff")
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
        raise UsageError(f"--template {template!r}: {exc}; e.g. '{DEFAULT_TEMPLATE}'") from None
    unknown = sorted(fields - set(TEMPLATE_FIELDS))
    if unknown:
        valid = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        raise UsageError(f"--template {template!r}: unknown field {', '.join(unknown)}; use {valid}")
    try:  # format specs and conversions ({stem:d}, {stem!z}) fail only when applied
        template.format(**{f: "x" for f in TEMPLATE_FIELDS})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, MemoryError,
            OverflowError) as exc:
        raise UsageError(f"--template {template!r}: {exc or type(exc).__name__}; use plain fields like "
                            f"'{DEFAULT_TEMPLATE}'") from None
    if "/" in template or "\\" in template or not template.strip():
        raise UsageError(f"--template {template!r}: must be a file name (no folders)")


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
    #: The look applied (camera and spatial parts, see flashcli.look), once relit.
    look: dict | None = None
    #: Why an existing output is made again (its recorded settings differ; see
    #: flashcli.relight.manifest), or None.
    redo: str | None = None


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


def _reason(exc: BaseException, job: Job | None = None) -> str:
    """One line for a photo that failed: the error's message, or its type and first line
    (a bug); running out of memory names the photo, its size and ``--max-pixels``."""
    if isinstance(exc, ImageMemoryError):
        return out_of_memory(exc.path, exc.width, exc.height, max_pixels_fix(exc.width, exc.height))
    if job is not None and job.meta is not None and is_out_of_memory(exc):
        w, h = job.meta.width, job.meta.height
        return out_of_memory(job.source.path, w, h, max_pixels_fix(w, h))
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
    method: str = "",
    select: str = "fired",
    include_unknown: bool = False,
    overwrite: bool = False,
    pool: ThreadPoolExecutor | None = None,
    include_relit: bool = False,
) -> list[Job]:
    """Decide each photo's output and fate from its EXIF. Jobs with ``result`` set are
    already settled (skipped or failed); the others are to be processed, with their
    metadata in ``meta`` (so the run does not parse EXIF again).

    Files that are the planned output of another input (a previous run writing into the
    input folder) are left out, and nothing is ever planned onto an input file. Files
    flashcli wrote (EXIF Software) are skipped unless ``include_relit``.
    """
    if select not in ("fired", "all"):
        raise ValueError(f"select must be 'fired' or 'all', not {select!r}")
    check_template(template)
    out_dir = Path(output_dir).expanduser()
    jobs = []
    for src in sources:
        fmt = output_format(src.path, format, bit_depth)
        jobs.append(Job(src, output_path(src, out_dir, template, fmt, method), fmt))
    refuse_impossible_outputs(jobs, template, out_dir, overwrite)
    planned = {j.output.resolve(): j for j in jobs}
    # Previous outputs of *other* inputs are left out (refuse_impossible_outputs made sure
    # they are flashcli's); a photo whose own output would be itself was refused.
    jobs = [j for j in jobs if planned.get(j.source.path.resolve(), j) is j
            and not _inside_output(j.source, out_dir)]
    inputs = {j.source.path.resolve() for j in jobs}
    paths = [j.source.path for j in jobs]
    metas = list(pool.map(_read_meta, paths) if pool else map(_read_meta, paths))
    claimed: dict[Path, Path] = {}
    for job, meta in zip(jobs, metas, strict=True):
        if isinstance(meta, Exception):
            job.result = FileResult(job.source.path, None, FAILED, _reason(meta))
        else:
            job.meta = meta
            job.result = _settle(job, inputs, claimed, select, include_unknown, overwrite,
                                 include_relit)
    return jobs


def refuse_impossible_outputs(jobs: Sequence[Job], template: str, out_dir: Path,
                              overwrite: bool = False) -> None:
    """Refuse, before anything is read or written, a template that cannot work for these
    photos (exit 2): outputs without an extension (nothing could tell their format, and a
    later run could not find them), an extension that is not the output's format, a result
    named exactly like its own photo, or (with ``overwrite``) like another input that
    flashcli did not write (without it, that file is an existing output, kept)."""
    fix = f"use a template that changes the name, e.g. '{DEFAULT_TEMPLATE}', or another -o folder"
    for job in jobs:
        suffix = job.output.suffix.lower()
        if not suffix or not is_image_path(job.output):
            raise UsageError(
                f"--template {template!r}: names the result of {job.source.path.name} "
                f"{job.output.name!r}, which lacks a .jpg, .png or .tif extension: other "
                "programs could not tell its format and flashcli would not find it again; "
                f"end the template with '.{{ext}}', e.g. '{DEFAULT_TEMPLATE}'")
        if _SUFFIX_FORMAT.get(suffix) != job.format:
            other = _SUFFIX_FORMAT.get(suffix)
            raise UsageError(
                f"--template {template!r}: the result of {job.source.path.name} is a "
                f"{job.format.upper()} file, but the template names it {job.output.name!r}; "
                "end the template with '.{ext}'"
                + (f", or pass --format {other}" if other else ""))
        if job.output.resolve() == job.source.path.resolve():
            raise UsageError(
                f"--template {template!r} with -o {out_dir}: names each result exactly like "
                f"its photo ({job.source.path}), so it would overwrite it; {fix}")
    inputs = {j.source.path.resolve(): j for j in jobs} if overwrite else {}
    for job in jobs:
        other = inputs.get(job.output.resolve())
        if other is not None and other is not job and not _ours(other.source.path):
            raise UsageError(
                f"--template {template!r} with -o {out_dir}: the result of "
                f"{job.source.path.name} would be {other.source.path}, one of the input "
                f"photos; {fix}")


def _ours(path: Path) -> bool:
    """True for a file flashcli wrote (an earlier result); False when unreadable."""
    meta = _read_meta(path)
    return not isinstance(meta, Exception) and bool(written_by_flashcli(meta))


def mark_dropped(jobs: Sequence[Job]) -> None:
    """Note on each relit photo's result what its output does not keep (alpha, greyscale)."""
    for job in jobs:
        if job.meta is None or job.result is None or job.result.output is None:
            continue
        if job.meta.alpha:
            job.result.dropped = "alpha channel dropped (the output is opaque)"
        elif job.meta.grey:
            job.result.dropped = "greyscale, written as colour (RGB)"


def _settle(job: Job, inputs: set[Path], claimed: dict[Path, Path], select: str,
            include_unknown: bool, overwrite: bool, include_relit: bool = False) -> FileResult | None:
    """The result of a photo that is not to be processed, or None."""
    src, meta = job.source.path, job.meta
    assert meta is not None
    flash = meta.flash.fired_text
    target = job.output.resolve()
    if target in inputs:
        return FileResult(src, job.output, FAILED, f"{job.output}: would overwrite an "
                          "input photo; choose another -o folder or --template", flash)
    if target in claimed:
        return FileResult(src, job.output, FAILED, f"{job.output}: also the output of "
                          f"{claimed[target]}; use --template '{{stem}}_{{inext}}_ambient.{{ext}}'",
                          flash)
    claimed[target] = src
    ours = written_by_flashcli(meta)
    if ours and not include_relit:
        return FileResult(src, None, SKIP_OURS, f"written by flashcli (EXIF Software: {ours}); "
                          "--include-relit relights it again", flash)
    skip, why = flash_fate(meta, select, include_unknown)
    if skip is not None:
        return FileResult(src, None, skip, why, flash)
    if job.output.exists() and not overwrite:
        return FileResult(src, job.output, SKIP_EXISTS, "output exists; --overwrite replaces it",
                          flash)
    return None
