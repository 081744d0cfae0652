"""Plugin manager: loads the ``flashcli`` entry-point group and collects the methods.

Built-in methods arrive exactly like third-party ones: through entry points. A plugin
that fails to import or register is recorded (``registry().failures``) and never breaks
another command. ``FLASHCLI_DISABLE_PLUGINS=a,b`` switches plugins off by entry-point
or distribution name.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

import pluggy

from flashcli import hookspecs
from flashcli.enhancer import Enhancer, Option
from flashcli.errors import FlashcliError, UsageError
from flashcli.io.decodefail import one_line

GROUP = "flashcli"
log = logging.getLogger(__name__)
#: A method name: used on the command line and in file names, so plain characters only.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


@dataclass
class PluginInfo:
    """One entry point of the ``flashcli`` group."""

    name: str
    module: str
    dist: str
    version: str
    error: str | None = None
    obj: ModuleType | Any | None = None


@dataclass
class MethodInfo:
    name: str
    cls: Any
    plugin: PluginInfo

    @property
    def provided_by(self) -> str:
        return f"{self.plugin.dist} {self.plugin.version}".strip()


@dataclass
class Registry:
    manager: pluggy.PluginManager
    plugins: list[PluginInfo] = field(default_factory=list)
    methods: dict[str, MethodInfo] = field(default_factory=dict)

    @property
    def failures(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.error]

    def get(self, name: str) -> MethodInfo:
        if name not in self.methods:
            known = ", ".join(sorted(self.methods)) or "(none installed)"
            raise UsageError(f"unknown method {name!r}; available methods: {known} (see `flashcli plugins`)")
        return self.methods[name]

    def default_method(self, command: str) -> str:
        """The method a command uses when none is named (the one whose class lists
        ``command`` in ``default_for``; the first by name if several do)."""
        names = sorted(n for n, m in self.methods.items()
                       if command in getattr(m.cls, "default_for", ()))
        if not names:
            known = ", ".join(sorted(self.methods)) or "(none installed)"
            raise FlashcliError(f"no installed method is the default for {command}; name one with "
                                f"--method (available: {known})")
        return names[0]

    def reference_method(self) -> str | None:
        """The method marked ``reference = True`` (the first by name), or None."""
        names = sorted(n for n, m in self.methods.items() if getattr(m.cls, "reference", False))
        return names[0] if names else None

    def table_order(self, names) -> list[str]:
        """``names`` (each once) by the methods' ``table_rank``; unranked or unknown names
        follow alphabetically."""
        def key(name: str) -> tuple[int, float, str]:
            info = self.methods.get(name) or self.methods.get(name.partition("@")[0])  # NAME@LABEL
            rank = getattr(info.cls, "table_rank", None) if info is not None else None
            return (0, rank, name) if rank is not None else (1, 0.0, name)

        return sorted(dict.fromkeys(names), key=key)


def disabled_plugins() -> set[str]:
    raw = os.environ.get("FLASHCLI_DISABLE_PLUGINS", "")
    return {p.strip() for p in raw.split(",") if p.strip()}


def _dist_entry_points(dist: md.Distribution) -> list[tuple[md.EntryPoint, str, str]]:
    """The ``flashcli`` entry points of one distribution; [] when its metadata cannot be
    read (a package with a non-UTF-8 ``entry_points.txt`` must not break flashcli)."""
    try:
        eps = [ep for ep in dist.entry_points if ep.group == GROUP]
        if not eps:
            return []
        return [(ep, dist.metadata["Name"] or "?", dist.version or "") for ep in eps]
    except Exception as exc:  # noqa: BLE001 - someone else's broken metadata
        log.debug("skipping a distribution with unreadable metadata (%s: %s)", type(exc).__name__, exc)
        return []


def unreadable_metadata() -> list[str]:
    """The installed distributions whose ``entry_points.txt`` is not valid UTF-8 (torch's
    own entry-point scan fails on them), as "NAME (PATH)"."""
    bad = []
    for dist in md.distributions():
        try:
            dist.read_text("entry_points.txt")
        except UnicodeDecodeError:
            where = getattr(dist, "_path", None)
            name = dist.metadata["Name"] if dist.metadata is not None else None
            bad.append(f"{name or '?'} ({where})" if where else str(name or "?"))
        except Exception:  # noqa: BLE001 - other damage is not this problem
            continue
    return bad


def _entry_points() -> list[tuple[md.EntryPoint, str, str]]:
    seen: set[tuple[str, str]] = set()
    found = []
    for dist in md.distributions():
        for ep, dname, version in _dist_entry_points(dist):
            key = (ep.name, ep.value)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            found.append((ep, dname, version))
    return sorted(found, key=lambda t: t[0].name)


def check_method_class(cls: Any) -> str | None:
    """Why ``cls`` cannot be registered as a method (None when it can): it must be an
    :class:`~flashcli.enhancer.Enhancer` subclass with a plain name and well-formed
    class attributes, so that listing methods never runs into a broken one later."""
    if not isinstance(cls, type) or not issubclass(cls, Enhancer):
        return f"registered {cls!r}, which is not an Enhancer subclass"
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name:
        return f"registered {cls.__name__} has no name"
    if not NAME_RE.match(name):
        return (f"method name {name!r} is not a plain name (letters, digits and . _ + -, "
                "at most 64, starting with a letter or digit)")
    if not isinstance(getattr(cls, "description", ""), str):
        return f"method {name}: description must be a string"
    for flag in ("needs_weights", "trainable"):
        if not isinstance(getattr(cls, flag, False), bool):
            return f"method {name}: {flag} must be True or False"
    size = getattr(cls, "working_size", None)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 16):
        return f"method {name}: working_size must be None or a number of pixels >= 16"
    options = getattr(cls, "options", ())
    if not isinstance(options, (tuple, list)) or not all(isinstance(o, Option) for o in options):
        return f"method {name}: options must be a tuple of flashcli.enhancer.Option"
    names = [o.name for o in options]
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        return f"method {name}: option names must be unique, non-empty strings"
    for o in options:
        try:
            o.parse(o.default)
        except Exception as exc:  # noqa: BLE001 - a FlashcliError or worse
            return f"method {name}: the default of option {o.name} is invalid ({exc})"
    return None


def build_registry(extra_plugins: list[tuple[str, Any]] | None = None) -> Registry:
    """Load every plugin and collect its methods. ``extra_plugins`` adds in-process
    plugins as ``(name, module_or_object)`` (used by tests and embedding code)."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    reg = Registry(manager=pm)
    off = disabled_plugins()

    for ep, dist, version in _entry_points():
        if ep.name in off or dist in off:
            continue
        info = PluginInfo(ep.name, ep.value, dist, version)
        reg.plugins.append(info)
        try:
            info.obj = ep.load()
            pm.register(info.obj, name=ep.name)
        except (Exception, SystemExit) as exc:  # a broken plugin must not break flashcli
            info.error = one_line(exc, typed=True)
    for name, obj in extra_plugins or ():
        info = PluginInfo(name, getattr(obj, "__name__", repr(obj)), "(in-process)", "", obj=obj)
        reg.plugins.append(info)
        try:
            pm.register(obj, name=name)
        except Exception as exc:
            info.error = one_line(exc, typed=True)

    by_obj = {id(p.obj): p for p in reg.plugins if p.obj is not None and not p.error}
    for impl in pm.hook.flashcli_register_enhancers.get_hookimpls():
        info = by_obj.get(id(impl.plugin))
        if info is None:
            continue
        staged: list[Any] = []
        try:
            impl.function(register=staged.append)
        except (Exception, SystemExit) as exc:
            info.error = one_line(exc, typed=True)
            continue
        problems = [p for p in map(check_method_class, staged) if p]
        if problems:
            info.error = "; ".join(problems)
            continue
        for cls in staged:
            other = reg.methods.get(cls.name)
            if other is not None:
                raise FlashcliError(
                    f"method {cls.name!r} is registered twice: by {other.provided_by} "
                    f"(plugin {other.plugin.name}) and by {info.dist} {info.version} (plugin {info.name}); "
                    f"uninstall one or set FLASHCLI_DISABLE_PLUGINS={info.name}"
                )
            reg.methods[cls.name] = MethodInfo(cls.name, cls, info)
    return reg


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    return build_registry()


def reset() -> None:
    """Forget the loaded registry (after installing plugins or changing the environment)."""
    registry.cache_clear()


def register_commands(cli: Any, reg: Registry) -> None:
    """Let every plugin add its click commands; failures are recorded, not raised."""
    by_obj = {id(p.obj): p for p in reg.plugins if p.obj is not None}
    for impl in reg.manager.hook.flashcli_register_commands.get_hookimpls():
        info = by_obj.get(id(impl.plugin))
        try:
            impl.function(cli=cli)
        except (Exception, SystemExit) as exc:
            if info is not None:
                info.error = one_line(exc, typed=True)
            log.debug("flashcli: plugin %s failed to add commands: %s", impl.plugin_name, exc)
