"""Issue 23, a photographer's and a researcher's first day: the distribution's own name,
the user install path in the README."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = "flashcli-relight"


def _toml(path: Path) -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the text checks below run anywhere
    return tomllib.loads(path.read_text())


def test_the_distribution_has_a_name_of_its_own():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^name = "{DIST}"$', text, re.M)  # `flashcli` on PyPI is another project
    project = _toml(ROOT / "pyproject.toml")["project"]
    assert project["name"] == DIST
    assert project["scripts"] == {"flashcli": "flashcli.cli:main"}


def test_the_installed_distribution_provides_the_builtin_methods():
    from flashcli.plugins import registry

    assert md.version(DIST)
    assert registry().methods["identity"].plugin.dist == DIST


def test_example_plugins_and_docs_depend_on_that_name():
    for example in ("flashcli-gamma", "flashcli-tinynet"):
        text = (ROOT / "docs" / "examples" / example / "pyproject.toml").read_text()
        assert f'dependencies = ["{DIST}"]' in text, example
        deps = _toml(ROOT / "docs" / "examples" / example / "pyproject.toml")["project"]["dependencies"]
        assert deps == [DIST], example
    plugins_md = (ROOT / "docs" / "plugins.md").read_text()
    assert f'dependencies = ["{DIST}"]' in plugins_md
    assert 'dependencies = ["flashcli"]\n' not in plugins_md


def test_test_plugins_declare_the_dependency(tmp_path):
    from plugin_dist import make_dist

    info = make_dist(tmp_path, "fx-dep", "1.0", {"x": "fx_x"})
    assert f"Requires-Dist: {DIST}" in (info / "METADATA").read_text()


def test_readme_keeps_the_setup_commands_and_adds_a_user_install():
    text = (ROOT / "README.md").read_text()
    head = text.split("## Install (photographers)")[0]
    assert 'python -m pip install -e ".[dev]"' in head and "python -m pytest -q" in head
    install = text.split("## Install (photographers)")[1].split("\n## ")[0]
    assert "python -m venv" in install
    assert "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu" in install
    assert install.index("download.pytorch.org") < install.rindex("pip install .")
    assert re.search(r"RAW", install) and "HEIC" in install and DIST in install
