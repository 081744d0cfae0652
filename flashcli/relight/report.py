"""What a relight run did: one :class:`FileResult` per photo and the :class:`RelightReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashcli.relight.discover import describe_ignored

# Fates of a file.
PROCESSED = "processed"
WOULD_PROCESS = "would-process"
SKIP_NO_FLASH = "skipped-no-flash"
SKIP_UNKNOWN = "skipped-unknown"
SKIP_EXISTS = "skipped-exists"
SKIP_OURS = "skipped-flashcli-output"
#: Relit again: the existing output was made with other settings (see relight.manifest).
REDONE = "redone-settings-changed"
FAILED = "failed"
STATUSES = (PROCESSED, REDONE, WOULD_PROCESS, SKIP_NO_FLASH, SKIP_UNKNOWN, SKIP_OURS, SKIP_EXISTS,
            FAILED)
#: The reason of a SKIP_EXISTS output with no record of the settings that made it.
UNKNOWN_SETTINGS = "made with unknown settings; --overwrite to redo"

#: Why each kind of photo was skipped, and the flag that includes it.
SKIP_HINTS = {
    SKIP_UNKNOWN: ("no EXIF flash information (scans, PNG exports, downloads)",
                   "--include-unknown relights them"),
    SKIP_NO_FLASH: ("the flash did not fire", "--all relights them"),
    SKIP_OURS: ("written by flashcli (EXIF Software: flashcli)", "--include-relit relights them again"),
    SKIP_EXISTS: ("the output exists already", "--overwrite replaces it"),
}


@dataclass
class FileResult:
    """What happened to one input photo."""

    source: Path
    output: Path | None
    status: str
    reason: str = ""
    flash: str = "unknown"
    megapixels: float = 0.0
    #: What was applied: ``camera`` (exposure EV, colour temperature, gains) and ``spatial``
    #: (the range of the rest, stops); see :func:`flashcli.ops.look.apply_look`.
    look: dict[str, Any] | None = None
    #: What the output does not keep of the photo ("alpha channel", "greyscale: written as
    #: colour"), or "".
    dropped: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {"source": str(self.source), "output": str(self.output) if self.output else None,
               "status": self.status, "reason": self.reason, "flash": self.flash,
               "megapixels": round(self.megapixels, 3)}
        if self.dropped:
            out["dropped"] = self.dropped
        if self.look is not None:
            out.update(self.look)
        return out


@dataclass
class RelightReport:
    """The outcome of a run: one :class:`FileResult` per photo, plus stage timings (s)."""

    files: list[FileResult] = field(default_factory=list)
    method: str = ""
    device: str = ""
    working_size: int | str | None = None
    dry_run: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    #: Share of the method's change applied (0: the photo as it is, 1: the full relight).
    strength: float = 1.0
    #: The user's look settings (strength, exposure, white_balance; see flashcli.ops.look).
    look: dict[str, Any] = field(default_factory=dict)
    #: The weights used (file, sha256, what they were trained on, provenance), if any.
    weights: dict[str, Any] | None = None
    #: Files passed over: other types, broken links (``flashcli.relight.discover.Ignored``).
    ignored: list[Any] = field(default_factory=list)
    #: The contact sheet written (``--contact-sheet``), None when none was.
    contact_sheet: str | None = None

    def with_status(self, status: str) -> list[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def processed(self) -> list[FileResult]:
        return self.with_status(PROCESSED)

    @property
    def skipped_no_flash(self) -> list[FileResult]:
        return self.with_status(SKIP_NO_FLASH)

    @property
    def skipped_unknown(self) -> list[FileResult]:
        return self.with_status(SKIP_UNKNOWN)

    @property
    def skipped_exists(self) -> list[FileResult]:
        return self.with_status(SKIP_EXISTS)

    @property
    def failed(self) -> list[FileResult]:
        return self.with_status(FAILED)

    def notes(self) -> list[str]:
        """One line per kind of skipped photo: how many, why, and the flag that includes them."""
        out = []
        for status, (why, flag) in SKIP_HINTS.items():
            n = len(self.with_status(status))
            if status == SKIP_EXISTS:  # those made with unknown settings get a line of their own
                n -= len(self.unknown_settings)
            if n:
                out.append(f"{n} photo{'s' if n > 1 else ''} skipped, {why}; {flag}")
        if self.unknown_settings:
            n = len(self.unknown_settings)
            out.append(f"{n} photo{'s' if n > 1 else ''} skipped, the output exists but was made "
                       "with unknown settings (not recorded); --overwrite redoes them")
        if self.redone:
            n = len(self.redone)
            out.append(f"{n} photo{'s' if n > 1 else ''} redone, the output was made with other "
                       "settings")
        return out + self.input_notes()

    def input_notes(self) -> list[str]:
        """What was passed over, and what the outputs do not keep, one line each."""
        out = []
        if self.ignored:
            out.append(f"passed over (not photos flashcli reads): {describe_ignored(self.ignored)}; "
                       "-v or --json names them")
        alpha = sum(1 for f in self.files if f.dropped.startswith("alpha"))
        if alpha:
            out.append(f"{alpha} photo{'s' if alpha > 1 else ''} had transparency (an alpha "
                       "channel), which the output does not keep: relight writes opaque RGB")
        grey = sum(1 for f in self.files if f.dropped.startswith("greyscale"))
        if grey:
            out.append(f"{grey} greyscale photo{'s' if grey > 1 else ''} written as colour (RGB)")
        return out

    @property
    def unknown_settings(self) -> list[FileResult]:
        """Existing outputs kept because nothing records the settings that made them."""
        return [f for f in self.with_status(SKIP_EXISTS) if f.reason == UNKNOWN_SETTINGS]

    @property
    def redone(self) -> list[FileResult]:
        return self.with_status(REDONE)

    def counts(self) -> dict[str, int]:
        return {s: len(self.with_status(s)) for s in STATUSES}

    @property
    def megapixels(self) -> float:
        """Megapixels processed (or, in a dry run, to be processed)."""
        return sum(f.megapixels for f in self.files if f.status in (PROCESSED, REDONE, WOULD_PROCESS))

    def to_dict(self) -> dict[str, Any]:
        wall = self.timings.get("wall", 0.0)
        return {
            "method": self.method, "device": self.device, "working_size": self.working_size,
            "strength": self.strength, **self.look, "weights": self.weights,
            "dry_run": self.dry_run, "counts": self.counts(),
            "megapixels": round(self.megapixels, 3),
            "megapixels_per_second": round(self.megapixels / wall, 3) if wall > 0 else None,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notes": self.notes(),
            "files": [f.to_dict() for f in self.files],
            "ignored": [i.to_dict() for i in self.ignored],
            "contact_sheet": self.contact_sheet,
        }


