"""Issue 23, looking before choosing: a method's options, relight's contact sheet, eval's
per-category results and 80-column tables, all checked through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from flashcli.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, **env: str):
    return CliRunner(env=env or None).invoke(cli, [str(a) for a in args])


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


# --- item 1: `flashcli plugins METHOD` -------------------------------------------------------

def test_plugins_method_lists_options_with_help_and_ranges():
    r = _run("plugins", "lime", COLUMNS="100")
    assert r.exit_code == 0, r.output
    lines = {line.split()[1]: line for line in r.output.splitlines()
             if line.startswith("│") and len(line.split()) > 1}
    assert "0.15" in lines["lambda"] and "0 <= lambda" in lines["lambda"]
    assert "structure-aware" in lines["lambda"]
    assert "1 <= max_iter" in lines["max_iter"] and "200" in lines["max_iter"]
    assert "0 < sigma" in lines["sigma"]
    choices = _run("plugins", "guided-cgan", COLUMNS="120")
    assert choices.exit_code == 0 and "image | gain" in choices.output


def test_plugins_method_json_and_unknown_method():
    r = _run("plugins", "lime", "--json")
    assert r.exit_code == 0, r.output
    report = _json(r)
    assert [m["name"] for m in report["methods"]] == ["lime"]
    lam = {o["name"]: o for o in report["methods"][0]["option_details"]}["lambda"]
    assert lam == {"name": "lambda", "type": "float", "default": 0.15, "choices": None,
                   "minimum": 0.0, "maximum": None, "positive": False, "range": "0 <= lambda",
                   "help": "weight of the structure-aware smoothing"}
    bad = _run("plugins", "limey")
    assert bad.exit_code == 2
    assert len(bad.output.strip().splitlines()) == 1
    assert "limey" in bad.output and "lime" in bad.output and "guided-cgan" in bad.output


def test_plugins_method_does_not_import_torch():
    code = ("import sys; from click.testing import CliRunner; from flashcli.cli import cli; "
            "r = CliRunner().invoke(cli, ['plugins', 'guided-cgan']); "
            "assert r.exit_code == 0 and 'max_stops' in r.output, r.output; "
            "print('torch' in sys.modules)")
    paths = [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
