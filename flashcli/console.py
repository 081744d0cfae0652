"""Terminal output: rich consoles, progress bars and JSON, honouring -q, -v and NO_COLOR."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class Settings:
    """Options every command honours (``--device``, ``-v``, ``-q``)."""

    device: str = "auto"
    verbose: int = 0
    quiet: bool = False


settings = Settings()


def _console(stderr: bool) -> Console:
    no_color = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False)


def out() -> Console:
    """Console for results (stdout)."""
    return _console(False)


def err() -> Console:
    """Console for progress and diagnostics (stderr)."""
    return _console(True)


def info(message: str) -> None:
    if not settings.quiet:
        err().print(message)


def debug(message: str) -> None:
    if settings.verbose and not settings.quiet:
        err().print(f"[dim]{message}[/dim]")


def warn(message: str) -> None:
    """One line on stderr (never wrapped, so each problem stays one line in logs)."""
    err().print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def progress(*extra_columns: Any, transient: bool = False) -> Progress:
    """A rich progress bar on stderr; silent with -q or when stderr is not a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err(),
        transient=transient,
        disable=settings.quiet or not sys.stderr.isatty(),
    )


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (for scripts)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
