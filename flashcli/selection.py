"""One way to name methods, their options and their weights, for every command.

- ``-m/--method NAME`` names a method; ``eval`` takes several (repeat it, or give a comma
  list; ``--methods A,B`` is the same). ``NAME@LABEL`` runs method NAME under another name,
  so one method can be scored twice in one table (``-m NAME -m NAME@mine``).
- ``--opt NAME.key=value`` sets an option of method (or label) NAME; a plain ``key=value``
  is enough when the command runs one method.
- ``--weights NAME=PATH`` gives the weights of method (or label) NAME; a plain ``PATH`` is
  enough when the command runs one method.

Text is parsed here, as typed on the command line, and nowhere else; this module imports
neither torch nor the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from flashcli import plugins
from flashcli.errors import UsageError

LABEL_SEP = "@"
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def method_of(label: str) -> str:
    """The method a name on the command line runs: ``NAME@mine`` -> ``NAME``."""
    return label.partition(LABEL_SEP)[0]


def check_label(label: str, flag: str = "--method") -> str:
    name, sep, tag = label.partition(LABEL_SEP)
    if not name.strip() or (sep and not _LABEL_RE.match(tag)):
        raise UsageError(f"{flag} {label!r}: expected NAME or NAME@LABEL (a label of letters, "
                         "digits, '.', '_', '+' or '-'), e.g. -m NAME@mine")
    return label.strip()


def parse_methods(items: str | Iterable[str] | None, flag: str = "--method") -> list[str] | None:
    """``-m A -m B,C`` (each value a name or a comma list) -> ``[A, B, C]`` (each once, in
    order); None when none was given."""
    if items is None:
        return None
    if isinstance(items, str):
        items = [items]
    items = list(items)
    if not items:
        return None
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if not names:
        raise UsageError(f"{flag} {','.join(items)!r}: no method named; list methods like {flag} A,B "
                         "(or -m A -m B) with names from `flashcli plugins`, or leave it out for the "
                         "default")
    return list(dict.fromkeys(check_label(n, flag) for n in names))


def _prefixed(text: str, methods: Sequence[str], sep: str) -> tuple[str, str] | None:
    """``(method, rest)`` when ``text`` starts with one of ``methods`` and ``sep`` (the
    longest such method: labels may contain dots)."""
    for name in sorted(methods, key=len, reverse=True):
        if text.startswith(name + sep):
            return name, text[len(name) + len(sep):]
    return None


def parse_options(items: Iterable[str], methods: Sequence[str] | None = None) -> dict[str, dict[str, str]]:
    """``--opt`` values -> ``{NAME: {key: value}}``. ``NAME.key=value`` always works; a plain
    ``key=value`` belongs to the only method when ``methods`` holds exactly one (None: the
    methods are not known yet, so every value must name its method)."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--opt {item!r}: expected NAME.key=value (or key=value with one "
                             "method), e.g. --opt NAME.gamma=0.7")
        scoped = _prefixed(key, methods or (), ".")
        if scoped is None and "." in key:
            scoped = key.split(".", 1)[0], key.split(".", 1)[1]  # not among the methods: said later
        if scoped is None:
            if methods is None or len(methods) != 1:
                which = f" ({', '.join(methods)})" if methods else ""
                raise UsageError(f"--opt {item!r}: expected NAME.key=value (several methods{which}), "
                                 f"e.g. --opt NAME.{key}={value}")
            scoped = methods[0], key
        name, option = scoped
        if not name or not option:
            raise UsageError(f"--opt {item!r}: expected NAME.key=value, e.g. --opt NAME.gamma=0.7")
        out.setdefault(name, {})[option] = value
    return out


def parse_weights(items: Iterable[str], methods: Sequence[str] | None = None) -> dict[str, str]:
    """``--weights`` values -> ``{NAME: PATH}``. ``NAME=PATH`` always works; a plain ``PATH``
    belongs to the only method when ``methods`` holds exactly one."""
    out: dict[str, str] = {}
    for item in items:
        item = str(item)
        scoped = _prefixed(item, methods or (), "=")
        if scoped is None:
            name, sep, path = item.partition("=")
            plain = (not sep or any(c in name for c in "/\\~") or Path(item).expanduser().exists())
            if plain and methods is not None and len(methods) == 1:
                scoped = methods[0], item
            elif sep and not plain:
                scoped = name.strip(), path
            else:
                which = f" ({', '.join(methods)})" if methods else ""
                raise UsageError(f"--weights {item!r}: expected NAME=PATH (several methods{which}), "
                                 "e.g. --weights NAME=runs/x")
        name, path = scoped
        if not name or not path.strip():
            raise UsageError(f"--weights {item!r}: expected NAME=PATH, e.g. --weights NAME=runs/x")
        out[name] = path.strip()
    return out


def one_method(method: str | None, opts: Iterable[str], weights: str | Iterable[str] | None,
               command: str) -> tuple[str | None, dict[str, str], str | None]:
    """For a command that runs one method (relight, train): the method (None: the default,
    unless options or weights name one), its options and its weights, from ``--opt`` values
    with or without ``NAME.`` and a ``--weights`` value with or without ``NAME=``."""
    opts = list(opts)
    weights = [weights] if isinstance(weights, str) else list(weights or [])
    named = method is not None and bool(method.strip())  # an empty name is refused later
    if not opts and not weights:
        return (method_of(check_label(method)) if named else method), {}, None
    label = check_label(method) if named else None
    if label is None:
        label = plugins.registry().default_method(command)
    options = parse_options(opts, [label])
    chosen = parse_weights(weights, [label])
    for what, given in (("--opt", options), ("--weights", chosen)):
        stray = sorted(set(given) - {label})
        if stray:
            raise UsageError(f"{what} given for {', '.join(stray)}, but this {command} runs {label}; "
                             f"drop the {what} or choose the method with -m {stray[0]}")
    return method_of(label) if named else method, options.get(label, {}), chosen.get(label)
