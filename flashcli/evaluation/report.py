"""What an evaluation found, and the report written from it: the result types
(:class:`EvalResult` and its parts), the rows of the terminal tables (drawn by the CLI layer
from :func:`rows`), results.json/.csv, table.md and contact sheets (:func:`write_report`).

Importing this module does not import torch (the ``eval`` command's tables need none);
Pillow is imported where the contact sheets are drawn.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from flashcli import plugins
from flashcli.io.fsutil import atomic_path, atomic_write_text, ensure_dir
from flashcli.io.imageio import verify_image
from flashcli.ops import metrics
from flashcli.ops.metrics import METRICS
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch

    from flashcli.datasets import Pair
else:
    torch = lazy_module("torch")

#: Columns of a contact sheet besides the methods.
FLASH, AMBIENT = "flash", "ambient"


@dataclass
class ImageScore:
    """One method's scores on one image, by metric name (``values["psnr"]``)."""

    stem: str
    method: str
    values: dict[str, float]
    seconds: float
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stem": self.stem, "method": self.method, **self.values,
                "seconds": self.seconds, "category": self.category}


@dataclass
class MethodSummary:
    """Mean and (sample) standard deviation of one method's scores over its images."""

    method: str
    images: int
    mean: dict[str, float]
    std: dict[str, float]
    seconds_per_image: float
    failures: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "images": self.images}
        for name in self.mean:
            out[f"{name}_mean"], out[f"{name}_std"] = self.mean[name], self.std[name]
        return {**out, "seconds_per_image": self.seconds_per_image, "failures": self.failures}


@dataclass
class Comparison:
    """A method against the baseline on the images both scored: the mean difference of
    each metric (``diff``) and on how many images it did better (``wins``)."""

    method: str
    baseline: str
    images: int
    diff: dict[str, float]
    wins: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "baseline": self.baseline,
                               "images": self.images}
        out.update({f"{k}_diff": v for k, v in self.diff.items()})
        out.update({f"{k}_wins": v for k, v in self.wins.items()})
        return out


@dataclass
class Failure:
    """An image that could not be scored; ``method`` is None when the pair itself failed."""

    stem: str
    method: str | None
    message: str


@dataclass
class EvalResult:
    """Everything ``evaluate`` measured, plus what it was asked."""

    methods: list[str]
    scores: list[ImageScore]
    summaries: dict[str, MethodSummary]
    comparisons: list[Comparison]
    failures: list[Failure]
    config: dict[str, Any]
    versions: dict[str, str]
    pairs: list[Pair] = field(default_factory=list)
    #: Small uint8 3 x h x w previews per stem and column (flash, methods, ambient).
    thumbnails: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    seconds: float = 0.0
    #: The metric names scored, in table order.
    metrics: list[str] = field(default_factory=lambda: list(metrics.DEFAULT_METRICS))

    def score_table(self, method: str) -> dict[str, ImageScore]:
        """This method's scores by stem."""
        return {s.stem: s for s in self.scores if s.method == method}

    def to_dict(self) -> dict[str, Any]:
        """Plain data for results.json (non-finite numbers become None)."""
        return _finite({
            "config": self.config,
            "versions": self.versions,
            "seconds": self.seconds,
            "methods": self.methods,
            "metrics": self.metrics,
            "summaries": [self.summaries[m].to_dict() for m in self.methods if m in self.summaries],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "failures": [dataclasses.asdict(f) for f in self.failures],
            "images": [s.to_dict() for s in self.scores],
            "categories": category_means(self),
        })


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


#: Contact-sheet geometry (pixels): gap between cells, column-label strip, caption strip.
PAD = 4
HEADER = 16
CAPTION = 14
ROWS_PER_SHEET = 8


def ordered_methods(names) -> list[str]:
    """``names`` in the order the methods declare (``table_rank``), the others after them
    alphabetically."""

    return plugins.registry().table_order(names)


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


def categories(result: EvalResult) -> list[str]:
    """The categories of the scored images (from the dataset layout: ``<Category>_<NNN>``
    stems or category folders), sorted; "" for images without one."""
    return sorted({s.category or "" for s in result.scores})


def category_means(result: EvalResult) -> list[dict[str, Any]]:
    """Per category and method (table order): the images scored and each metric's mean
    (``{"category", "method", "images", "mean": {metric: value}}``)."""
    out = []
    for cat in categories(result):
        for m in ordered_methods(result.methods):
            mine = [s for s in result.scores if s.method == m and (s.category or "") == cat]
            if mine:
                out.append({"category": cat, "method": m, "images": len(mine),
                            "mean": {k: math.fsum(s.values[k] for s in mine) / len(mine)
                                     for k in result.metrics}})
    return out


