"""The one way to import lazily (docs/architecture.md, "Importing lazily"), checked on the source.

A heavy module is bound by ``lazy_module`` at the top of a module, in the ``else`` of an
``if TYPE_CHECKING:`` that imports it for real; a package re-exports through ``lazy_exports``
with the same names imported under ``TYPE_CHECKING``; no module writes its own
``__getattr__``; an import inside a function breaks a cycle or probes an optional package,
and says so in a comment.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Modules whose function-level imports are still being converted (issue 24, item 5), with
#: how many are left: the number may only go down, and a module leaves when it reaches 0.
PENDING: dict[str, int] = {}


def _sources():
    for top in ("flashcli", "plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/tests/" not in rel:
                yield rel, path.read_text()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def _imported_names(body: list[ast.stmt]) -> set[str]:
    names = set()
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] if isinstance(node, ast.Import) and not a.asname
                      else (a.asname or a.name) for a in node.names}
    return names


def _type_checking_names(tree: ast.Module) -> set[str]:
    return {n for node in tree.body if _is_type_checking(node) for n in _imported_names(node.body)}


def test_no_module_writes_its_own_getattr():
    found = [f"{rel}:{node.lineno}" for rel, text in _sources()
             for node in ast.parse(text).body
             if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]
    assert found == []


def test_lazy_module_is_bound_at_the_top_beside_its_type_checking_import():
    found = []
    for rel, text in _sources():
        if rel == "flashcli/runtime/lazy.py":
            continue
        tree = ast.parse(text)
        allowed = set()
        for node in tree.body:
            if _is_type_checking(node):
                real = _imported_names(node.body)
                for stmt in node.orelse:
                    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in real):
                        allowed.add(id(stmt.value))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_module"
                    and id(node) not in allowed):
                found.append(f"{rel}:{node.lineno}")
    assert found == []


def _lazy_export_modules():
    for rel, text in _sources():
        if "lazy_exports(__name__" in text and rel != "flashcli/runtime/lazy.py":
            parts = Path(rel).with_suffix("").parts
            parts = parts[1:] if parts[0] == "plugins" else parts
            yield rel, ".".join(p for p in parts if p != "__init__"), text


@pytest.mark.parametrize(("rel", "module", "text"), list(_lazy_export_modules()),
                         ids=lambda v: v if isinstance(v, str) and v.endswith(".py") else "")
def test_lazy_exports_are_imported_under_type_checking(rel, module, text):
    getattr_ = importlib.import_module(module).__dict__["__getattr__"]
    exports = inspect.getclosurevars(getattr_).nonlocals["exports"]
    assert set(exports) - _type_checking_names(ast.parse(text)) == set()


def _function_imports(text: str) -> list[int]:
    """Lines of imports inside a function (not under TYPE_CHECKING) whose comment (on the line
    or the one above) names no reason: "cycle" or "optional"."""
    lines = text.splitlines()
    out = []
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        skip = {id(n) for node in ast.walk(fn) if _is_type_checking(node)
                for stmt in node.body for n in ast.walk(stmt)}
        for node in ast.walk(fn):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
                near = " ".join(lines[max(node.lineno - 2, 0):node.end_lineno]).lower()
                if "cycle" not in near and "optional" not in near:
                    out.append(node.lineno)
    return sorted(set(out))


def test_function_level_imports_only_break_cycles():
    found, counts = [], {}
    for rel, text in _sources():
        lines = _function_imports(text)
        counts[rel] = len(lines)
        if lines and len(lines) > PENDING.get(rel, 0):
            found.append(f"{rel}: {len(lines)} function-level imports without a reason "
                         f"(lines {lines}; allowed {PENDING.get(rel, 0)})")
    assert found == []
    assert [rel for rel, n in PENDING.items() if counts.get(rel, 0) < n] == [], \
        "lower PENDING to what is left"
