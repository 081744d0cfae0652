"""``flashcli info``: format, size, camera and flash status of photos."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from flashcli import console
from flashcli.cli import common_options
from flashcli.errors import FlashcliError
from flashcli.imageio import is_image_path, read_image, read_metadata


def collect_photos(paths: Iterable[str | Path], recursive: bool = False) -> list[Path]:
    """Files named directly, plus the image files in named folders (sorted, non-images and
    hidden files skipped; symlinked folders are not followed, so loops end), each once.
    Missing paths and broken symlinks are kept so that the caller reports them.
    """
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            walk = p.rglob("*") if recursive else p.iterdir()
            # Broken or looping symlinks named like photos are kept, so they are reported.
            found += sorted(f for f in walk if (f.is_file() or (f.is_symlink() and not f.exists()))
                            and is_image_path(f) and not f.name.startswith("."))
        else:
            found.append(p)
    return list(dict.fromkeys(found))  # each file once, first mention wins


def inspect_file(path: Path, *, check: bool = False, max_pixels: int | None = None) -> dict[str, Any]:
    """One row of ``flashcli info``: metadata, or ``error`` with the reason it is unreadable.

    ``check`` also decodes the pixels (finds truncated files; slower).
    """
    try:
        meta = read_image(path, max_pixels=max_pixels)[1] if check else read_metadata(path)
    except FlashcliError as e:
        return {"file": str(path), "error": e.format_message()}
    except Exception as e:  # a damaged file must not stop the batch
        return {"file": str(path), "error": f"{path}: {type(e).__name__}: {e}"}
    return {
        "file": str(path), "format": meta.format, "width": meta.width, "height": meta.height,
        "bit_depth": meta.bit_depth, "camera": meta.camera, "make": meta.make,
        "model": meta.model, "captured": meta.captured.isoformat() if meta.captured else None,
        "orientation": meta.orientation, "flash_fired": meta.flash.fired_text,
        "flash_mode": meta.flash.mode, "flash": meta.flash.to_dict(),
        "icc_profile": bool(meta.icc_profile), "error": None,
    }


def inspect_paths(paths: Iterable[str | Path], recursive: bool = False, *, check: bool = False,
                  max_pixels: int | None = None) -> list[dict[str, Any]]:
    """``flashcli info`` as data: one dict per photo (see :func:`inspect_file`)."""
    files = collect_photos(paths, recursive)
    rows = []
    with console.progress(transient=True) as bar:
        task = bar.add_task("reading", total=len(files))
        for f in files:
            rows.append(inspect_file(f, check=check, max_pixels=max_pixels))
            bar.advance(task)
    return rows


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="photos")
    for col in ("file", "format", "size", "camera", "flash fired", "flash mode"):
        table.add_column(col, overflow="fold")
    colour = {"yes": "yellow", "no": "cyan", "unknown": "dim"}
    for r in rows:
        if r["error"]:
            reason = r["error"].removeprefix(f"{r['file']}: ")
            table.add_row(r["file"], "[red]unreadable[/red]", "", "", "", reason)
            continue
        fired = r["flash_fired"]
        table.add_row(r["file"], f"{r['format']} {r['bit_depth']}-bit",
                      f"{r['width']}x{r['height']}", r["camera"] or "-",
                      f"[{colour[fired]}]{fired}[/{colour[fired]}]", r["flash_mode"] or "-")
    return table


@click.command("info")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-r", "--recursive", is_flag=True, help="Look inside sub-folders too.")
@click.option("--check", is_flag=True, help="Decode every photo to find damaged files (slower).")
@click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
              help="Allow images up to N pixels when decoding (decompression-bomb limit).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@common_options
def command(paths: tuple[Path, ...], recursive: bool, check: bool, max_pixels: int | None,
            as_json: bool) -> None:
    """Show format, pixel size, camera and whether the flash fired (EXIF) for PATHS.

    PATHS are photos or folders of photos (JPEG, PNG, TIFF, camera RAW).
    """
    rows = inspect_paths(paths, recursive, check=check, max_pixels=max_pixels)
    if not rows:
        raise FlashcliError(f"{', '.join(map(str, paths))}: no photos found; pass image files "
                            "or folders holding them (add --recursive for sub-folders)")
    if as_json:
        console.print_json(rows)
    else:
        console.out().print(_table(rows))
        ok = [r for r in rows if not r["error"]]
        counts = {k: sum(r["flash_fired"] == k for r in ok) for k in ("yes", "no", "unknown")}
        console.info(f"{len(ok)} photos: flash fired in {counts['yes']}, not in {counts['no']}, "
                     f"unknown for {counts['unknown']}")
    bad = [r for r in rows if r["error"]]
    if bad:
        raise FlashcliError(f"{len(bad)} of {len(rows)} files could not be read: "
                            + ", ".join(Path(r["file"]).name for r in bad))
