"""Which settings made each output: ``OUT/.flashcli-relight.json``.

A re-run into an output folder compares the settings of every existing output with its own:
an output made with the same settings is skipped (runs resume), one made with other
settings (another ``--strength``, method, weights, look, format...) is redone, and one that
is not recorded (written by an older flashcli, or by hand) is kept and reported as made with
unknown settings (``--overwrite`` redoes it).

The manifest maps each output's path relative to the output folder to the **fingerprint**
of the settings that made it (:func:`fingerprint`). It is written atomically
(:mod:`flashcli.io.fsutil`) as outputs finish, at most every :data:`FLUSH_SECONDS`, and once
more when the run ends or is interrupted, merged with what is on disk at that moment.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from flashcli.errors import FlashcliError
from flashcli.io.fsutil import atomic_write_text, is_regular
from flashcli.io.jsonsafe import loads_untrusted

log = logging.getLogger(__name__)

NAME = ".flashcli-relight.json"
VERSION = 1
#: At most one manifest write per this many seconds while outputs are being written.
FLUSH_SECONDS = 2.0
#: The settings a fingerprint holds, in the order differences are named.
KEYS = ("method", "options", "weights", "working_size", "strength", "exposure", "white_balance",
        "format", "quality", "bit_depth")


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples as lists, paths as text)."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def fingerprint(*, method: str, options: dict[str, Any], weights: dict[str, Any] | None,
                working_size: int | str, strength: float, exposure: float,
                white_balance: str | float, format: str, quality: int, bit_depth: int) -> dict:
    """The settings that decide an output's pixels and file. Weights count by content
    (sha256) and name; the JPEG quality only for JPEG files."""
    w = None
    if weights:
        w = {"name": Path(str(weights.get("file", ""))).name, "sha256": weights.get("sha256")}
    return _plain({
        "method": method, "options": options, "weights": w, "working_size": working_size,
        "strength": float(strength), "exposure": float(exposure), "white_balance": white_balance,
        "format": format, "quality": int(quality) if format == "jpeg" else None,
        "bit_depth": int(bit_depth),
    })


def _show(key: str, value: Any) -> str:
    if key == "weights":
        return "none" if not value else f"{value.get('name')} ({str(value.get('sha256'))[:12]})"
    if key == "options" and isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "none"
    return "?" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def differences(old: dict, new: dict) -> str:
    """The settings that differ, e.g. ``strength 1 -> 0, method A -> B``."""
    parts = []
    for key in KEYS:
        a, b = old.get(key), new.get(key)
        if key == "options" and isinstance(a, dict) and isinstance(b, dict) and old.get("method") == new.get("method"):
            changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            parts += [f"--opt {k} {_show('', a.get(k))} -> {_show('', b.get(k))}" for k in changed]
        elif a != b and not (key == "options" and old.get("method") != new.get("method")):
            parts.append(f"{key.replace('_', ' ')} {_show(key, a)} -> {_show(key, b)}")
    return ", ".join(parts) or "the recorded settings are not readable"


def load(output_dir: str | Path) -> dict[str, dict]:
    """The recorded fingerprints by output path (relative, POSIX); {} when there is no
    manifest, and {} with a warning when it cannot be read (every output then counts as
    made with unknown settings)."""
    path = Path(output_dir) / NAME
    if not path.exists():
        return {}
    try:
        if not is_regular(path):
            raise ValueError("not a regular file")
        data = loads_untrusted(path.read_bytes(), max_bytes=50_000_000, max_depth=16)
        outputs = data.get("outputs") if isinstance(data, dict) else None
        if not isinstance(outputs, dict):
            raise ValueError("no 'outputs' table")
        return {str(k): v for k, v in outputs.items() if isinstance(v, dict)}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.warning(f"{path}: cannot read the record of settings ({exc}); existing outputs "
                    "count as made with unknown settings (--overwrite redoes them)")
        return {}


def key_of(output: Path, output_dir: str | Path) -> str:
    """The manifest key of ``output``: its path under the output folder."""
    try:
        return output.relative_to(Path(output_dir)).as_posix()
    except ValueError:
        return output.as_posix()


class Recorder:
    """Collects the outputs written and the settings of each, and keeps the manifest up to
    date (thread-safe: encodes finish in worker threads)."""

    def __init__(self, output_dir: str | Path) -> None:
        self.dir = Path(output_dir)
        self.pending: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.last = time.monotonic()
        self.failed = False

    def add(self, output: Path, settings: dict) -> None:
        """Record that ``output`` was just written with ``settings`` (a fingerprint)."""
        with self.lock:
            self.pending[key_of(output, self.dir)] = settings
            due = time.monotonic() - self.last >= FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Merge what was written into the manifest on disk; a failure is one warning (the
        outputs stay; a later run counts them as made with unknown settings)."""
        with self.lock:
            if not self.pending or self.failed:
                return
            entries = {**load(self.dir), **self.pending}
            text = json.dumps({"version": VERSION, "outputs": dict(sorted(entries.items()))},
                              indent=1, sort_keys=True) + "\n"
            try:
                atomic_write_text(self.dir / NAME, text)
            except (FlashcliError, OSError) as exc:
                self.failed = True
                log.warning(f"{self.dir / NAME}: cannot record the settings of the outputs "
                            f"({getattr(exc, 'message', exc)}); a re-run will treat them as made "
                            "with unknown settings")
                return
            self.pending.clear()
            self.last = time.monotonic()
