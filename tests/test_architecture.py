"""The layering rules of docs/architecture.md, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flashcli.plugins import registry

CORE = Path(__file__).resolve().parents[1] / "flashcli"
CLI_LAYER = ("cli.py", "commands")
#: Exceptions to the 60-line rule ("module:function"); keep it empty.
LONG_ALLOWED: set[str] = set()


def _modules():
    for path in sorted(CORE.rglob("*.py")):
        yield path.relative_to(CORE).as_posix(), ast.parse(path.read_text())


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings(tree: ast.AST) -> list[str]:
    """String constants of the code, docstrings left out (comments are not in the AST)."""
    skip = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def test_only_the_cli_layer_imports_click_or_rich():
    offenders = []
    for name, tree in _modules():
        if name == CLI_LAYER[0] or name.startswith(CLI_LAYER[1] + "/"):
            continue
        for node in ast.walk(tree):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{name}: {m}" for m in mods if m.split(".")[0] in ("click", "rich")]
    assert offenders == []


def test_the_core_names_no_installed_method_and_no_vgg_outside_nn():
    methods = set(registry().methods)
    assert {"identity", "guided-cgan"} <= methods  # the check below means something
    found = []
    for name, tree in _modules():
        for text in _strings(tree):
            found += [f"{name}: {m!r} in {text!r}" for m in methods if m in text]
            if not name.startswith("nn/") and "vgg" in text.lower():
                found.append(f"{name}: vgg in {text!r}")
    assert found == []


def test_no_function_over_60_lines():
    long = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60 and f"{name}:{node.name}" not in LONG_ALLOWED:
                    long.append(f"{name}:{node.name} ({lines} lines)")
    assert long == []


def test_library_code_does_not_print():
    printing = []
    for name, tree in _modules():
        if name == CLI_LAYER[0] or name.startswith(CLI_LAYER[1] + "/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                printing.append(f"{name}:{node.lineno}")
    assert printing == []


def _imports(name: str, tree: ast.AST, known: set[str]) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            out |= subs if len(subs) == len(node.names) else ({node.module} & known) | subs
    out.discard(name)
    return out


def test_no_import_cycle():
    trees = {}
    for rel, tree in _modules():
        mod = "flashcli." + rel.removesuffix(".py").replace("/", ".")
        trees[mod.removesuffix(".__init__")] = tree
    graph = {m: _imports(m, t, set(trees)) for m, t in trees.items()}

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += graph[m]
        return seen

    assert [m for m in graph if m in reach(m)] == []


@pytest.mark.parametrize("module", ["flashcli.commands.eval", "flashcli.commands.relight"])
def test_commands_do_not_import_the_cli_module(module):
    import importlib

    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    assert "flashcli.cli" not in _imports(module, tree, {"flashcli.cli"})


def _package_of(module: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    path = CORE.parent.joinpath(*module.split("."))
    return module if path.is_dir() else module.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_is_imported_across_packages():
    """``from flashcli.a.b import _helper`` (or ``b._helper``) only inside package ``flashcli.a``:
    what another package needs is public."""
    found = []
    for rel, tree in _modules():
        mod = "flashcli." + rel.removesuffix(".py").replace("/", ".")
        here = _package_of(mod.removesuffix(".__init__"))
        modules = {}  # local name -> flashcli module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update({a.asname or a.name: a.name for a in node.names
                                if a.name.startswith("flashcli")})
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (
                    node.module or "").startswith("flashcli"):
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if _private(a.name) and _package_of(node.module) != here:
                        found.append(f"{rel}:{node.lineno} imports {full}")
                    target = CORE.parent.joinpath(*full.split("."))
                    if target.is_dir() or target.with_suffix(".py").exists():
                        modules[a.asname or a.name] = full
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and _private(node.attr)
                    and _package_of(modules[node.value.id]) != here):
                found.append(f"{rel}:{node.lineno} uses {modules[node.value.id]}.{node.attr}")
    assert found == []
