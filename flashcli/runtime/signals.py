"""SIGTERM and SIGHUP take the same path as Ctrl-C.

Inside :func:`signals_as_interrupt`, SIGTERM and SIGHUP raise :class:`Terminated` (a
``KeyboardInterrupt``) in the main thread, so every ``finally`` and atomic write runs: a
finished file is renamed into place, a partial one removed. The exit status is 128 plus the
signal number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: The signals handled like SIGINT (those that exist on this platform).
SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP, raised like Ctrl-C; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(exc: BaseException) -> int:
    """128 + the signal number behind an interrupt (130 for a plain KeyboardInterrupt)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def _raise(signum, frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into :class:`Terminated` while the block runs (main thread only;
    elsewhere, and for signals someone set to be ignored, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    for s in SIGNALS:
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(s) is not signal.SIG_IGN:  # e.g. nohup: leave SIGHUP ignored
                old[s] = signal.signal(s, _raise)
    try:
        yield
    finally:
        for s, handler in old.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(s, handler)
