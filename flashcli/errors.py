"""The one exception type that ends a command with a one-line message."""

from __future__ import annotations

import click


class FlashcliError(click.ClickException):
    """A problem with the user's input: printed as one line, exit status 1, no traceback.

    Write the message as "what is wrong (with which file): how to fix it".
    """

    exit_code = 1


class WeightsError(FlashcliError):
    """Missing, unreadable or unsafe weights."""


class MethodError(RuntimeError):
    """A method (plugin code) failed on a batch: raised, called ``sys.exit``, or returned
    something unusable. Fails that method on those images, never the whole command."""
