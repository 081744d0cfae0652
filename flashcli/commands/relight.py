"""``flashcli relight``: relight a whole shoot at full resolution (thin layer over
:func:`flashcli.relight.relight`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.progress import ProgressColumn
from rich.table import Table
from rich.text import Text

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.errors import FlashcliError
from flashcli.io.imageio import BIT_DEPTHS, FORMAT_NAMES
from flashcli.relight import (
    DEFAULT_TEMPLATE,
    FAILED,
    PROCESSED,
    SKIP_EXISTS,
    SKIP_NO_FLASH,
    SKIP_OURS,
    SKIP_UNKNOWN,
    WOULD_PROCESS,
    FileResult,
    Job,
    RelightReport,
)
from flashcli.relight.report import REDONE, UNKNOWN_SETTINGS
from flashcli.runtime.lazy import lazy_module
from flashcli.selection import one_method

if TYPE_CHECKING:
    from flashcli.relight import run as relight_run
else:  # --help and --dry-run plan without it
    relight_run = lazy_module("flashcli.relight.run")

_LABELS = {PROCESSED: "processed", REDONE: "redone: settings changed",
           WOULD_PROCESS: "would process", SKIP_NO_FLASH: "skipped: no flash",
           SKIP_UNKNOWN: "skipped: unknown flash", SKIP_OURS: "skipped: flashcli output",
           SKIP_EXISTS: "skipped: exists", FAILED: "failed"}
_UNKNOWN_LABEL = "skipped: unknown settings"
_STYLES = {PROCESSED: "green", REDONE: "green", WOULD_PROCESS: "cyan", FAILED: "bold red"}


class _Throughput(ProgressColumn):
    """Megapixels per second since the bar started."""

    def render(self, task) -> Text:
        mp = task.fields.get("mp", 0.0)
        elapsed = task.elapsed or 0.0
        return Text(f"{mp / elapsed:5.1f} MP/s" if elapsed > 0 else "  -.- MP/s", style="cyan")


def _summary(report: RelightReport) -> Table:
    title = "relight (dry run)" if report.dry_run else "relight"
    table = Table(title=f"{title}: {report.method} on {report.device}, working size {report.working_size}")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    unknown = len(report.unknown_settings)
    for status, n in report.counts().items():
        if status == SKIP_EXISTS:  # kept as made with unknown settings: a row of their own
            n -= unknown
        if n or status in ((WOULD_PROCESS,) if report.dry_run else (PROCESSED,)):
            table.add_row(Text(_LABELS[status], style=_STYLES.get(status, "")), str(n))
        if status == SKIP_EXISTS and unknown:
            table.add_row(_UNKNOWN_LABEL, str(unknown))
    wall = report.timings.get("wall", 0.0)
    if not report.dry_run and (report.processed or report.redone):
        table.add_section()
        table.add_row("megapixels", f"{report.megapixels:.1f}")
        table.add_row("wall time", f"{wall:.1f} s ({report.megapixels / max(wall, 1e-9):.1f} MP/s)")
        for stage in ("decode", "method", "upsample", "encode"):
            table.add_row(f"  {stage}", f"{report.timings.get(stage, 0.0):.2f} s")
    return table


def _details(report: RelightReport, verbose: bool) -> Table | None:
    shown = [f for f in report.files if verbose or report.dry_run or f.status == FAILED]
    if not shown:
        return None
    table = Table(title="files")
    for col in ("file", "flash", "outcome", "output / reason"):
        table.add_column(col, overflow="fold")
    for f in shown:
        note = str(f.output) if f.status == PROCESSED else (
            f"{f.output}  ({f.reason})" if f.status == REDONE else f.reason)
        if f.look:
            cam = f.look["camera"]
            note += f"  ({cam['exposure_ev']:+.2f} EV, {cam['kelvin']:.0f} K)"
        if f.status == WOULD_PROCESS:
            note = f"{f.output}  ({f.reason})"
        if f.dropped:
            note += f"  ({f.dropped})"
        label = (_UNKNOWN_LABEL if f.status == SKIP_EXISTS and f.reason == UNKNOWN_SETTINGS
                 else _LABELS[f.status])
        table.add_row(str(f.source), f.flash, Text(label, style=_STYLES.get(f.status, "")), note)
    return table


@click.command("relight")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "output_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the results (mirrors the input tree).")
@click.option("-r", "--recursive", is_flag=True, help="Look into subfolders.")
@click.option("--all", "all_frames", is_flag=True, help="Relight every frame, not only flash-fired ones.")
@click.option("--include-unknown", is_flag=True,
              help="Also relight frames without EXIF flash information (scans, PNG exports).")
@click.option("--include-relit", is_flag=True,
              help="Also relight files flashcli wrote itself (skipped by default, by their EXIF Software).")
@click.option("-m", "--method", default=None, metavar="NAME",
              help="Enhancement method (see `flashcli plugins`; default: the one made for relight).")
@click.option("-w", "--weights", default=None, metavar="[NAME=]PATH",
              help="Weights file or training run folder.")
@click.option("--opt", "opts", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="A method option (repeatable).")
@click.option("--working-size", default=None, metavar="N|full",
              help="Long side the method runs at (default: the method's own); 'full' = at full resolution "
                   "(in tiles, unless the method reads the whole frame).")
@click.option("--strength", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
              help="How much of the relight to apply: 0 leaves photos untouched, 1 is the full change.")
@click.option("--exposure", type=click.FloatRange(-4.0, 4.0), default=0.0, show_default=True, metavar="EV",
              help="Shift the predicted exposure by EV stops (e.g. -0.5: half a stop darker).")
@click.option("--white-balance", default="auto", show_default=True, metavar="auto|flash|KELVIN",
              help="Colour of the ambient look: auto (predicted), flash (keep the photo's colour) "
                   "or a light's colour temperature, e.g. 3200 (warm tungsten).")
@click.option("--template", default=DEFAULT_TEMPLATE, show_default=True,
              help="Output name; fields {stem} {name} {ext} {inext} {method}.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES, case_sensitive=False),
              default=None, help="Output format (default: JPEG for JPEG/RAW inputs, else the input's).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
@click.option("--bit-depth", type=click.Choice([str(d) for d in BIT_DEPTHS]), default="8", show_default=True,
              help="Bits per channel (16: TIFF).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs (default: skip those made with the same settings, so runs resume; redo those made with other settings).")
@click.option("-n", "--dry-run", is_flag=True, help="List what would be done and why, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Decode/encode threads (default: up to 4).")
@click.option("--max-pixels", type=click.IntRange(1), default=None, help="Largest photo accepted (pixels).")
@click.option("--contact-sheet", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Also write one JPEG/PNG of the first relit photos before and after, at each "
                   "--sheet-strengths, to pick a strength at a glance (a dry run writes none).")
@click.option("--sheet-strengths", default=None, metavar="S,S,...",
              help="Strengths the contact sheet shows (default: 0.5,1).")
@click.option("--sheet-rows", type=click.IntRange(1, 100), default=6, show_default=True, metavar="N",
              help="Photos on the contact sheet.")
@click.option("--sheet-exposures", default=None, metavar="EV,EV,...",
              help="Also show each of these --exposure values on the contact sheet (e.g. -1,0,1), "
                   "to pick the shoot's exposure at a glance (default: the run's --exposure).")
@common_options
def command(inputs, output_dir, recursive, all_frames, include_unknown, include_relit, method, weights, opts,
            working_size, strength, exposure, white_balance, template, fmt, quality, bit_depth, overwrite, dry_run, as_json, workers,
            max_pixels, contact_sheet, sheet_strengths, sheet_rows, sheet_exposures) -> None:
    """Relight the flash-fired photos of INPUTS (files, folders, globs) into OUTPUT.

    Example: flashcli relight examples/shoot -o relit/
    """
    method, options, weights = one_method(method, opts, weights, "relight")
    config = relight_run.RelightConfig(
        recursive=recursive, select="all" if all_frames else "fired",
        include_unknown=include_unknown, include_relit=include_relit, method=method, weights=weights,
        options=options, device=console.settings().device,
        working_size=working_size, template=template, format=fmt, quality=quality,
        bit_depth=int(bit_depth), overwrite=overwrite, dry_run=dry_run, workers=workers,
        max_pixels=max_pixels, strength=strength, exposure=exposure, white_balance=white_balance,
        contact_sheet=contact_sheet, sheet_strengths=sheet_strengths, sheet_rows=sheet_rows,
        sheet_exposures=sheet_exposures)
    start = time.perf_counter()
    with console.ProgressBar(_Throughput()) as bar:
        done = {"files": 0, "mp": 0.0, "todo": 0}

        def on_plan(jobs: list[Job]) -> None:
            done["todo"] = 0 if dry_run else sum(1 for j in jobs if j.result is None)
            if done["todo"]:
                bar("relighting", 0, done["todo"], mp=0.0)

        def on_result(result: FileResult) -> None:
            done["files"] += 1
            done["mp"] += result.megapixels
            bar("relighting", done["files"], done["todo"], mp=done["mp"])

        def on_start(started: RelightReport) -> None:
            if not as_json and not console.settings().quiet:
                console.err().print(escape(describe_run(started)), soft_wrap=True)

        report = relight_run.relight(inputs, output_dir, config, on_start=on_start, on_plan=on_plan,
                         on_result=on_result)
    console.debug(f"relight took {time.perf_counter() - start:.2f} s")
    _print(report, as_json)


def describe_run(report: RelightReport) -> str:
    """The first line of a run: the method, its weights and what they were trained on."""
    line = f"{report.method} on {report.device}"
    if report.strength != 1.0:
        line += f", strength {report.strength:g}"
    if report.look.get("exposure"):
        line += f", exposure {report.look['exposure']:+g} EV"
    if report.look.get("white_balance", "auto") != "auto":
        wb = report.look["white_balance"]
        line += f", white balance {wb if isinstance(wb, str) else f'{wb:.0f} K'}"
    w = report.weights
    if w:
        kind = "bundled weights" if w.get("bundled") else "weights"
        line += (f"; {kind} {Path(w['file']).name} (sha256 {w['sha256'][:12]}), "
                 f"trained on {w.get('trained_on')}")
    return line


def _print(report: RelightReport, as_json: bool) -> None:
    state = console.settings()
    if as_json:
        console.print_json(report.to_dict())
    elif state.quiet and report.unknown_settings and not report.failed:
        n = len(report.unknown_settings)  # -q: one line, only for outputs that may be stale
        console.warn(f"{n} existing output{'s' if n > 1 else ''} kept, made with unknown "
                     "settings; --overwrite redoes them")
    elif not state.quiet or report.failed:
        out = console.out()
        out.print(_summary(report))
        details = _details(report, bool(state.verbose))
        if details is not None:
            out.print(details)
        for note in report.notes():
            out.print(note, soft_wrap=True, markup=False)
        if report.contact_sheet:
            out.print(f"contact sheet: {report.contact_sheet}", soft_wrap=True, markup=False)
    if report.failed:
        failed = len(report.failed)
        raise FlashcliError(f"{failed} of {len(report.files)} photos failed; see the report above")
