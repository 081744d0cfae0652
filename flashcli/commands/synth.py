"""``flashcli synth``: render synthetic flash/ambient pairs in the paired data-set layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    from flashcli.synth import dataset
else:  # imports torch
    dataset = lazy_module("flashcli.synth.dataset")


@click.command("synth")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--pairs", type=click.IntRange(min=1), default=100, show_default=True,
              help="How many pairs to render.")
@click.option("--size", default="320x240", show_default=True, metavar="WxH", help="Image size.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Pair i depends only on (seed, i).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1,
              show_default=True, help="Share of the pairs written to OUT/test (the last ones).")
@click.option("--misalign", type=float, default=0.0, show_default=True, metavar="PX",
              help="Turn the ambient camera by up to PX pixels, 0 to 64 (and a matching tiny roll).")
@click.option("--preview", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write a PNG sheet of the first pairs side by side.")
@click.option("--textures", default="builtin", show_default=True, metavar="DIR|builtin|none",
              help="Photos on some surfaces (posters, objects, covers, walls): the photos in DIR, "
                   "scikit-image's sample photographs (builtin), or procedural textures only (none).")
@click.option("--kind", type=click.Choice(["photo", "faid", "mixed"]), default="mixed", show_default=True,
              help="Flash frames: photographs with flash (flash + ambient light), FAID-style "
                   "flash-only images, or either per pair (about half each).")
@click.option("--overwrite", is_flag=True,
              help="Start over: remove the pairs already in OUT (default: continue an earlier run "
                   "with the same settings, keeping the pairs it finished).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Render in this many processes (CPU only; same files).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@common_options
def command(out: Path, pairs: int, size: str, seed: int, test_fraction: float, misalign: float,
            preview: Path | None, textures: str, kind: str, overwrite: bool, workers: int,
            as_json: bool) -> None:
    """Render synthetic flash/ambient pairs of indoor scenes into OUT/train and OUT/test.

    The flash frame has a point light beside the lens near 5500 K (hard sideways shadows,
    inverse-square fall-off, hot spots); the ambient frame lamps or windows (tungsten, LED,
    daylight, mixtures) at an absolute light level, with soft shadows. Each frame is
    auto-exposed within the phone's or camera's limits (a dim room's ambient frame comes out
    dark), gets sensor noise at its own ISO and is auto-white-balanced, then goes through a
    phone or camera tone curve to PNG.
    """
    with console.ProgressBar(enabled=not as_json) as bar:
        summary = dataset.render_dataset(out, pairs, dataset.parse_size(size), seed, test_fraction,
                                 console.settings().device, misalign, progress=bar,
                                 preview=preview, overwrite=overwrite, workers=workers,
                                 textures=textures, kind=kind)
    if as_json:
        console.print_json(summary)
        return
    if console.settings().quiet:  # -q: errors and warnings only
        return
    kept = f" ({summary['resumed']} kept from an earlier run)" if summary.get("resumed") else ""
    table = Table(title=f"rendered {summary['pairs']} pairs into {summary['out']}{kept}")
    for col in ("category", "train", "test"):
        table.add_column(col, justify="left" if col == "category" else "right")
    cats = sorted(set(summary["categories"]["train"]) | set(summary["categories"]["test"]))
    for cat in cats:
        table.add_row(cat, str(summary["categories"]["train"].get(cat, 0)),
                      str(summary["categories"]["test"].get(cat, 0)))
    table.add_row("[bold]all[/bold]", str(summary["train"]), str(summary["test"]))
    o = console.out()
    o.print(table)
    o.print(f"{summary['size']}, seed {summary['seed']}, renderer v{summary['renderer_version']}, "
            f"kinds {', '.join(f'{k} {n}' for k, n in summary['kinds'].items())}, "
            f"{summary['seconds_per_pair']:.3f} s per pair on {summary['device']}")
    if summary["preview"]:
        o.print(f"preview: {summary['preview']}")
