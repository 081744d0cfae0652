"""Terminal output of the CLI layer: rich consoles, progress bars, JSON and the logging
handler that shows the library's warnings, honouring -q, -v and NO_COLOR.

Only ``flashcli/cli.py`` and ``flashcli/commands/`` import this module: the library reports
through callbacks, return values and :mod:`logging`, and never prints.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class Settings:
    """Options every command honours (``--device``, ``-v``, ``-q``), kept on the click
    context of one invocation (``ctx.meta``), never in a global."""

    device: str = "auto"
    verbose: int = 0
    quiet: bool = False


_KEY = "flashcli.settings"


def settings(ctx: click.Context | None = None) -> Settings:
    """The settings of the current invocation."""
    ctx = ctx or click.get_current_context()
    return ctx.meta.setdefault(_KEY, Settings())


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
    """One line on stderr unless -q (never wrapped, so a path is never broken)."""
    if not settings().quiet:
        err().print(escape(message), soft_wrap=True)


def debug(message: str) -> None:
    s = settings()
    if s.verbose and not s.quiet:
        err().print(f"[dim]{escape(message)}[/dim]")


def warn(message: str) -> None:
    """One line on stderr (never wrapped, so each problem stays one line in logs)."""
    err().print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (for scripts)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


class LogHandler(logging.Handler):
    """Shows the library's log records: warnings always (one line each), info unless -q,
    debug with -v. Other libraries' records below WARNING are dropped."""

    def __init__(self, state: Settings) -> None:
        super().__init__(logging.DEBUG)
        self.state = state

    def emit(self, record: logging.LogRecord) -> None:
        ours = record.name.split(".")[0].startswith("flashcli")
        try:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                warn(message)
            elif ours and record.levelno >= logging.INFO and not self.state.quiet:
                err().print(escape(message))
            elif ours and self.state.verbose and not self.state.quiet:
                err().print(f"[dim]{escape(message)}[/dim]")
        except Exception:  # noqa: BLE001 - logging must never break a command
            self.handleError(record)


class ProgressBar:
    """A rich progress bar on stderr for the library's ``on_progress(stage, done, total)``
    callbacks: one row per stage. Silent with -q or when stderr is not a terminal."""

    def __init__(self, *extra_columns: Any, transient: bool = False, enabled: bool = True) -> None:
        self.bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(), MofNCompleteColumn(), TaskProgressColumn(), *extra_columns,
            TimeElapsedColumn(), TimeRemainingColumn(),
            console=err(), transient=transient,
            disable=not enabled or settings().quiet or not sys.stderr.isatty(),
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int, **fields: Any) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total, **fields)
        self.bar.update(self.tasks[stage], completed=done, total=total, **fields)

    def __enter__(self) -> ProgressBar:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()
