"""The layering rules of docs/architecture.md, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from flashcli.plugins import registry

CORE = Path(__file__).resolve().parents[2] / "flashcli"
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


#: The foundation under the library (docs/architecture.md): each package may import itself,
#: the packages named here, ``flashcli.errors`` and ``flashcli.__version__``, nothing above.
FOUNDATION = {"runtime": set(), "io": {"runtime"}, "ops": {"runtime"}}


def _flashcli_modules_named(tree: ast.AST) -> set[str]:
    """Every flashcli module a tree imports, at the top or in a function, or binds lazily."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "flashcli":
            out |= {f"flashcli.{a.name}" for a in node.names if a.name != "__version__"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            out.add(node.args[0].value)
    return {m for m in out if m == "flashcli" or m.startswith("flashcli.")}


def test_the_foundation_imports_nothing_above_it():
    above = []
    for name, tree in _modules():
        package = name.split("/")[0]
        if package not in FOUNDATION:
            continue
        allowed = {package, *FOUNDATION[package]}
        for mod in _flashcli_modules_named(tree):
            parts = mod.split(".")
            if mod in ("flashcli", "flashcli.errors") or parts[1] in allowed:
                continue
            above.append(f"{name}: {mod}")
    assert above == []


@pytest.mark.parametrize("module", ["flashcli.commands.eval", "flashcli.commands.relight"])
def test_commands_do_not_import_the_cli_module(module):
    import importlib

    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    assert "flashcli.cli" not in _imports(module, tree, {"flashcli.cli"})


ROOTS = (CORE.parent, CORE.parent / "plugins")  # where flashcli.* and the plugins' packages are


def _file_of(module: str) -> Path | None:
    """The folder (a package) or file of a flashcli or plugin module, or None."""
    for root in ROOTS:
        path = root.joinpath(*module.split("."))
        if path.is_dir() or path.with_suffix(".py").exists():
            return path
    return None


def _package_of(module: str) -> str:
    """The package a module belongs to (a package belongs to itself)."""
    path = _file_of(module)
    return module if path is not None and path.is_dir() else module.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _all_modules():
    """(shown path, dotted name, tree) of every module of flashcli/ and plugins/."""
    for root, top in ((CORE.parent, CORE), (CORE.parent / "plugins", CORE.parent / "plugins")):
        for path in sorted(top.rglob("*.py")):
            rel = path.relative_to(root)
            name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            yield path.relative_to(CORE.parent).as_posix(), name, ast.parse(path.read_text())


def _private_use(name: str, here: str, module: str, attr: str) -> str | None:
    """Why ``module.attr`` (imported or used in module ``name`` of package ``here``) is
    another module's private name, or None: a private module (``commands._console``) is
    its package's to use; a private function, class or constant is its own module's."""
    if not _private(attr) or module == name:
        return None
    full = f"{module}.{attr}"
    if _file_of(full) is not None:  # a private submodule
        return None if _package_of(module) == here else full
    return full


def test_no_module_uses_another_modules_private_names():
    """``from flashcli.a.b import _helper`` or ``b._helper`` anywhere but in ``a.b`` itself
    (flashcli/ and plugins/): what another module needs is public. A private module
    (``flashcli/commands/_console.py``) is used within its package."""
    found = []
    for rel, name, tree in _all_modules():
        here = _package_of(name)
        modules = {}  # local name -> module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update({a.asname or a.name: a.name for a in node.names
                                if _file_of(a.name) is not None})
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*here.split(".")[:len(here.split(".")) - node.level + 1],
                                     *([base] if base else [])])
                if _file_of(base) is None:
                    continue
                for a in node.names:
                    why = _private_use(name, here, base, a.name)
                    if why:
                        found.append(f"{rel}:{node.lineno} imports {why}")
                    if _file_of(f"{base}.{a.name}") is not None:
                        modules[a.asname or a.name] = f"{base}.{a.name}"
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                  and getattr(node.value.func, "id", None) == "lazy_module"
                  and isinstance(node.value.args[0], ast.Constant)):
                modules.update({t.id: node.value.args[0].value for t in node.targets
                                if isinstance(t, ast.Name)})
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in modules:
                why = _private_use(name, here, modules[node.value.id], node.attr)
                if why:
                    found.append(f"{rel}:{node.lineno} uses {why}")
    assert found == []


def test_the_private_name_rule_sees_what_it_should():
    """The rule above on made-up modules: it would catch a cross-module private import."""
    assert _private_use("flashcli.relight.run", "flashcli.relight", "flashcli.relight.plan",
                        "_reason") == "flashcli.relight.plan._reason"
    assert _private_use("flashcli.commands.info", "flashcli.commands", "flashcli.commands",
                        "_console") is None
    assert _private_use("flashcli.cli", "flashcli", "flashcli.commands", "_console") \
        == "flashcli.commands._console"
    assert _private_use("flashcli.io.imageio", "flashcli.io", "flashcli.io.raw", "RAW_EXTENSIONS") is None
