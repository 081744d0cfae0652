"""Small helpers shared by the CLI tests: run a command, write a photo, check what a failure left."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import photo_factory as pf
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.io import fsutil

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str):
    """The command through click's runner."""
    return CliRunner().invoke(cli, list(args))


def run_wide(*args: str):
    """The command through click's runner, 400 columns wide: one line per table row."""
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "400"})


def run_subprocess(args: list[str], site: Path | None = None, **kw) -> subprocess.CompletedProcess:
    """``python -m flashcli ARGS`` in a fresh interpreter (``site``: an extra path first)."""
    env = {**os.environ, "NO_COLOR": "1", **kw.pop("env", {})}
    paths = [str(site)] if site else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT), str(ROOT / "plugins"),
                                         env.get("PYTHONPATH", "")])
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "flashcli", *args], env=env, text=True,
                          timeout=120, **kw)


def jpeg(path: Path, *args, **kwargs) -> Path:
    """A JPEG from ``photo_factory``, its folder made first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return pf.write_jpeg(path, *args, **kwargs)


def one_clean_line(stderr: str, *names: str) -> None:
    """``stderr`` is one line, no traceback, naming each of ``names``."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for name in names:
        assert name in stderr, (name, stderr)


def hashes(folder: Path) -> dict[str, str]:
    """The SHA-256 of every regular file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if fsutil.is_regular(p) and not p.is_symlink()}


def no_temp_files(folder: Path) -> None:
    """No temporary (``.part``) file is left below ``folder``."""
    left = [p for p in folder.rglob("*") if ".part" in p.name or fsutil.is_part_file(p.name)]
    assert left == [], left
