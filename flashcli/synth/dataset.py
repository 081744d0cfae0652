"""Write rendered pairs in the paired layout of docs/method.md, "Data: FAID", plus a preview sheet."""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from flashcli.errors import FlashcliError, UsageError
from flashcli.io.fsutil import atomic_path
from flashcli.io.imageio import verify_image, write_image
from flashcli.runtime.device import resolve_device
from flashcli.runtime.progress import ProgressFn, report
from flashcli.synth import resume
from flashcli.synth.compose import CATEGORIES
from flashcli.synth.render import KINDS, RENDERER_VERSION, RenderedPair, check_kind, render_pair
from flashcli.synth.textures import BUILTIN, builtin_photos, photo_textures

MANIFEST = "synth.json"
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")

log = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    """``"320x240"`` -> (320, 240) (width, height)."""
    m = _SIZE.match(str(text))
    if not m:
        raise UsageError(f"--size {text}: expected WIDTHxHEIGHT, e.g. 320x240")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        raise UsageError(f"--size {text}: each side must be 16..4096 pixels")
    return w, h


def test_count(pairs: int, test_fraction: float) -> int:
    """How many of ``pairs`` go to the test split: at least one (and one left to train) when
    the fraction is positive and there are two pairs or more."""
    if test_fraction <= 0 or pairs < 2:
        return 0
    return min(max(1, round(pairs * test_fraction)), pairs - 1)


def stem(category: str, index: int, pairs: int) -> str:
    """File stem of pair ``index``: ``<Category>_<NNN>``."""
    return f"{category}_{index:0{max(3, len(str(pairs - 1)))}d}"


def write_png(path: Path, image: torch.Tensor) -> None:
    """Write a uint8 3 x H x W tensor as PNG, atomically."""
    array = image.detach().to("cpu").permute(1, 2, 0).contiguous().numpy()
    check = functools.partial(verify_image, fmt="PNG", size=(array.shape[1], array.shape[0]))
    with atomic_path(path, verify=check) as tmp:
        Image.fromarray(array).save(tmp, format="PNG", compress_level=4)


_PREVIEW_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}


def check_preview(preview: Path, overwrite: bool) -> None:
    """Refuse a preview path that exists (without ``overwrite``), is a folder or names no
    image format; checked before anything is rendered."""
    if preview.suffix.lower() not in _PREVIEW_FORMATS:
        raise FlashcliError(f"{preview}: cannot tell the image format from "
                            f"{preview.suffix or 'no extension'!r}; name the preview .png, .jpg or .tif")
    if preview.is_dir():
        raise FlashcliError(f"{preview}: is a folder; give a file name for the preview")
    if (preview.exists() or preview.is_symlink()) and not overwrite:
        raise FlashcliError(f"{preview}: exists; choose another name or pass --overwrite to replace it")


def write_preview(preview: Path, sheet: torch.Tensor) -> None:
    """Write the uint8 preview sheet in the format its name says."""
    write_image(preview, sheet.float() / 255.0, format=_PREVIEW_FORMATS[preview.suffix.lower()])


