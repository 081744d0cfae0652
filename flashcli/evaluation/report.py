"""Write an ``EvalResult`` down: results.json/.csv, table.md and contact sheets (the terminal
tables are drawn by the CLI layer from :func:`rows`), and :func:`run_eval`, the whole of
``flashcli eval`` as a function (evaluate, then write the report)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

from flashcli.datasets import pairs_from_dirs
from flashcli.errors import FlashcliError
from flashcli.evaluate import AMBIENT, FLASH, EvalConfig, EvalResult, evaluate
from flashcli.fsutil import atomic_path, atomic_write_text, ensure_dir
from flashcli.imageio import verify_image
from flashcli.methods import default_methods
from flashcli.metrics import METRICS
from flashcli.progress import ProgressFn

#: Contact-sheet geometry (pixels): gap between cells, column-label strip, caption strip.
PAD = 4
HEADER = 16
CAPTION = 14
ROWS_PER_SHEET = 8


def ordered_methods(names) -> list[str]:
    """``names`` in the order the methods declare (``table_rank``), the others after them
    alphabetically."""
    from flashcli.plugins import registry

    return registry().table_order(names)


def _num(x: float | None, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def _signed(x: float | None, digits: int) -> str:
    text = _num(x, digits)
    return text if text in ("-", "inf") or x < 0 else f"+{text}"


def rows(result: EvalResult) -> list[dict[str, str]]:
    """One formatted row per method, in table order: ``method``, ``images``, ``failures``,
    ``seconds``, per metric ``<name>`` (mean ± std), ``d<name>`` (difference to the
    baseline, "" without one) and ``w<name>`` (wins over the baseline, "" without one),
    ``paired`` (images scored by both, "" without a baseline) and ``wins`` (every metric's
    wins, ``3 / 1 / 0 of 4``)."""
    comps = {c.method: c for c in result.comparisons}
    chosen = [METRICS[n] for n in result.metrics]
    out = []
    for m in ordered_methods(result.methods):
        s = result.summaries[m]
        c = comps.get(m)
        row = {"method": m, "images": str(s.images), "failures": str(s.failures),
               "seconds": _num(s.seconds_per_image, 4)}
        for metric in chosen:
            k, d = metric.name, metric.digits
            row[k] = f"{_num(s.mean[k], d)} ± {_num(s.std[k], d)}"
            row[f"d{k}"] = _signed(c.diff[k], d) if c else ""
            row[f"w{k}"] = str(c.wins[k]) if c else ""
        row["paired"] = str(c.images) if c else ""
        row["wins"] = (" / ".join(str(c.wins[m_.name]) for m_ in chosen) + f" of {c.images}"
                       if c else "")
        out.append(row)
    return out


def table_markdown(result: EvalResult) -> str:
    """The paper-style table (mean ± sample std over images) and the paired comparison."""
    cfg = result.config
    chosen = [METRICS[n] for n in result.metrics]
    lines = [
        "# flashcli eval",
        "",
        f"{cfg.get('pairs', 0)} pairs"
        + (f" from `{cfg['dataset']}`" if cfg.get("dataset") else "")
        + (f", split `{cfg['split']}`" if cfg.get("split") else "")
        + (f", category `{cfg['category']}`" if cfg.get("category") else "")
        + f"; outputs {'quantised to 8 bit' if cfg.get('quantize') else 'scored as floats'}"
        + f"; device `{cfg.get('device')}`.",
        "",
        "| Method | " + " | ".join(m.heading for m in chosen) + " | s/image | images |",
        "|---|" + "---|" * len(chosen) + "---|---|",
    ]
    table = rows(result)
    for r in table:
        lines.append(f"| {r['method']} | " + " | ".join(r[m.name] for m in chosen)
                     + f" | {r['seconds']} | {r['images']} |")
    if result.comparisons:
        base = cfg.get("baseline")
        wins = " / ".join(m.label for m in chosen)
        lower = [m.label for m in chosen if not m.higher_is_better]
        note = (f" ({' and '.join(lower)}: lower is better, so a negative Δ is a gain)"
                if lower else "")
        lines += ["", f"Paired with `{base}` on the images both scored{note}:", "",
                  "| Method | " + " | ".join(m.diff_heading for m in chosen) + f" | wins {wins} |",
                  "|---|" + "---|" * (len(chosen) + 1)]
        for r in table:
            if r["wins"]:
                lines.append(f"| {r['method']} | " + " | ".join(r[f"d{m.name}"] for m in chosen)
                             + f" | {r['wins']} |")
    if result.failures:
        lines += ["", f"{len(result.failures)} failure(s):", ""]
        lines += [f"- {f.message}" for f in result.failures]
    return "\n".join(lines) + "\n"


def results_csv(result: EvalResult) -> str:
    """One row per image and method; failed images have an error and no numbers."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("stem", "category", "method", *result.metrics, "seconds", "error"))
    blank = [""] * len(result.metrics)
    for s in result.scores:
        writer.writerow([s.stem, s.category or "", s.method,
                         *(repr(s.values[k]) for k in result.metrics), repr(s.seconds), ""])
    for f in result.failures:
        methods = [f.method] if f.method else result.methods
        for m in methods:
            writer.writerow([f.stem, "", m, *blank, "", f.message])
    return buf.getvalue()


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def contact_sheets(result: EvalResult, rows_per_sheet: int = ROWS_PER_SHEET) -> list[Image.Image]:
    """PNG-ready sheets: one row per pair (captioned with the stem and each method's PSNR and
    SSIM), columns flash, each method in table order, ambient."""
    stems = [p.stem for p in result.pairs if p.stem in result.thumbnails]
    columns = [FLASH, *ordered_methods(result.methods), AMBIENT]
    by_method = {m: result.score_table(m) for m in result.methods}
    font = _font()
    sheets = []
    for start in range(0, len(stems), rows_per_sheet):
        chunk = stems[start:start + rows_per_sheet]
        thumbs = [result.thumbnails[s] for s in chunk]
        cw = max(t.shape[-1] for row in thumbs for t in row.values())
        ch = max(t.shape[-2] for row in thumbs for t in row.values())
        width = PAD + len(columns) * (cw + PAD)
        height = HEADER + len(chunk) * (ch + CAPTION + PAD) + PAD
        sheet = Image.new("RGB", (width, height), (255, 255, 255))
        draw = ImageDraw.Draw(sheet)
        for j, col in enumerate(columns):
            draw.text((PAD + j * (cw + PAD), 2), _fit(draw, col, font, cw), fill=(0, 0, 0),
                      font=font)
        for i, (stem, row) in enumerate(zip(chunk, thumbs, strict=True)):
            y = HEADER + i * (ch + CAPTION + PAD)
            for j, col in enumerate(columns):
                x = PAD + j * (cw + PAD)
                t = row.get(col)
                if t is None:
                    draw.rectangle([x, y, x + cw - 1, y + ch - 1], fill=(200, 200, 200))
                    draw.text((x + 2, y + 2), "failed", fill=(160, 0, 0), font=font)
                else:
                    sheet.paste(_to_pil(t), (x, y))
                if col == FLASH:
                    caption = stem
                elif col == AMBIENT:
                    caption = "ground truth"
                else:
                    s = by_method.get(col, {}).get(stem)
                    caption = "  ".join(METRICS[k].format(s.values[k])
                                        for k in result.metrics[:2]) if s else ""
                draw.text((x, y + ch + 1), _fit(draw, caption, font, cw), fill=(0, 0, 0),
                          font=font)
        sheets.append(sheet)
    return sheets


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def _to_pil(t: torch.Tensor) -> Image.Image:
    return Image.fromarray(t.permute(1, 2, 0).contiguous().numpy(), "RGB")


