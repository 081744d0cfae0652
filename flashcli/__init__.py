"""flashcli: turn flash photographs into natural, ambient-lit ones."""

__version__ = "0.1.0"

from flashcli.hookspecs import hookimpl  # noqa: E402

__all__ = ["__version__", "hookimpl"]