def category_rows(result: EvalResult) -> list[dict[str, str]]:
    """:func:`category_means` formatted for a table: ``category``, ``method``, ``images``
    and per metric ``<name>`` (the mean)."""
    return [{"category": c["category"] or "-", "method": c["method"], "images": str(c["images"]),
             **{k: _num(v, METRICS[k].digits) for k, v in c["mean"].items()}}
            for c in category_means(result)]


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
    if len(categories(result)) > 1:
        lines += ["", "Per category (means):", "",
                  "| Category | Method | " + " | ".join(m.heading for m in chosen) + " | images |",
                  "|---|---|" + "---|" * (len(chosen) + 1)]
        lines += [f"| {r['category']} | {r['method']} | " + " | ".join(r[m.name] for m in chosen)
                  + f" | {r['images']} |" for r in category_rows(result)]
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


def grid_sheet(labels: list[str], cells: list[list[tuple[Any, str]]]) -> Image.Image:
    """One sheet: a strip of column ``labels``, then one row per entry of ``cells``, each
    cell a uint8 3 x h x w thumbnail (None: a grey "failed" cell) with a caption under it."""

    thumbs = [t for row in cells for t, _ in row if t is not None]
    cw = max((t.shape[-1] for t in thumbs), default=32)
    ch = max((t.shape[-2] for t in thumbs), default=32)
    width = PAD + len(labels) * (cw + PAD)
    height = HEADER + len(cells) * (ch + CAPTION + PAD) + PAD
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for j, label in enumerate(labels):
        draw.text((PAD + j * (cw + PAD), 2), _fit(draw, label, font, cw), fill=(0, 0, 0), font=font)
    for i, row in enumerate(cells):
        y = HEADER + i * (ch + CAPTION + PAD)
        for j, (t, caption) in enumerate(row):
            x = PAD + j * (cw + PAD)
            if t is None:
                draw.rectangle([x, y, x + cw - 1, y + ch - 1], fill=(200, 200, 200))
                draw.text((x + 2, y + 2), "failed", fill=(160, 0, 0), font=font)
            else:
                sheet.paste(_to_pil(t), (x, y))
            draw.text((x, y + ch + 1), _fit(draw, caption, font, cw), fill=(0, 0, 0), font=font)
    return sheet


def _same_as_flash(result: EvalResult, method: str, stems: list[str]) -> bool:
    """Whether ``method``'s thumbnail is the flash one's on every row (identity's)."""
    rows_ = [result.thumbnails[s] for s in stems]
    return bool(rows_) and all(r.get(method) is not None and r.get(FLASH) is not None
                               and torch.equal(r[method], r[FLASH]) for r in rows_)


def contact_sheets(result: EvalResult, rows_per_sheet: int = ROWS_PER_SHEET) -> list[Image.Image]:
    """PNG-ready sheets: one row per pair (captioned with the stem and each method's PSNR and
    SSIM), columns flash, each method in table order, ambient. A method whose images are the
    flash photos themselves (identity) gets no column of its own: its scores go under the
    flash column, which is labelled ``flash = <method>``."""
    stems = [p.stem for p in result.pairs if p.stem in result.thumbnails]
    methods = ordered_methods(result.methods)
    same = [m for m in methods if _same_as_flash(result, m, stems)]
    columns = [FLASH, *[m for m in methods if m not in same], AMBIENT]
    labels = [FLASH + "".join(f" = {m}" for m in same), *columns[1:]]
    by_method = {m: result.score_table(m) for m in result.methods}

    def caption(stem: str, col: str) -> str:
        if col == AMBIENT:
            return "ground truth"
        s = by_method.get(same[0] if col == FLASH and same else col, {}).get(stem)
        scores = "  ".join(METRICS[k].format(s.values[k]) for k in result.metrics[:2]) if s else ""
        return f"{stem}  {scores}".strip() if col == FLASH else scores

    sheets = []
    for start in range(0, len(stems), rows_per_sheet):
        chunk = stems[start:start + rows_per_sheet]
        cells = [[(result.thumbnails[s].get(col), caption(s, col)) for col in columns]
                 for s in chunk]
        sheets.append(grid_sheet(labels, cells))
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
