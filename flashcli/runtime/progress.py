"""The progress callback the library's long jobs accept (eval, train, synth, info).

A job calls ``progress(stage, done, total)`` with the counts so far, e.g.
``progress("evaluating", 12, 40)``; the CLI draws bars from these calls, scripts may log them
or pass nothing. Keyword fields (``**fields``) carry extra detail for a stage (the training
losses). Library code never prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: ``progress(stage, done, total, **fields)``.
ProgressFn = Callable[..., None]


def report(progress: ProgressFn | None | bool, stage: str, done: int, total: int,
           **fields: Any) -> None:
    """Call ``progress`` if one was given (None or False: no progress wanted)."""
    if callable(progress):
        progress(stage, done, total, **fields)
