"""Training logs: JSON lines every few steps, one CSV row per epoch, PNG image grids."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from flashcli.io.fsutil import atomic_write_bytes, write_error

log = logging.getLogger(__name__)


class JsonlLog:
    """Append-only JSON lines (``log.jsonl``). A run killed mid-write (or a full disk)
    may leave a torn last line: reading skips lines that are not whole records, and the
    next record starts on a fresh line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._line_start_checked = False

    def _needs_newline(self) -> bool:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, 2)
                if fh.tell() == 0:
                    return False
                fh.seek(-1, 2)
                return fh.read(1) != b"\n"
        except OSError:
            return False

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=float) + "\n"
        if not self._line_start_checked:
            self._line_start_checked = True
            if self._needs_newline():  # after a torn line
                line = "\n" + line
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            raise write_error(self.path, exc) from exc

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        records, bad = [], 0
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)  # NaN losses are legitimate here
            except (ValueError, RecursionError):
                bad += 1
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                bad += 1
        if bad:
            log.warning("%s: skipped %d line(s) that are not whole records (a run stopped "
                        "mid-write)", self.path, bad)
        return records

    def truncate(self, key: str, last: int) -> None:
        """Drop records whose ``key`` is past ``last`` (written after the state resumed
        from), and any torn or foreign line."""
        keep = [r for r in self.read() if _is_num(r.get(key, 0)) and r.get(key, 0) <= last]
        if keep:
            atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in keep).encode())
        elif self.path.is_file():
            self.path.unlink()
        self._line_start_checked = True


class CsvLog(JsonlLog):
    """One row per epoch (``epochs.csv``); columns fixed by the first row. A damaged file
    is read as far as it is sound (rows with a damaged key are dropped on resume)."""

    def write(self, record: dict[str, Any]) -> None:
        rows = self.read() + [record]
        fields: list[str] = []
        for row in rows:
            fields += [k for k in row if k not in fields]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.path, buf.getvalue().encode())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        rows: list[dict[str, Any]] = []
        try:
            with open(self.path, newline="", encoding="utf-8", errors="replace") as fh:
                for row in csv.DictReader(fh):
                    if None in row or None in row.values():  # too many or too few cells
                        continue
                    rows.append({k: _num(v) for k, v in row.items() if isinstance(k, str) and k})
        except csv.Error as exc:
            log.warning("%s: read up to a damaged line (%s)", self.path, exc)
        return rows

    def truncate(self, key: str, last: int) -> None:
        rows = [r for r in self.read() if _is_num(r.get(key)) and r[key] <= last]
        if self.path.is_file():
            self.path.unlink()
        for row in rows:
            self.write(row)


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _num(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def image_grid(rows: list[list[torch.Tensor]], gap: int = 2) -> torch.Tensor:
    """Tile 3 x H x W images (sizes may differ) into one image, row by row, white gaps."""
    cell_h = max(t.shape[-2] for row in rows for t in row)
    cell_w = max(t.shape[-1] for row in rows for t in row)
    cols = max(len(row) for row in rows)
    out = torch.ones(3, len(rows) * (cell_h + gap) - gap, cols * (cell_w + gap) - gap)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            img = img.detach().float().cpu().clamp(0, 1)
            h, w = img.shape[-2:]
            y, x = r * (cell_h + gap) + (cell_h - h) // 2, c * (cell_w + gap) + (cell_w - w) // 2
            out[:, y:y + h, x:x + w] = img
    return out


def save_png(path: Path, image: torch.Tensor, max_side: int = 2048) -> Path:
    """Write a 3 x H x W float image in [0, 1] as an 8-bit PNG, atomically."""
    h, w = image.shape[-2:]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        image = F.interpolate(image[None], size=(max(1, int(h * s)), max(1, int(w * s))),
                              mode="area")[0]
    arr = image.clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path
