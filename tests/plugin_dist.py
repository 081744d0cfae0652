"""Make throw-away installed distributions (a ``*.dist-info`` folder on ``sys.path``) so
tests exercise the real entry-point discovery path without pip. Each one depends on
flashcli's distribution, ``flashcli-relight`` (the name ``flashcli`` on PyPI is another
project), as a real plugin's ``pyproject.toml`` does."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: The distribution a plugin depends on (the import package and command stay ``flashcli``).
FLASHCLI_DIST = "flashcli-relight"


def make_dist(site: Path, name: str, version: str, entry_points: dict[str, str],
              modules: dict[str, str] | None = None, package_dirs: dict[str, Path] | None = None) -> Path:
    """Write ``name-version.dist-info`` with ``entry_points`` in the ``flashcli`` group,
    plus module sources (``modules``: import name -> code) into ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   f"Requires-Dist: {FLASHCLI_DIST}\n")
    lines = ["[flashcli]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for mod, code in (modules or {}).items():
        (site / f"{mod}.py").write_text(textwrap.dedent(code))
    return info
