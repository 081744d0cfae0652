"""Options shared by the group and every command (``--device``, ``-v``, ``-q``)."""

from __future__ import annotations

import click

from flashcli.commands._console import settings


def _set_device(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings(ctx).device = value


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        s = settings(ctx)
        s.verbose = max(s.verbose, value)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        settings(ctx).quiet = True


def common_options(f):
    """``--device``, ``-v`` and ``-q``, accepted by the group and by every command."""
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                     is_eager=True, help="Only errors and warnings (and --json output).")(f)
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
                     is_eager=True, help="More detail; tracebacks for errors.")(f)
    f = click.option("--device", default=None, metavar="auto|cpu|cuda|cuda:N", expose_value=False,
                     callback=_set_device, is_eager=True,
                     help="Where to compute (default auto: CUDA when available).")(f)
    return f
