"""Import a heavy module (torch: about 2 s) only when code first uses it.

``torch = lazy_module("torch")`` at the top of a module keeps ``import flashcli.x`` fast for
the commands that make no tensors (``--help``, ``plugins``, ``info``); the first attribute
read (``torch.tensor``) imports the real module, and later reads are forwarded to it.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for a module until one of its attributes is read."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self) -> ModuleType:
        module = object.__getattribute__(self, "_module")
        if module is None:
            module = importlib.import_module(object.__getattribute__(self, "_name"))
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {object.__getattribute__(self, '_name')}>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` that imports on first use."""
    return LazyModule(name)


def lazy_exports(package: str, exports: dict[str, str]) -> Any:
    """A module-level ``__getattr__`` (PEP 562) that imports an exported name on first read.

    ``__getattr__ = lazy_exports(__name__, {"UNet": "flashcli_unet.network"})`` lets
    ``from flashcli_unet import UNet`` work while ``import flashcli_unet`` stays free of
    torch: plugins are imported by every command, even ``flashcli --help``.
    """

    def __getattr__(attr: str) -> Any:
        if attr not in exports:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(exports[attr]), attr)
        setattr(sys.modules[package], attr, value)  # later reads skip this function
        return value

    return __getattr__
