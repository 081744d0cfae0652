"""JSON from files anyone may have written (sidecars, metadata, logs): size and depth capped.

``json.loads`` recurses once per nesting level, so a 200 kB file of ``[[[[...`` raises
RecursionError, and a 1 GB sidecar would be read whole. :func:`loads_untrusted` refuses both
with a ``ValueError`` before parsing.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from flashcli.io.fsutil import open_regular

#: Caps for metadata JSON (a sidecar is a few kB; the bundled one is under 4 kB).
MAX_BYTES = 1_000_000
MAX_DEPTH = 32

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text`` (strings ignored)."""
    deepest = level = 0
    for ch in _BRACKETS.findall(_STRINGS.sub('""', text)):
        level += 1 if ch in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def loads_untrusted(data: str | bytes, *, max_bytes: int = MAX_BYTES,
                    max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON that may be hostile: ``ValueError`` when it is over ``max_bytes``, nested
    deeper than ``max_depth``, holds NaN/Infinity or numbers out of float range, or is not
    JSON at all (a ``json.JSONDecodeError`` is a ``ValueError``)."""
    if len(data) > max_bytes:
        raise ValueError(f"{len(data)} bytes is over the limit of {max_bytes} for metadata")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text ({exc.reason})") from None
    if depth(data) > max_depth:
        raise ValueError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(data, parse_constant=_no_constants, parse_float=_finite_float)
    except RecursionError:  # cannot happen after the depth check; kept as a guard
        raise ValueError("nested too deeply") from None


def read_untrusted(path: str | Path, *, max_bytes: int = MAX_BYTES,
                   max_depth: int = MAX_DEPTH) -> Any:
    """:func:`loads_untrusted` on a regular file (``OSError`` when it cannot be read)."""
    with open_regular(path) as fh:
        data = fh.read(max_bytes + 1)
    return loads_untrusted(data, max_bytes=max_bytes, max_depth=max_depth)
