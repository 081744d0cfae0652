"""Start-up without torch: commands that make no tensors (--help, plugins, info) never
import it, with every built-in plugin loaded or none; the plugins' lazy exports still import."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str, **env: str) -> str:
    import os
    import subprocess

    paths = [str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(paths), **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _imports_torch(args: list[str], expect: str, **env: str) -> str:
    code = ("import sys; from click.testing import CliRunner; from flashcli.cli import cli; "
            f"r = CliRunner().invoke(cli, {args!r}); "
            f"assert r.exit_code == 0 and {expect!r} in r.output, r.output; "
            "print('torch' in sys.modules)")
    return _fresh(code, **env)


def test_info_does_not_import_torch():
    assert _imports_torch(["info", str(ROOT / "examples" / "shoot")], "flash fired") == "False"


def test_help_and_plugins_do_not_import_torch_with_every_builtin_plugin_loaded():
    # the built-in plugins are imported by every command (they may add commands), so their
    # modules must load without torch; networks and solvers are imported when used
    assert _imports_torch(["--help"], "relight") == "False"
    assert _imports_torch(["relight", "--help"], "--strength") == "False"
    assert _imports_torch(["plugins"], "guided-cgan") == "False"
    assert _imports_torch(["plugins", "--json"], '"lime"') == "False"


def test_help_without_plugins_does_not_import_torch():
    builtin = "identity,lime,srie,deepflash,unet,guided-cgan"
    assert _imports_torch(["--help"], "relight", FLASHCLI_DISABLE_PLUGINS=builtin) == "False"


def test_lazy_plugin_exports_still_import():
    code = ("import sys; from flashcli_lime import lime; from flashcli_guided_cgan import Generator, "
            "GuidedCGANTask; from flashcli_unet import UNet, UNetTask; from flashcli_deepflash import "
            "DeepFlashTask; from flashcli_srie import decompose; print(callable(lime), "
            "Generator.__module__, 'torch' in sys.modules)")
    assert _fresh(code) == "True flashcli_guided_cgan.networks True"
    code = "import flashcli_lime; flashcli_lime.nothing_here"
    import subprocess
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "has no attribute 'nothing_here'" in done.stderr
