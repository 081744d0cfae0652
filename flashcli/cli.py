"""The ``flashcli`` command group: thin click commands over the Python API.

This is the boundary between the library and the terminal: library errors
(:class:`~flashcli.errors.FlashcliError`) become one line on stderr and their exit code here,
and the library's log records are shown through :class:`~flashcli.commands._console.LogHandler`.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import pkgutil
import sys
import traceback

import click

from flashcli import __version__, plugins
from flashcli import commands as _commands
from flashcli.commands._console import LogHandler, Settings, settings
from flashcli.commands._options import common_options
from flashcli.errors import FlashcliError
from flashcli.io.decodefail import is_out_of_memory, one_line
from flashcli.io.fsutil import file_error
from flashcli.runtime.signals import exit_status, signals_as_interrupt

#: Core subcommands: every module ``flashcli.commands.<name>`` exposes ``command``.
CORE_COMMANDS = tuple(sorted(m.name for m in pkgutil.iter_modules(_commands.__path__) if not m.name.startswith("_")))

log = logging.getLogger(__name__)


class _CommandError(click.ClickException):
    """A library error on its way out: click prints ``Error: <message>`` and exits."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class FlashcliGroup(click.Group):
    """Adds the core commands and, once, the commands plugins register."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        try:
            reg = plugins.registry()
        except FlashcliError:
            return  # reported when a command needs the methods
        plugins.register_commands(self, reg)

    def invoke(self, ctx: click.Context):
        state = settings(ctx)
        handler = LogHandler(state)
        root, ours = logging.getLogger(), logging.getLogger("flashcli")
        level = ours.level
        root.addHandler(handler)
        ours.setLevel(logging.DEBUG)
        try:
            return self._invoke(ctx, state)
        finally:
            root.removeHandler(handler)
            ours.setLevel(level)

    def _invoke(self, ctx: click.Context, state: Settings):
        try:
            return super().invoke(ctx)
        except FlashcliError as exc:
            # One line for the user; with -v also the traceback of what caused it.
            if state.verbose and exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__, file=sys.stderr)
            raise _CommandError(exc.message, exc.exit_code) from exc
        except KeyboardInterrupt as exc:
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            what = "interrupted" if exit_status(exc) == 130 else f"stopped by {exc}"
            click.echo(f"\nflashcli: {what}; finished files are complete and nothing was left "
                       "half-written; run the same command again to continue", err=True)
            raise click.exceptions.Exit(exit_status(exc)) from None
        except (MemoryError, ImportError, RuntimeError) as exc:
            line = _memory_line(exc, ctx.invoked_subcommand)  # no file at hand (loading torch)
            if line is None:
                raise
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            raise _CommandError(line, 1) from None
        except UnicodeDecodeError:
            # Someone else's package metadata that is not UTF-8 breaks torch's import.
            bad = plugins.unreadable_metadata()
            if not bad:
                raise
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            raise _CommandError(f"the installed package {bad[0]} has an entry_points.txt that is not UTF-8, "
                                "and torch cannot load while it is there; reinstall or uninstall that "
                                "package", 1) from None
        except OSError as exc:
            # A file system problem no lower layer turned into a message (a folder in the
            # way, a full disk under stdout): one line, not a traceback.
            if exc.errno is None or exc.errno == errno.EPIPE:
                raise
            if state.verbose:
                traceback.print_exc(file=sys.stderr)
            _silence_stdout_if_broken()
            target = exc.filename if exc.filename is not None else "output"
            error = file_error(target, exc)
            raise _CommandError(error.message, error.exit_code) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None or cmd_name == "plugins":  # `plugins` also lists failed command hooks
            self._add_plugin_commands()
            cmd = super().get_command(ctx, cmd_name)
        return cmd


@click.group(cls=FlashcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flashcli")
@common_options
def cli() -> None:
    """Turn flash photographs into natural, ambient-lit ones.

    Methods come from plugins; `flashcli plugins` lists them.
    """
    state = settings()
    click.get_current_context().call_on_close(lambda: _report_plugin_failures(state))


def _memory_line(exc: BaseException, command: str | None) -> str | None:
    """One line for running out of memory outside any one photo's handling (torch failing to
    load under a low ``ulimit -v``, say), or None for other errors."""
    text = one_line(exc, typed=False)
    if isinstance(exc, ImportError):
        if "failed to map segment" not in text and not is_out_of_memory(exc):
            return None
        return (f"not enough memory to load torch ({text}); run with more memory (close other "
                "programs, or raise the limit: ulimit -v)")
    if not is_out_of_memory(exc):
        return None
    what = type(exc).__name__ if text == type(exc).__name__ else f"{type(exc).__name__}: {text[:120]}"
    fix = ", or leave the largest photos out with --max-pixels N" if command in ("relight", "info") else ""
    return (f"ran out of memory ({what}); run with more memory (close other programs, or "
            f"raise the limit: ulimit -v){fix}")


for _name in CORE_COMMANDS:
    cli.add_command(importlib.import_module(f"flashcli.commands.{_name}").command)


def _report_plugin_failures(state: Settings) -> None:
    if not state.verbose:
        return
    try:
        reg = plugins.registry()
    except FlashcliError:
        return
    for failed in reg.failures:
        print(f"flashcli: plugin {failed.name} ({failed.dist}) failed: {failed.error}", file=sys.stderr)


def _silence_stdout_if_broken() -> None:
    """When stdout cannot take more (``> /dev/full``), send the rest to /dev/null so the
    interpreter's last flush cannot print a traceback."""
    try:
        sys.stdout.flush()
    except OSError:
        with_devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(with_devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        finally:
            os.close(with_devnull)


def _tolerant_streams() -> None:
    """Characters the terminal's encoding lacks (``PYTHONIOENCODING=ascii`` and a file named
    ``phöto.jpg``) are printed as escapes, not raised."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def _reopen_closed_streams() -> bool:
    """Standard output or error closed (``flashcli info DIR >&-``): Python sets ``sys.stdout``
    to None, and the next file flashcli opens would take descriptor 1, so anything printed
    would land in an output photo. Put /dev/null on the closed descriptors and give Python a
    stream for each. True when standard output was closed."""
    stdout_closed = False
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        stdout_closed = stdout_closed or fd == 1
        try:
            try:
                os.fstat(fd)
            except OSError:  # closed: occupy it
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False, errors="backslashreplace"))  # noqa: SIM115
        except OSError:
            pass
    return stdout_closed


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: SIGTERM/SIGHUP end a command like Ctrl-C (exit 143/129)."""
    stdout_closed = _reopen_closed_streams()
    _tolerant_streams()
    code: int | str | None = 0
    try:
        with signals_as_interrupt():
            cli.main(args=argv, prog_name="flashcli", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
    try:
        sys.stdout.flush()
    except OSError as exc:
        _silence_stdout_if_broken()
        if exc.errno != errno.EPIPE:
            print(f"flashcli: cannot write the output ({exc.strerror}); "
                  "check where standard output goes", file=sys.stderr)
            code = code or 1
    if stdout_closed:
        print("flashcli: standard output is closed, so the output was discarded; "
              "run without >&- or redirect it to a file", file=sys.stderr)
        code = code or 1
    sys.exit(code)
