"""``flashcli info``: format, size, camera and flash status of photos (thin layer over
:mod:`flashcli.info`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.errors import FlashcliError
from flashcli.info import inspect_paths


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
    with console.ProgressBar(transient=True) as bar:
        rows = inspect_paths(paths, recursive, check=check, max_pixels=max_pixels, progress=bar)
    if not rows:
        raise FlashcliError(f"{', '.join(map(str, paths))}: no photos found; pass image files "
                            "or folders holding them (add --recursive for sub-folders)")
    if as_json:
        console.print_json(rows)
    elif not console.settings().quiet:  # -q: errors and warnings only
        console.out().print(_table(rows))
        ok = [r for r in rows if not r["error"]]
        counts = {k: sum(r["flash_fired"] == k for r in ok) for k in ("yes", "no", "unknown")}
        console.info(f"{len(ok)} photos: flash fired in {counts['yes']}, not in {counts['no']}, "
                     f"unknown for {counts['unknown']}")
    bad = [r for r in rows if r["error"]]
    if bad:
        raise FlashcliError(f"{len(bad)} of {len(rows)} files could not be read: "
                            + ", ".join(Path(r["file"]).name for r in bad))
