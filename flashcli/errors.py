"""The exceptions that end a command with a one-line message (no traceback).

They are plain Python exceptions: the CLI layer (``flashcli/cli.py``) turns them into one
line on stderr and the exception's ``exit_code``.
"""

from __future__ import annotations


class FlashcliError(Exception):
    """A problem with the user's input: printed as one line, exit status 1, no traceback.

    Write the message as "what is wrong (with which file): how to fix it".
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message

    def __str__(self) -> str:
        return self.message


class UsageError(FlashcliError):
    """The command line itself is wrong (exit status 2, as click's usage errors)."""

    exit_code = 2


class WeightsError(FlashcliError):
    """Missing, unreadable or unsafe weights."""


class MethodError(RuntimeError):
    """A method (plugin code) failed on a batch: raised, called ``sys.exit``, or returned
    something unusable. Fails that method on those images, never the whole command."""
