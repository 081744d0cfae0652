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

from flashcli.errors import UsageError
from flashcli.io.decodefail import photo_failure
from flashcli.io.exif import written_by_flashcli
from flashcli.io.fsutil import safe_name
from flashcli.io.imageio import (
    BIT_DEPTHS,
    OUTPUT_FORMATS,
    PhotoMeta,
    bit_depth_refusal,
    format_choices,
    format_for_bit_depth,
    is_image_path,
    output_format_named,
    output_format_of,
    read_metadata,
)
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
FORMATS = tuple(f.name for f in OUTPUT_FORMATS)
#: The output format of inputs that are not themselves an output format (RAW, HEIC, ...).
DEFAULT_FORMAT = "jpeg"


def output_format(source: Path, format: str | None, bit_depth: int = 8) -> str:
    """``jpeg``, ``png`` or ``tiff`` (:data:`flashcli.io.imageio.OUTPUT_FORMATS`): ``format``
    if given; else the one format that holds ``bit_depth`` (16: TIFF), the input's own
    format, JPEG for RAW and anything else."""
    if format:
        fmt = output_format_named(format)
        if fmt is None:
            raise UsageError(f"--format {format}: unknown format; use {format_choices()}")
        return fmt.name
    fmt = format_for_bit_depth(bit_depth) or output_format_of(source)
    return fmt.name if fmt is not None else DEFAULT_FORMAT


def check_bit_depth(format: str | None, bit_depth: int) -> None:
    """Refuse a ``--format`` that cannot hold ``--bit-depth`` (16-bit JPEG or PNG)."""
    if bit_depth not in BIT_DEPTHS:
        raise UsageError(f"--bit-depth {bit_depth}: use 8 or 16")
    deep = format_for_bit_depth(bit_depth)
    if not format or deep is None:
        return
    name = output_format(Path(), format)  # refuses an unknown format
    refusal = bit_depth_refusal(output_format_named(name), bit_depth)
    if refusal:
        raise UsageError(f"--bit-depth {bit_depth}: {format} is {refusal}; use --format {deep.name}")


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
    own = output_format_of(source.path)
    ext = suffix[1:] if own is not None and own.name == fmt else output_format_named(fmt).ext
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
    #: The look applied (camera and spatial parts, see flashcli.ops.look), once relit.
    look: dict | None = None
    #: Why the photo is relit (its flash state and the selection), once planned.
    why: str = ""
    #: Why an existing output is made again (its recorded settings differ; see
    #: flashcli.relight.manifest), or None.
    redo: str | None = None


def _inside_output(source: Source, out_dir: Path) -> bool:
    """True for a file inside an output folder nested in the input tree (earlier results)."""
    real, out = source.path.resolve(), out_dir.resolve()
    root = real.parents[len(source.rel.parts) - 1]
    return out != root and root in out.parents and out in real.parents


def megapixels(job: Job) -> float:
    """The photo's size in megapixels (0 when its metadata could not be read)."""
    return job.meta.width * job.meta.height / 1e6 if job.meta else 0.0


def _read_meta(path: Path) -> PhotoMeta | Exception:
    try:
        return read_metadata(path)
    except Exception as exc:  # reported per file
        return exc


def failure(exc: BaseException, job: Job | None = None) -> str:
    """One line for a photo that failed (:func:`flashcli.io.decodefail.photo_failure`): running
    out of memory names the photo, its size and ``--max-pixels``."""
    if job is not None and job.meta is not None:
        return photo_failure(exc, job.source.path, job.meta.width, job.meta.height)
    return photo_failure(exc)


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
            job.result = FileResult(job.source.path, None, FAILED, failure(meta))
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
        named = output_format_of(job.output)
        if named is None or named.name != job.format:
            other = named.name if named is not None else None
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
    job.why = why
    if job.output.exists() and not overwrite:
        return FileResult(src, job.output, SKIP_EXISTS, "output exists; --overwrite replaces it",
                          flash)
    return None
