"""Present an ``EvalResult``: rich table, results.json/.csv, table.md and contact sheets."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont
from rich.table import Table

from flashcli.evaluate import AMBIENT, FLASH, EvalResult
from flashcli.fsutil import atomic_path, atomic_write_text, ensure_dir
from flashcli.imageio import verify_image

#: The order of the paper's Table 1 (flash input first); other methods follow alphabetically.
PAPER_ORDER = ("identity", "lime", "srie", "deepflash", "unet", "guided-cgan")

#: Contact-sheet geometry (pixels): gap between cells, column-label strip, caption strip.
PAD = 4
HEADER = 16
CAPTION = 14
ROWS_PER_SHEET = 8

CSV_COLUMNS = ("stem", "category", "method", "psnr", "ssim", "loe", "seconds", "error")


def ordered_methods(names) -> list[str]:
    """``names`` in the paper's Table 1 order, unknown names after them alphabetically."""
    names = list(dict.fromkeys(names))
    known = [n for n in PAPER_ORDER if n in names]
    return known + sorted(n for n in names if n not in PAPER_ORDER)


def _num(x: float | None, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.{digits}f}"


def _signed(x: float | None, digits: int) -> str:
    text = _num(x, digits)
    return text if text in ("-", "inf") or x < 0 else f"+{text}"


def _rows(result: EvalResult) -> list[dict[str, str]]:
    """One formatted row per method, in table order."""
    comps = {c.method: c for c in result.comparisons}
    rows = []
    for m in ordered_methods(result.methods):
        s = result.summaries[m]
        c = comps.get(m)
        rows.append({
            "method": m,
            "images": str(s.images),
            "psnr": f"{_num(s.psnr_mean, 2)} ± {_num(s.psnr_std, 2)}",
            "ssim": f"{_num(s.ssim_mean, 3)} ± {_num(s.ssim_std, 3)}",
            "loe": _num(s.loe_mean, 1),
            "seconds": _num(s.seconds_per_image, 4),
            "dpsnr": _signed(c.psnr_diff, 2) if c else "",
            "dssim": _signed(c.ssim_diff, 3) if c else "",
            "wins": f"{c.psnr_wins}/{c.ssim_wins} of {c.images}" if c else "",
            "failures": str(s.failures),
        })
    return rows


def summary_table(result: EvalResult) -> Table:
    """The rich table printed by ``flashcli eval`` (mean ± sample std over images)."""
    title = f"flashcli eval: {result.config.get('pairs', 0)} pairs"
    if result.config.get("dataset"):
        title += f" from {result.config['dataset']}"
    table = Table(title=title)
    table.add_column("method", no_wrap=True)
    for name in ("PSNR (dB)", "SSIM", "LOE", "s/image", "images", "failed"):
        table.add_column(name, justify="right", no_wrap=name != "s/image")
    for r in _rows(result):
        table.add_row(r["method"], r["psnr"], r["ssim"], r["loe"], r["seconds"], r["images"],
                      r["failures"])
    return table


def comparison_table(result: EvalResult) -> Table | None:
    """Each method against the baseline on the images both scored (None without one)."""
    if not result.comparisons:
        return None
    table = Table(title=f"paired with {result.config.get('baseline')}")
    table.add_column("method", no_wrap=True)
    for name in ("ΔPSNR (dB)", "ΔSSIM", "wins PSNR/SSIM"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in _rows(result):
        if r["dpsnr"]:
            table.add_row(r["method"], r["dpsnr"], r["dssim"], r["wins"])
    return table


def table_markdown(result: EvalResult) -> str:
    """The paper-style table (mean ± sample std over images) and the paired comparison."""
    cfg = result.config
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
        "| Method | PSNR (dB) | SSIM | LOE | s/image | images |",
        "|---|---|---|---|---|---|",
    ]
    rows = _rows(result)
    for r in rows:
        lines.append(f"| {r['method']} | {r['psnr']} | {r['ssim']} | {r['loe']} | "
                     f"{r['seconds']} | {r['images']} |")
    if result.comparisons:
        base = cfg.get("baseline")
        lines += ["", f"Paired with `{base}` on the images both scored:", "",
                  "| Method | ΔPSNR (dB) | ΔSSIM | wins PSNR / SSIM |", "|---|---|---|---|"]
        for r in rows:
            if r["dpsnr"]:
                lines.append(f"| {r['method']} | {r['dpsnr']} | {r['dssim']} | {r['wins']} |")
    if result.failures:
        lines += ["", f"{len(result.failures)} failure(s):", ""]
        lines += [f"- {f.message}" for f in result.failures]
    return "\n".join(lines) + "\n"


def results_csv(result: EvalResult) -> str:
    """One row per image and method; failed images have an error and no numbers."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in result.scores:
        writer.writerow([s.stem, s.category or "", s.method, repr(s.psnr), repr(s.ssim),
                         "" if s.loe is None else repr(s.loe), repr(s.seconds), ""])
    for f in result.failures:
        methods = [f.method] if f.method else result.methods
        for m in methods:
            writer.writerow([f.stem, "", m, "", "", "", "", f.message])
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
                    caption = f"{_num(s.psnr, 2)} dB  {_num(s.ssim, 3)}" if s else ""
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
