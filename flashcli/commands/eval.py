"""``flashcli eval``: the paper's Table 1 for your data, with contact sheets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flashcli import console
from flashcli.cli import common_options
from flashcli.enhancer import parse_opt_pairs
from flashcli.errors import FlashcliError


def parse_weights(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["NAME=PATH", ...]`` -> ``{NAME: PATH}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise FlashcliError(f"--weights {item!r}: expected NAME=PATH, e.g. --weights NAME=runs/x")
        out[name.strip()] = path.strip()
    return out


def parse_method_options(items: tuple[str, ...] | list[str]) -> dict[str, dict[str, str]]:
    """``["NAME.key=value", ...]`` -> ``{NAME: {key: value}}``."""
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_opt_pairs(items).items():
        method, dot, option = key.partition(".")
        if not dot or not method or not option:
            raise FlashcliError(f"--opt {key}={value}: expected NAME.key=value, e.g. --opt NAME.gamma=0.7")
        out.setdefault(method, {})[option] = value
    return out


def default_methods() -> list[str]:
    """Every installed method that runs without --weights (needs none, or ships defaults)."""
    from flashcli.plugins import registry

    names = []
    for name, info in registry().methods.items():
        cls = info.cls
        if not cls.needs_weights or cls.default_weights() is not None:
            names.append(name)
    return sorted(names)


def run_eval(
    dataset: str | None,
    methods: list[str] | None,
    weights: dict[str, str],
    options: dict[str, dict[str, Any]],
    *,
    pairs_dirs: tuple[str, str] | None = None,
    split: str = "test",
    category: str | None = None,
    limit: int | None = None,
    quantize: bool = True,
    baseline: str | bool | None = True,
    report_dir: str | None = None,
    save_images: str | None = None,
    batch_size: int = 8,
    with_loe: bool = True,
    sheet_size: int = 160,
    device: str = "auto",
    progress: bool = True,
):
    """Evaluate and write the requested report; returns ``(EvalResult, written paths)``."""
    from flashcli.datasets import pairs_from_dirs
    from flashcli.evaluate import evaluate

    if pairs_dirs:
        if dataset:
            raise FlashcliError(f"{dataset}: give either DATASET or --pairs FLASH_DIR AMBIENT_DIR, not both")
        data: Any = pairs_from_dirs(*pairs_dirs, check=False)
        if category:
            data.pairs = [p for p in data.pairs if (p.category or "").lower() == category.lower()]
    elif dataset:
        data = dataset
    else:
        raise FlashcliError("no data: pass a DATASET folder or --pairs FLASH_DIR AMBIENT_DIR")
    result = evaluate(
        data, methods or default_methods(), weights, options, device=device, quantize=quantize,
        baseline=baseline, progress=progress, save_images_dir=save_images, split=split,
        category=category, limit=limit, batch_size=batch_size, with_loe=with_loe,
        thumbnail_side=sheet_size if report_dir else None,
    )
    written: list[Path] = []
    if report_dir:
        from flashcli.report import write_report

        written = write_report(result, report_dir)
    return result, written


@click.command("eval")
@click.argument("dataset", required=False, type=click.Path(file_okay=False))
@click.option("--methods", "methods", default=None, metavar="A,B,C",
              help="Methods to score (default: every installed method that needs no weights).")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Weights file or training run folder of a method (repeatable).")
@click.option("--opt", "opts", multiple=True, metavar="NAME.KEY=VALUE",
              help="A method option, e.g. lime.gamma=0.7 (repeatable).")
@click.option("--split", default="test", show_default=True, help="Dataset split folder.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use the first N pairs.")
@click.option("--category", default=None, help="Only pairs of this category (e.g. People).")
@click.option("--pairs", "pairs_dirs", nargs=2, type=click.Path(file_okay=False), default=None,
              metavar="FLASH_DIR AMBIENT_DIR", help="Two folders with matching file stems.")
@click.option("--no-quantize", is_flag=True, help="Score float outputs instead of 8-bit ones.")
@click.option("--baseline", default=None,
              help="Method every other is compared with (default: the installed reference "
                   "method; 'none' to skip).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write results.json, results.csv, table.md and contact sheets here.")
@click.option("--save-images", type=click.Path(file_okay=False), default=None,
              help="Write every output as DIR/<method>/<stem>.png.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Images of one size run through a method together.")
@click.option("--no-loe", is_flag=True, help="Skip the lightness order error (faster on CPU).")
@click.option("--sheet-size", type=click.IntRange(min=16), default=160, show_default=True,
              help="Long side of each contact-sheet picture, in pixels.")
@click.option("--json", "as_json", is_flag=True, help="Print every number as JSON.")
@common_options
def command(dataset, methods, weights, opts, split, limit, category, pairs_dirs, no_quantize,
            baseline, report_dir, save_images, batch_size, no_loe, sheet_size, as_json) -> None:
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
    result, written = run_eval(
        dataset, names, parse_weights(weights), parse_method_options(opts),
        pairs_dirs=tuple(pairs_dirs) if pairs_dirs else None, split=split, category=category,
        limit=limit, quantize=not no_quantize, baseline=base, report_dir=report_dir,
        save_images=save_images, batch_size=batch_size, with_loe=not no_loe,
        sheet_size=sheet_size, device=console.settings.device,
        progress=not as_json and not console.settings.quiet,
    )
    if as_json:
        data = result.to_dict()
        data["written"] = [str(p) for p in written]
        console.print_json(data)
    else:
        from flashcli.report import comparison_table, summary_table

        console.out().print(summary_table(result))
        paired = comparison_table(result)
        if paired is not None:
            console.out().print(paired)
        for path in written:
            console.info(f"wrote {path}")
        if save_images:
            console.info(f"outputs saved under {save_images}/<method>/")
    if result.failures:
        if not as_json:  # every failure by name, at the end (issue 9)
            from rich.markup import escape

            for failure in result.failures:
                console.err().print(f"[red]failed:[/red] {escape(failure.message)}", soft_wrap=True)
        first = result.failures[0].message
        more = f" (and {len(result.failures) - 1} more)" if len(result.failures) > 1 else ""
        raise FlashcliError(
            f"{len(result.failures)} image(s) could not be scored: {first}{more}; "
            "the numbers above cover the other images"
        )