def write_report(result: EvalResult, folder: str | Path, sheets: bool = True) -> list[Path]:
    """Write results.json, results.csv, table.md and contact_sheet_NNN.png into ``folder``."""
    folder = ensure_dir(folder)  # a file in the way, no permission: one line
    written = []
    protect = tuple(p for pair in result.pairs for p in (pair.flash, pair.ambient))
    data = json.dumps(result.to_dict(), indent=2, allow_nan=False, default=str) + "\n"
    for name, text in (("results.json", data), ("results.csv", results_csv(result)),
                       ("table.md", table_markdown(result))):
        atomic_write_text(folder / name, text)
        written.append(folder / name)
    if sheets:
        for k, sheet in enumerate(contact_sheets(result), start=1):
            target = folder / f"contact_sheet_{k:03d}.png"
            check = functools.partial(verify_image, fmt="PNG", size=sheet.size)
            with atomic_path(target, protect=protect, verify=check) as tmp:
                sheet.save(tmp, format="PNG")
            written.append(target)
    return written


def run_eval(
    dataset: str | Path | None,
    methods: Sequence[str] | None,
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: EvalConfig | None = None,
    *,
    pairs_dirs: tuple[str, str] | None = None,
    report_dir: str | Path | None = None,
    sheet_size: int = 160,
    progress: ProgressFn | None = None,
) -> tuple[EvalResult, list[Path]]:
    """``flashcli eval`` as a function: the data from a DATASET folder or two folders of
    matching stems (``pairs_dirs``), every method that runs without weights when
    ``methods`` is None, and the report written to ``report_dir`` (contact sheets of
    ``sheet_size`` px). Returns the result and the files written."""
    cfg = config or EvalConfig()
    if pairs_dirs:
        if dataset:
            raise FlashcliError(f"{dataset}: give either DATASET or --pairs FLASH_DIR AMBIENT_DIR, not both")
        data: Any = pairs_from_dirs(*pairs_dirs, check=False)
    elif dataset:
        data = dataset
    else:
        raise FlashcliError("no data: pass a DATASET folder or --pairs FLASH_DIR AMBIENT_DIR")
    if report_dir:
        cfg = dataclasses.replace(cfg, thumbnail_side=sheet_size)
    if not methods:  # the default set: one broken plugin must not stop the others
        cfg = dataclasses.replace(cfg, skip_broken=True)
    result = evaluate(data, methods or default_methods(), weights, options, cfg, progress=progress)
    if pairs_dirs:  # the folders really given, not their parent
        result.config["dataset"] = None
        result.config["pairs_dirs"] = [str(Path(d).expanduser()) for d in pairs_dirs]
    written: list[Path] = []
    if report_dir:
        written = write_report(result, report_dir)
    return result, written
