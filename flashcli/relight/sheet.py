"""Relight's contact sheet (``relight --contact-sheet PATH``): the first relit photos of a run
before and after, at a few strengths (and, with ``--sheet-exposures``, a few exposures), in
one image, so a strength and an exposure can be picked at a glance.

The runner hands each batch's working-size input and the method's result (before the look)
to a :class:`SheetCollector`, which keeps small copies of the first few; once the run is over,
:func:`write_contact_sheet` applies the look at each strength to those copies and draws the
grid (rows: photos; columns: the flash photo, then each strength) with eval's
:func:`~flashcli.evaluation.report.grid_sheet`. A dry run writes no sheet.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli.errors import UsageError
from flashcli.evaluation.report import grid_sheet
from flashcli.io.fsutil import atomic_path, ensure_dir
from flashcli.io.imageio import verify_image
from flashcli.ops.look import apply_look
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch

    from flashcli.ops import upsample
else:
    torch = lazy_module("torch")
    upsample = lazy_module("flashcli.ops.upsample")
log = logging.getLogger(__name__)

#: Long side (pixels) of a photo on the sheet, the rows it has, and the strengths shown.
THUMB_SIDE = 320
SHEET_ROWS = 6
DEFAULT_STRENGTHS = (0.5, 1.0)
SHEET_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}


def check_target(path: str | os.PathLike, inputs: Sequence[str | os.PathLike],
                 outputs: Sequence[str | os.PathLike] = ()) -> None:
    """Refuse, before any work, a sheet path that is one of the inputs or one of the
    outputs the run writes (or skips as already written)."""
    target = Path(path).expanduser().resolve()
    if any(Path(p).resolve() == target for p in inputs):
        raise UsageError(f"--contact-sheet {path}: that is one of the photos to relight; "
                         "choose another path")
    if any(Path(p).resolve() == target for p in outputs):
        raise UsageError(f"--contact-sheet {path}: that is where a relit photo goes; "
                         "choose another path, e.g. beside the output folder")


def sheet_format(path: str | os.PathLike) -> str:
    """JPEG or PNG, from the sheet's file name; anything else is a :class:`UsageError`."""
    fmt = SHEET_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"--contact-sheet {path}: name a .jpg or .png file")
    return fmt


def _numbers(value: str | Sequence[float], option: str, low: float, high: float,
             example: str) -> tuple[float, ...]:
    """Numbers from ``a,b,c`` (or a sequence), each from ``low`` to ``high``, repeats dropped."""
    bad = UsageError(f"{option} {value}: use numbers from {low:g} to {high:g}, e.g. {example}")
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        numbers = tuple(float(p) for p in parts if str(p).strip())
    except ValueError:
        raise bad from None
    if not numbers or not all(low <= n <= high for n in numbers):  # NaN fails too
        raise bad
    return tuple(dict.fromkeys(numbers))


def parse_strengths(value: str | Sequence[float] | None) -> tuple[float, ...]:
    """The sheet's strengths from ``0.5,1`` (or numbers); None gives the default."""
    if value is None:
        return DEFAULT_STRENGTHS
    return _numbers(value, "--sheet-strengths", 0.0, 2.0, "0.5,1")


def parse_exposures(value: str | Sequence[float] | None) -> tuple[float, ...] | None:
    """The sheet's exposures (values of ``--exposure``, EV) from ``-1,0,1``; None: only the
    run's own exposure."""
    if value is None:
        return None
    return _numbers(value, "--sheet-exposures", -4.0, 4.0, "-1,0,1")


@dataclass
class SheetRow:
    """One photo on the sheet: its job, and small copies (1 x 3 x h x w float, CPU) of the
    method's input and of its result before the look."""

    job: Any
    flash: Any
    out: Any


def _small(x: torch.Tensor, side: int) -> torch.Tensor:

    x = x.detach().cpu()
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    size = upsample.working_shape(x.shape[-2], x.shape[-1], side)
    return x if tuple(x.shape[-2:]) == size else upsample.downscale(x, size)


