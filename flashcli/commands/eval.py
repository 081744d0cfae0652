"""``flashcli eval``: the paper's Table 1 for your data, with contact sheets (thin layer over
:func:`flashcli.report.run_eval`)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.errors import FlashcliError
from flashcli.evaluate import EvalConfig, EvalResult, parse_method_options, parse_weights
from flashcli.metrics import DEFAULT_METRICS, METRICS
from flashcli.report import rows, run_eval


def summary_table(result: EvalResult) -> Table:
    """The table printed by ``flashcli eval`` (mean ± sample std over images)."""
    title = f"flashcli eval: {result.config.get('pairs', 0)} pairs"
    if result.config.get("dataset"):
        title += f" from {result.config['dataset']}"
    table = Table(title=title)
    table.add_column("method", no_wrap=True)
    chosen = [METRICS[n] for n in result.metrics]
    for name in (*(m.heading for m in chosen), "s/image", "images", "failed"):
        table.add_column(name, justify="right", no_wrap=name != "s/image")
    for r in rows(result):
        table.add_row(r["method"], *(r[m.name] for m in chosen), r["seconds"], r["images"],
                      r["failures"])
    return table


def comparison_table(result: EvalResult) -> Table | None:
    """Each method against the baseline on the images both scored (None without one)."""
    if not result.comparisons:
        return None
    chosen = [METRICS[n] for n in result.metrics]
    table = Table(title=f"paired with {result.config.get('baseline')}")
    table.add_column("method", no_wrap=True)
    wins = "/".join(m.label for m in chosen)
    for name in (*(f"Δ{m.heading}" for m in chosen), f"wins {wins}"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows(result):
        if r["wins"]:
            table.add_row(r["method"], *(r[f"d{m.name}"] for m in chosen), r["wins"])
    return table


def _metric_names(metrics: str | None, no_loe: bool) -> list[str] | None:
    if metrics is None and not no_loe:
        return None
    names = [m.strip() for m in (metrics or ",".join(DEFAULT_METRICS)).split(",") if m.strip()]
    return [n for n in names if not (no_loe and n.lower() == "loe")]


def _print(result: EvalResult, written, save_images: str | None) -> None:
    console.out().print(summary_table(result))
    paired = comparison_table(result)
    if paired is not None:
        console.out().print(paired)
    for path in written:
        console.info(f"wrote {path}")
    if save_images:
        console.info(f"outputs saved under {save_images}/<method>/")
    for failure in result.failures:  # every failure by name, at the end (issue 9)
        console.err().print(f"[red]failed:[/red] {escape(failure.message)}", soft_wrap=True)


@click.command("eval")
@click.argument("dataset", required=False, type=click.Path(file_okay=False))
@click.option("--methods", "methods", default=None, metavar="A,B,C",
              help="Methods to score (default: every installed method that needs no weights).")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Weights file or training run folder of a method (repeatable).")
@click.option("--opt", "opts", multiple=True, metavar="NAME.KEY=VALUE",
              help="A method option, e.g. NAME.gamma=0.7 (repeatable).")
@click.option("--split", default="test", show_default=True, help="Dataset split folder.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use the first N pairs.")
@click.option("--category", default=None, help="Only pairs of this category (e.g. People).")
@click.option("--pairs", "pairs_dirs", nargs=2, type=click.Path(file_okay=False), default=None,
              metavar="FLASH_DIR AMBIENT_DIR", help="Two folders with matching file stems.")
@click.option("--no-quantize", is_flag=True, help="Score float outputs instead of 8-bit ones.")
@click.option("--baseline", default=None,
              help="Method every other is compared with (default: the installed reference "
                   "method; 'none' to skip).")
@click.option("--metrics", default=None, metavar="A,B",
              help=f"Metrics to score, from {','.join(METRICS)} (default: {','.join(DEFAULT_METRICS)}).")
@click.option("--no-loe", is_flag=True, hidden=True, help="Same as leaving loe out of --metrics.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write results.json, results.csv, table.md and contact sheets here.")
@click.option("--save-images", type=click.Path(file_okay=False), default=None,
              help="Write every output as DIR/<method>/<stem>.png.")
@click.option("--strength", type=click.FloatRange(0.0, 2.0), default=1.0, show_default=True,
              help="Score each method at this share of its change (0: the flash photo, 1: its output).")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images of one size run through a method together.")
@click.option("--sheet-size", type=click.IntRange(min=16), default=160, show_default=True,
              help="Long side of each contact-sheet picture, in pixels.")
@click.option("--json", "as_json", is_flag=True, help="Print every number as JSON.")
@common_options
def command(dataset, methods, weights, opts, split, limit, category, pairs_dirs, no_quantize,
            baseline, metrics, no_loe, report_dir, save_images, strength, batch_size, sheet_size,
            as_json) -> None:
    """Score methods on flash/ambient pairs with PSNR, SSIM and LOE (the paper's Table 1).

    DATASET holds train/ and test/ folders of <stem>_flash.png / <stem>_ambient.png pairs;
    the test split is scored unless --split says otherwise.
    """
    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    if methods is not None and not names:
        raise FlashcliError("--methods is empty; list methods like --methods NAME,NAME")
    base: str | bool | None = True
    if baseline is not None:
        base = None if baseline.strip().lower() in ("none", "") else baseline.strip()
    config = EvalConfig(
        device=console.settings().device, quantize=not no_quantize, baseline=base,
        save_images_dir=save_images, split=split, category=category, limit=limit,
        batch_size=batch_size, metrics=_metric_names(metrics, no_loe), strength=strength)
    with console.ProgressBar(enabled=not as_json) as bar:
        result, written = run_eval(
            dataset, names, parse_weights(weights), parse_method_options(opts), config,
            pairs_dirs=tuple(pairs_dirs) if pairs_dirs else None, report_dir=report_dir,
            sheet_size=sheet_size, progress=bar)
    if as_json:
        data = result.to_dict()
        data["written"] = [str(p) for p in written]
        console.print_json(data)
    else:
        _print(result, written, save_images)
    if result.failures:
        first = result.failures[0].message
        more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        raise FlashcliError(
            f"{len(result.failures)} image(s) could not be scored: {first}{more}; "
            "the numbers above cover the other images"
        )
