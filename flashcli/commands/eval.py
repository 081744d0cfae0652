"""``flashcli eval``: the paper's Table 1 for your data, with contact sheets (thin layer over
:func:`flashcli.evaluation.run_eval`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import click
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.errors import FlashcliError
from flashcli.evaluation.report import EvalResult, categories, category_rows, rows
from flashcli.ops.metrics import DEFAULT_METRICS, METRICS
from flashcli.runtime.lazy import lazy_module
from flashcli.selection import parse_methods, parse_options, parse_weights

if TYPE_CHECKING:
    from flashcli.evaluation import run as evaluation_run
else:  # imports torch
    evaluation_run = lazy_module("flashcli.evaluation.run")


def _title(result: EvalResult, width: int | None = None) -> str:
    """The first table's title (it may wrap between words): a path too long for a line of
    its own keeps its end, from a ``/``, after an ellipsis."""
    config = result.config
    width = width or console.out().width
    head = f"flashcli eval: {config.get('pairs', 0)} pairs"
    tail = (f" ({config['dataset_problems']} unusable, listed above)"
            if config.get("dataset_problems") else "")
    if config.get("pairs_dirs"):
        paths, lead = [str(p) for p in config["pairs_dirs"]], " from --pairs "
    elif config.get("dataset"):
        paths, lead = [str(config["dataset"])], " from "
    else:
        return head + tail
    room = width - 4
    return head + lead + " ".join(short_path(p, room) for p in paths) + tail


def short_path(path: str, room: int) -> str:
    """``path``, or "…" and as much of its end as fits ``room`` cells, cut at a ``/``."""
    if cell_len(path) <= room:
        return path
    parts = path.split("/")
    for i in range(1, len(parts)):
        end = "…/" + "/".join(parts[i:])
        if cell_len(end) <= room:
            return end
    return "…/" + parts[-1]


def _table(title: str | None, headings: list[str], body: list[list[str]],
           width: int | None = None, first: str = "method") -> Table:
    """Method names stay whole (:func:`metric_groups` splits the metrics over more tables
    first); a name too long for the terminal even so is broken after a ``-``, ``_``, ``@``,
    ``/`` or ``.``, never inside a word. Numbers are never cut: each number column is as wide
    as its widest cell (headings may wrap)."""
    width = width or console.out().width
    numbers = [[h, *(r[i] for r in body)] for i, h in enumerate(headings, start=1)]
    room = max(len(first), width - _width(numbers) - 2)
    table = Table(title=title, padding=(0, 1), collapse_padding=True)
    longest = max((cell_len(r[0]) for r in body), default=len(first))
    table.add_column(first, no_wrap=True, min_width=min(max(longest, len(first)), room))
    for i, name in enumerate(headings, start=1):
        widest = max((len(row[i]) for row in body), default=1)
        table.add_column(name, justify="right", no_wrap=True, min_width=widest)
    for row in body:
        table.add_row(break_name(row[0], room), *row[1:])
    return table


def break_name(name: str, width: int) -> str:
    """``name`` on lines of at most ``width`` cells, broken only after ``-_@/.`` (a part
    longer than a line is folded, the only way it fits)."""
    if cell_len(name) <= width:
        return name
    lines = [""]
    for part in re.findall(r"[^-_@/.]*[-_@/.]|[^-_@/.]+$", name):
        if lines[-1] and cell_len(lines[-1] + part) > width:
            lines.append("")
        lines[-1] += part
    folded = [line[i:i + width] for line in lines for i in range(0, len(line), width)]
    return "\n".join(folded)


def _width(columns: list[list[str]]) -> int:
    """Characters a ``_table`` of these columns (heading and cells each, the method column
    first, counted whole) takes: a border and a space of padding per column, two more at the
    left."""
    return 2 + sum(max(map(cell_len, column)) + 2 for column in columns)


def _summary(table: list[dict[str, str]], chosen, first: bool) -> tuple[list[str], list[list[str]]]:
    """Headings and body of a summary table of ``chosen`` metrics (the first one has the
    seconds, images and failures too)."""
    headings = [m.heading for m in chosen]
    body = [[r["method"], *(r[m.name] for m in chosen)] for r in table]
    if first:
        headings += ["s/image", "images", "failed"]
        body = [[*b, r["seconds"], r["images"], r["failures"]]
                for b, r in zip(body, table, strict=True)]
    return headings, body


def _paired(table: list[dict[str, str]], chosen, first: bool) -> tuple[list[str], list[list[str]]]:
    """Headings and body of a comparison table of ``chosen`` metrics; its wins column counts
    the wins of those metrics."""
    headings = [*(m.diff_heading for m in chosen), "wins " + "/".join(m.label for m in chosen)]
    body = [[r["method"], *(r[f"d{m.name}"] for m in chosen),
             " / ".join(r[f"w{m.name}"] for m in chosen) + f" of {r['paired']}"]
            for r in table if r["paired"]]
    return headings, body


def _fits(headings: list[str], body: list[list[str]], width: int, first: str = "method") -> bool:
    columns = [[first, *(r[0] for r in body)],
               *([h, *(r[i] for r in body)] for i, h in enumerate(headings, start=1))]
    return _width(columns) <= width


def metric_groups(result: EvalResult, width: int | None = None) -> list[list]:
    """The metrics of ``result`` in table order, as many per group as let both the summary
    and the comparison table of the group fit ``width`` characters (the terminal's)."""
    width = width or console.out().width
    table = rows(result)
    groups: list[list] = []
    for metric in (METRICS[n] for n in result.metrics):
        if groups:
            trial, first = [*groups[-1], metric], len(groups) == 1
            if all(_fits(*build(table, trial, first), width) for build in (_summary, _paired)):
                groups[-1].append(metric)
                continue
        groups.append([metric])
    return groups


def summary_tables(result: EvalResult, width: int | None = None) -> list[Table]:
    """The tables printed by ``flashcli eval`` (mean ± sample std over images): one, or one
    per group of :func:`metric_groups` when the metrics do not fit the terminal together."""
    table, width = rows(result), width or console.out().width
    out = []
    for i, group in enumerate(metric_groups(result, width)):
        headings, body = _summary(table, group, i == 0)
        columns = [["method", *(r[0] for r in body)],
                   *([h, *(r[j] for r in body)] for j, h in enumerate(headings, start=1))]
        title = _title(result, min(width, _width(columns))) if i == 0 else "(continued)"
        out.append(_table(title, headings, body, width))
    return out


def comparison_tables(result: EvalResult, width: int | None = None) -> list[Table]:
    """Each method against the baseline on the images both scored (none without one), in
    the groups of :func:`summary_tables`."""
    if not result.comparisons:
        return []
    table = rows(result)
    title = f"paired with {result.config.get('baseline')}"
    return [_table(title if i == 0 else f"{title} (continued)", *_paired(table, group, i == 0),
                   width)
            for i, group in enumerate(metric_groups(result, width))]


def category_tables(result: EvalResult, width: int | None = None) -> list[Table]:
    """Each method's mean of every metric per category (the dataset's ``<Category>_<NNN>``
    stems or category folders), the metrics split over tables that fit ``width``."""
    table = category_rows(result)
    if not table:
        return []
    width, first = width or console.out().width, "category / method"

    def build(group: list) -> tuple[list[str], list[list[str]]]:
        body = [[f"{r['category']} / {r['method']}", *(r[m.name] for m in group), r["images"]]
                for r in table]
        return [*(m.heading for m in group), "images"], body

    groups: list[list] = []
    for metric in (METRICS[n] for n in result.metrics):
        if groups and _fits(*build([*groups[-1], metric]), width, first):
            groups[-1].append(metric)
        else:
            groups.append([metric])
    return [_table("per category (means)" + (" (continued)" if i else ""), *build(g), width, first)
            for i, g in enumerate(groups)]


def _metric_names(metrics: str | None, no_loe: bool) -> list[str] | None:
    if metrics is None and not no_loe:
        return None
    names = [m.strip() for m in (metrics or ",".join(DEFAULT_METRICS)).split(",") if m.strip()]
    return [n for n in names if not (no_loe and n.lower() == "loe")]


def _print(result: EvalResult, written, save_images: str | None) -> None:
    if not console.settings().quiet:  # -q: errors and warnings only
        by_category = len(categories(result)) > 1 or console.settings().verbose
        for table in [*summary_tables(result), *comparison_tables(result),
                      *(category_tables(result) if by_category else [])]:
            console.out().print(table)
    for path in written:
        console.info(f"wrote {path}")
    if save_images:
        console.info(f"outputs saved under {save_images}/<method>/")
    for failure in result.failures:  # every failure of a method by name, at the end (issue 9);
        if failure.method is not None:  # the dataset's problems were listed once, as warnings
            console.err().print(f"[red]failed:[/red] {escape(failure.message)}", soft_wrap=True)


@click.command("eval")
@click.argument("dataset", required=False, type=click.Path(file_okay=False))
@click.option("-m", "--method", "method", multiple=True, metavar="NAME[@LABEL]",
              help="A method to score (repeatable, or A,B,C; default: every installed method that "
                   "needs no weights). NAME@LABEL scores NAME once more as LABEL, e.g. with other "
                   "--weights: -m NAME -m NAME@mine --weights NAME@mine=runs/x.")
@click.option("--methods", "methods", default=None, metavar="A,B,C", help="Same as -m A -m B -m C.")
@click.option("--weights", "weights", multiple=True, metavar="[NAME=]PATH",
              help="Weights file or training run folder of a method (repeatable; a plain PATH "
                   "with one method).")
@click.option("--opt", "opts", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="A method option, e.g. NAME.gamma=0.7 (repeatable; a plain KEY=VALUE with one method).")
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
@click.option("--exposure", type=click.FloatRange(-4.0, 4.0), default=0.0, show_default=True, metavar="EV",
              help="Shift every method's exposure by EV stops (the flash photo row stays as it is).")
@click.option("--white-balance", default="auto", show_default=True, metavar="auto|flash|KELVIN",
              help="Every method's colour: auto (its own), flash (the photo's) or a light's colour temperature.")
@click.option("--working-size", default=None, metavar="N|full",
              help="Long side each method runs at, its result carried to full resolution as "
                   "relight does (default: the method's own); 'full' = the whole image.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images of one size run through a method together.")
@click.option("--sheet-size", type=click.IntRange(min=16), default=160, show_default=True,
              help="Long side of each contact-sheet picture, in pixels.")
@click.option("--json", "as_json", is_flag=True, help="Print every number as JSON.")
@common_options
def command(dataset, method, methods, weights, opts, split, limit, category, pairs_dirs, no_quantize,
            baseline, metrics, no_loe, report_dir, save_images, strength, exposure, white_balance,
            working_size, batch_size, sheet_size,
            as_json) -> None:
    """Score methods on flash/ambient pairs: PSNR, SSIM and LOE (the paper's Table 1), the
    CIEDE2000 colour difference and PSNR after white balance.

    DATASET holds train/ and test/ folders of <stem>_flash.png / <stem>_ambient.png pairs;
    the test split is scored unless --split says otherwise.
    """
    listed = [*(parse_methods(method) or []),
              *(parse_methods(methods, "--methods") if methods is not None else [])]
    names = list(dict.fromkeys(listed)) or None
    base: str | bool | None = True
    if baseline is not None:
        base = None if baseline.strip().lower() in ("none", "") else baseline.strip()
    config = evaluation_run.EvalConfig(
        device=console.settings().device, quantize=not no_quantize, baseline=base,
        save_images_dir=save_images, split=split, category=category, limit=limit,
        batch_size=batch_size, metrics=_metric_names(metrics, no_loe), strength=strength,
        exposure=exposure, white_balance=white_balance, working_size=working_size)
    with console.ProgressBar(enabled=not as_json) as bar:
        result, written = evaluation_run.run_eval(
            dataset, names, parse_weights(weights, names), parse_options(opts, names), config,
            pairs_dirs=tuple(pairs_dirs) if pairs_dirs else None, report_dir=report_dir,
            sheet_size=sheet_size, progress=bar)
    if as_json:
        data = result.to_dict()
        data["written"] = [str(p) for p in written]
        console.print_json(data)
    else:
        _print(result, written, save_images)
    _fail(result)


def _fail(result: EvalResult) -> None:
    """Exit 1 when something could not be scored, counting the dataset's problems apart."""
    unusable = [f for f in result.failures if f.method is None]
    failed = [f for f in result.failures if f.method is not None]
    parts = []
    if unusable:
        parts.append(f"{len(unusable)} pair(s) of the data could not be used")
    if failed:
        methods = sorted({f.method for f in failed})
        parts.append(f"{len(failed)} output(s) of {', '.join(methods)} failed")
    if parts:  # each problem was listed once above; this line only counts them
        raise FlashcliError(f"{' and '.join(parts)}, listed above; the numbers cover the "
                            "other images")