class SheetCollector:
    """Keeps small copies of the first ``rows`` photos the runner relights."""

    def __init__(self, rows: int = SHEET_ROWS, side: int = THUMB_SIDE) -> None:
        self.rows, self.side = max(1, int(rows)), side
        self.kept: list[SheetRow] = []
        self._seen: list[tuple[Any, Any] | None] = []

    def begin(self) -> None:
        """A batch starts: forget what a failed one saw."""
        self._seen = []

    def seen(self, flash: torch.Tensor, out: torch.Tensor) -> None:
        """The method's input and result (N x 3 x H x W) for the next photos of the batch."""
        for i in range(flash.shape[0]):
            wanted = len(self.kept) + len(self._seen) < self.rows
            self._seen.append((_small(flash[i:i + 1], self.side), _small(out[i:i + 1], self.side))
                              if wanted else None)

    def keep(self, jobs: Sequence[Any]) -> None:
        """The batch of ``jobs`` succeeded: keep its photos (in the order seen)."""
        for job, seen in zip(jobs, self._seen, strict=False):
            if seen is not None and len(self.kept) < self.rows:
                self.kept.append(SheetRow(job, *seen))
        self._seen = []

    @staticmethod
    def check_target(path: str | os.PathLike, inputs: Sequence[str | os.PathLike],
                     outputs: Sequence[str | os.PathLike] = ()) -> None:
        check_target(path, inputs, outputs)

    def write(self, path: str | os.PathLike, strengths: Sequence[float], look: Any,
              done: Sequence[str], protect: tuple[Path, ...] = (),
              exposures: Sequence[float] | None = None) -> str | None:
        """Write the sheet of the kept photos whose result has a status in ``done`` (never
        onto one of ``protect``, the inputs); None, with a warning, when there is none."""
        rows = [r for r in self.kept if r.job.result is not None and r.job.result.status in done]
        written = write_contact_sheet(path, rows, strengths, look, protect=protect,
                                      exposures=exposures)
        if written is None:
            log.warning("no contact sheet: no photo was relit in this run (outputs made before "
                        "are skipped; --overwrite relights them)")
        return str(written) if written is not None else None


def _to_u8(x: torch.Tensor) -> torch.Tensor:
    return x[0].clamp(0, 1).mul(255).round().to(torch.uint8)


def sheet_looks(strengths: Sequence[float], look: Any, exposures: Sequence[float] | None = None
                ) -> list[tuple[str, Any]]:
    """The sheet's result columns: a label and the look, for each strength and, when
    ``exposures`` are given, each exposure (else the run's own)."""
    if not exposures:
        return [(f"strength {s:g}", dataclasses.replace(look, strength=s)) for s in strengths]
    return [(f"strength {s:g}, exposure {e:+g}", dataclasses.replace(look, strength=s, exposure=e))
            for s in strengths for e in exposures]


def sheet_cells(rows: Sequence[SheetRow], strengths: Sequence[float], look: Any,
                exposures: Sequence[float] | None = None
                ) -> tuple[list[str], list[list[tuple[Any, str]]]]:
    """The sheet's column labels and cells: per row the flash photo (captioned with its file
    name), then the result at each strength (and exposure, see :func:`sheet_looks`),
    captioned with the exposure applied."""
    columns = sheet_looks(strengths, look, exposures)
    labels = ["flash", *(label for label, _ in columns)]
    cells = []
    for row in rows:
        line = [(_to_u8(row.flash), Path(row.job.source.path).name)]
        for _, cell_look in columns:
            image, stats = apply_look(row.flash, row.out, cell_look)
            ev = stats[0].get("camera", {}).get("exposure_ev")
            line.append((_to_u8(image), "" if ev is None else f"{round(ev, 2) or 0.0:+.2f} EV"))  # no "-0.00"
        cells.append(line)
    return labels, cells


def write_contact_sheet(path: str | os.PathLike, rows: Sequence[SheetRow],
                        strengths: Sequence[float], look: Any,
                        protect: tuple[Path, ...] = (),
                        exposures: Sequence[float] | None = None) -> Path | None:
    """Draw the sheet and write it atomically to ``path`` (never onto one of ``protect``,
    the inputs); None (nothing written) when no photo was relit."""

    if not rows:
        return None
    target = Path(path).expanduser()
    fmt = sheet_format(target)
    sheet = grid_sheet(*sheet_cells(rows, strengths, look, exposures))
    ensure_dir(target.parent)
    check = functools.partial(verify_image, fmt=fmt, size=sheet.size)
    with atomic_path(target, protect=protect, verify=check) as tmp:
        sheet.save(tmp, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return target