def preview_sheet(pairs: list[tuple[str, RenderedPair]], columns: int = 2) -> torch.Tensor:
    """Pairs side by side (flash | ambient), ``columns`` pairs per row, labelled: uint8 3 x H x W."""
    if not pairs:
        raise ValueError("no pairs to preview")
    _, first = pairs[0]
    h, w = first.flash.shape[1:]
    gap = 6
    rows = (len(pairs) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (2 * w + 3 * gap), rows * (h + gap) + gap), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(10, h // 18))
    for i, (name, pair) in enumerate(pairs):
        x = (i % columns) * (2 * w + 3 * gap) + gap
        y = (i // columns) * (h + gap) + gap
        for j, img in enumerate((pair.flash, pair.ambient)):
            sheet.paste(Image.fromarray(img.cpu().permute(1, 2, 0).numpy()), (x + j * (w + gap), y))
        for j, label in enumerate((f"{name} flash", "ambient")):
            draw.text((x + j * (w + gap) + 4, y + 3), label, fill=(255, 255, 255), font=font,
                      stroke_width=2, stroke_fill=(0, 0, 0))
    return torch.from_numpy(np.array(sheet)).permute(2, 0, 1).contiguous()


@contextlib.contextmanager
def _threads_for(device: torch.device) -> Iterator[None]:
    """One intra-op thread while rendering on the CPU: the images' tensors are small, and extra
    threads only spin (badly so on a busy machine). The previous setting is restored."""
    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _existing(out: Path) -> list[Path]:
    return [p for split in ("train", "test") if (out / split).is_dir()
            for p in (out / split).iterdir() if re.search(r"_(flash|ambient)\.(png|jpe?g|tiff?)$", p.name, re.I)]


def _clear_previous(out: Path, old: list[Path]) -> None:
    """Remove the pairs an earlier ``render_dataset`` wrote (so none is left over from a run
    with other pairs); refuse when OUT holds paired images it did not write."""
    ours = re.compile(rf"^({'|'.join(CATEGORIES)})_\d+_(flash|ambient)\.png$")
    foreign = [p for p in old if not ours.match(p.name)]
    if foreign or not (out / MANIFEST).is_file():
        example = (foreign or old)[0]
        raise FlashcliError(f"{example}: {out} holds paired images that flashcli synth did not write; "
                            "choose an empty folder")
    for p in old:
        p.unlink()


def _photos(folder: str | None) -> tuple[torch.Tensor, ...]:
    """The --textures photos, read once per process (again when the folder changes)."""
    if folder is None:
        return ()
    if folder == BUILTIN:
        return _builtin_cached()
    return _photos_cached(folder, Path(folder).stat().st_mtime_ns if Path(folder).is_dir() else 0)


@functools.lru_cache(maxsize=2)
def _photos_cached(folder: str, stamp: int) -> tuple[torch.Tensor, ...]:
    return tuple(photo_textures(folder))


@functools.lru_cache(maxsize=1)
def _builtin_cached() -> tuple[torch.Tensor, ...]:
    photos = tuple(builtin_photos())
    if not photos:
        log.warning("synth: scikit-image is not installed, so the scenes use procedural textures only; "
                    "pip install scikit-image for real photographs on their surfaces, or pass --textures DIR")
    return photos


def _texture_source(textures: str | Path | None) -> tuple[str | None, dict | None]:
    """``textures`` (``"builtin"``, ``"none"``/None or a folder) as the value the workers get and
    the record synth.json keeps; a bad folder fails here, before anything is written."""
    if textures is None or str(textures) == "none":
        return None, None
    if str(textures) == BUILTIN:
        n = len(_photos(BUILTIN))
        return (BUILTIN, {"builtin": "scikit-image sample photos", "photos": n}) if n else (None, None)
    folder = str(Path(textures).resolve())
    return folder, {"folder": folder, "photos": len(_photos(folder))}


def _render_one(seed: int, index: int, pairs: int, split: str, size: tuple[int, int], device: str,
                misalign: float, out: Path, keep: bool, textures: str | None = None,
                kind: str | None = None) -> tuple[int, str, str, RenderedPair | None, str]:
    """Render pair ``index`` and write its two PNGs (also run in worker processes)."""
    pair = render_pair(seed, index, size, device, misalign, photos=_photos(textures), kind=kind)
    name = stem(pair.category, index, pairs)
    write_png(out / split / f"{name}_flash.png", pair.flash)
    write_png(out / split / f"{name}_ambient.png", pair.ambient)
    return index, pair.category, name, (pair if keep else None), pair.kind


def _worker_init() -> None:
    torch.set_num_threads(1)


#: Largest --misalign (pixels): the ambient camera turns by up to this much; more would
#: leave the pairs without a shared view (and non-finite values break the renderer).
MAX_MISALIGN = 64


def _check_request(out: Path, pairs: int, test_fraction: float, seed: int, misalign: float,
                   workers: int, preview: str | Path | None, overwrite: bool, kind: str = "mixed") -> None:
    """Refuse bad arguments before anything is rendered or written."""
    if kind not in (*KINDS, "mixed"):
        raise UsageError(f"--kind {kind}: use photo, faid or mixed")
    if pairs < 1:
        raise UsageError(f"--pairs {pairs}: render at least one pair")
    if not 0 <= test_fraction < 1:
        raise UsageError(f"--test-fraction {test_fraction}: use a value in [0, 1)")
    if seed < 0:
        raise UsageError(f"--seed {seed}: use a non-negative integer")
    if (isinstance(misalign, bool) or not isinstance(misalign, (int, float))
            or not 0 <= misalign <= MAX_MISALIGN):  # NaN fails the comparison too
        raise UsageError(f"--misalign {misalign}: use a number of pixels from 0 to {MAX_MISALIGN}")
    if workers < 1:
        raise UsageError(f"--workers {workers}: use 1 or more")
    if out.exists() and not out.is_dir():
        raise FlashcliError(f"{out}: is a file; give a folder for the rendered pairs")
    if preview is not None:
        check_preview(Path(preview), overwrite)
        _check_preview_outside_splits(Path(preview), out)


def _check_preview_outside_splits(preview: Path, out: Path) -> None:
    """Refuse a preview sheet inside OUT/train or OUT/test: the data set's readers would
    take it for a photo of the split (eval and train then fail on an unpaired image)."""
    where = preview.expanduser().resolve()
    for split in ("train", "test"):
        folder = (out.expanduser() / split).resolve()
        if where == folder or folder in where.parents:
            raise UsageError(f"--preview {preview}: lies inside the data set's {split}/ folder "
                             f"({folder}), where it would be read as a photo; write it beside "
                             f"the data set, e.g. --preview {out / 'preview.png'}")


def _check_preview_outside_textures(preview: Path, folder: str | None) -> None:
    """Refuse a preview sheet inside the --textures folder: every file there is an input
    (``--overwrite`` replaces pairs, never the user's photos)."""
    if folder is None or folder == BUILTIN:
        return
    where, photos = preview.expanduser().resolve(), Path(folder)
    if where == photos or photos in where.parents:
        raise UsageError(f"--preview {preview}: lies inside the --textures folder ({photos}), "
                         "whose photos are inputs; write it elsewhere, e.g. beside the data set")


def _manifest(seed: int, pairs: int, size: tuple[int, int], test_fraction: float, misalign: float,
              kind: str, kinds: Counter, textures: dict | None, counts: dict[str, Counter]) -> dict[str, Any]:
    """How a data set was made (``synth.json``)."""
    return {
        "renderer": "flashcli.synth", "renderer_version": RENDERER_VERSION, "seed": seed,
        "pairs": pairs, "size": f"{size[0]}x{size[1]}", "test_fraction": test_fraction,
        "misalign": misalign, "kind": kind, "kinds": dict(sorted(kinds.items())), "textures": textures,
        "train": sum(counts["train"].values()), "test": sum(counts["test"].values()),
        "categories": {s: dict(sorted(c.items())) for s, c in counts.items()},
    }


def render_dataset(out: str | Path, pairs: int, size: tuple[int, int] = (320, 240), seed: int = 0,
                   test_fraction: float = 0.1, device: str | torch.device = "auto", misalign: float = 0.0,
                   progress: ProgressFn | None = None, preview: str | Path | None = None, preview_pairs: int = 6,
                   overwrite: bool = False, workers: int = 1, textures: str | Path | None = BUILTIN,
                   kind: str = "mixed") -> dict[str, Any]:
    """Render ``pairs`` flash/ambient pairs into ``out/train`` and ``out/test``.

    Pair ``i`` depends only on (``seed``, ``i``); the last ``test_count(pairs, test_fraction)``
    pairs form the test split. Writes ``out/synth.json`` (how the set was made) and, with
    ``preview``, a sheet of the first ``preview_pairs`` pairs. With ``overwrite``, the pairs of an
    earlier run in ``out`` are removed first. On the CPU, ``workers`` > 1 renders in that many
    processes (same files). ``textures``: photos on some surfaces: ``"builtin"`` (scikit-image's
    sample photographs, when it is installed), a folder of photos (the same folder gives the
    same files), or ``"none"``/None (procedural textures only). ``kind``: the flash frames are photographs with flash
    ("photo": flash plus the ambient light), FAID-style flash-only images ("faid"), or either,
    drawn per pair ("mixed", about half each). ``progress(stage, done, total)`` is called as
    pairs finish. Returns a summary.
    """
    out = Path(out)
    kind = kind or "mixed"
    _check_request(out, pairs, test_fraction, seed, misalign, workers, None, overwrite, kind)
    folder, texture_info = _texture_source(textures)
    wanted = resume.settings(RENDERER_VERSION, seed, pairs, size, test_fraction, misalign, kind,
                             texture_info)
    n_test = test_count(pairs, test_fraction)
    old = _existing(out)
    kept = resume.kept_pairs(out, old, wanted, n_test) if old and not overwrite else {}
    if preview is not None:  # a resumed run may replace the sheet its earlier run wrote
        again = bool(old) and not overwrite and resume.preview_allowed(out, preview)
        _check_request(out, pairs, test_fraction, seed, misalign, workers, preview, overwrite or again, kind)
        _check_preview_outside_textures(Path(preview), folder)
    dev = resolve_device(device)
    if old and overwrite:
        _clear_previous(out, old)
    counts, kinds = _tally(kept)
    shown = {k.index: (k.name, resume.load_pair(out, k)) for k in kept.values()
             if preview is not None and k.index < preview_pairs}
    jobs = {i: (seed, i, pairs, "test" if i >= pairs - n_test else "train", size, str(dev), misalign, out,
                preview is not None and i < preview_pairs, folder, check_kind(kind))
            for i in range(pairs) if i not in kept}
    workers = max(1, min(workers, len(jobs))) if dev.type == "cpu" else 1
    record = resume.Record(out, wanted, kept, None if preview is None else str(preview))
    start = time.perf_counter()
    try:
        record.flush()  # before the first pair: an interrupted run can be continued
        _render_jobs(jobs, workers, dev, len(kept), pairs, progress, counts, kinds, shown, record)
    finally:
        record.flush()
    seconds = time.perf_counter() - start
    manifest = _manifest(seed, pairs, size, test_fraction, misalign, kind, kinds, texture_info, counts)
    record.flush(final=manifest)
    if preview is not None:
        write_preview(Path(preview), preview_sheet([shown[i] for i in sorted(shown)]))
    rendered = max(1, len(jobs))
    return {**manifest, "out": str(out), "device": str(dev), "workers": workers, "seconds": round(seconds, 3),
            "seconds_per_pair": round(seconds / rendered, 4), "resumed": len(kept),
            "preview": None if preview is None else str(preview)}


def _tally(kept: dict[int, resume.Kept]) -> tuple[dict[str, Counter], Counter]:
    """Pairs per split and category, and per flash kind, of the pairs kept."""
    counts: dict[str, Counter] = {"train": Counter(), "test": Counter()}
    kinds: Counter = Counter()
    for k in kept.values():
        counts[k.split][k.category] += 1
        kinds[k.kind] += 1
    return counts, kinds


def _render_jobs(jobs: dict[int, tuple], workers: int, dev: torch.device, kept: int, pairs: int,
                 progress: ProgressFn | None, counts: dict[str, Counter], kinds: Counter,
                 shown: dict[int, tuple[str, RenderedPair]], record: resume.Record) -> None:
    """Render and write ``jobs`` (pair index -> arguments of ``_render_one``), recording each
    finished pair."""
    with _threads_for(dev), contextlib.ExitStack() as stack:
        report(progress, "rendering pairs", kept, pairs)
        if workers > 1:
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init))
            results = (f.result() for f in as_completed([pool.submit(_render_one, *job)
                                                         for job in jobs.values()]))
        else:
            results = (_render_one(*job) for job in jobs.values())
        for done, (index, category, name, pair, pair_kind) in enumerate(results, start=kept + 1):
            counts[jobs[index][3]][category] += 1
            kinds[pair_kind] += 1
            record.add(index, pair_kind)
            if pair is not None:
                shown[index] = (name, pair)
            report(progress, "rendering pairs", done, pairs)
