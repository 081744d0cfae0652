"""The plugin system: discovery through entry points, isolation, duplicates, options."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from plugin_dist import make_dist

from flashcli import __version__, plugins
from flashcli.cli import cli
from flashcli.enhancer import Option, parse_opt_pairs
from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "flashcli-gamma"

BROKEN = """
raise ImportError("this plugin is broken on purpose")
"""

RAISES_ON_REGISTER = """
import flashcli

@flashcli.hookimpl
def flashcli_register_enhancers(register):
    raise RuntimeError("cannot register today")
"""

DUPLICATE = """
import flashcli
from flashcli.enhancer import Enhancer

class Again(Enhancer):
    name = "identity"
    def enhance(self, flash):
        return flash

@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Again)
"""

WITH_COMMAND = """
import click
import flashcli

@click.command("hello")
def hello():
    click.echo("hello from a plugin")

@flashcli.hookimpl
def flashcli_register_commands(cli):
    cli.add_command(hello)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    yield site
    for mod in [m for m in sys.modules if m.startswith(("flashcli_gamma", "fx_"))]:
        del sys.modules[mod]


@pytest.fixture
def gamma_installed(site):
    """The example plugin, installed the way pip would expose it: a dist-info entry point."""
    shutil.copytree(EXAMPLE / "flashcli_gamma", site / "flashcli_gamma")
    make_dist(site, "flashcli-gamma", "0.1.0", {"gamma": "flashcli_gamma"})
    return site


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result


def test_help_lists_commands_and_version():
    result = run("--help")
    assert result.exit_code == 0
    assert "plugins" in result.output
    assert "--device" in result.output
    version = run("--version")
    assert version.exit_code == 0 and __version__ in version.output


def test_builtins_come_through_entry_points():
    reg = plugins.build_registry()
    info = reg.methods["identity"]
    assert info.plugin.dist == "flashcli-relight"
    assert info.plugin.module == "flashcli_identity"
    out = create_enhancer("identity", device="cpu")(torch.rand(2, 3, 5, 7))
    assert out.shape == (2, 3, 5, 7)


def test_plugins_command_json_lists_identity():
    result = run("plugins", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    names = {m["name"]: m for m in data["methods"]}
    assert names["identity"]["distribution"] == "flashcli-relight"
    assert names["identity"]["trainable"] is False


def test_example_plugin_is_found_and_runs(gamma_installed):
    reg = plugins.build_registry()
    assert reg.methods["gamma"].provided_by == "flashcli-gamma 0.1.0"
    enh = create_enhancer("gamma", {"gamma": "2", "gain": "0.5"}, device="cpu")
    x = torch.full((1, 3, 4, 4), 0.5)
    assert torch.allclose(enh(x), torch.full_like(x, 0.125))
    table = run("plugins")
    assert table.exit_code == 0 and "gamma" in table.output and "flashcli-gamma" in table.output


def test_broken_plugins_are_listed_and_do_not_break_commands(site):
    make_dist(site, "fx-broken", "1.0", {"broken": "fx_broken"}, {"fx_broken": BROKEN})
    make_dist(site, "fx-raises", "2.0", {"raises": "fx_raises"}, {"fx_raises": RAISES_ON_REGISTER})
    result = run("plugins", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    failed = {f["plugin"]: f for f in data["failed"]}
    assert "broken on purpose" in failed["broken"]["error"]
    assert failed["raises"]["distribution"] == "fx-raises"
    assert "cannot register today" in failed["raises"]["error"]
    assert any(m["name"] == "identity" for m in data["methods"])
    verbose = run("plugins", "-v")
    assert verbose.exit_code == 0 and "broken on purpose" in verbose.output


def test_duplicate_method_names_name_both_distributions(site):
    make_dist(site, "fx-dup", "3.1", {"dup": "fx_dup"}, {"fx_dup": DUPLICATE})
    with pytest.raises(FlashcliError, match="fx-dup 3.1") as err:
        plugins.build_registry()
    msg = err.value.message
    assert "'identity'" in msg and "flashcli" in msg and "fx-dup 3.1" in msg
    result = run("plugins")
    assert result.exit_code == 1
    assert "registered twice" in result.output and "Traceback" not in result.output


def test_disable_plugins_env(site, monkeypatch):
    make_dist(site, "fx-dup", "3.1", {"dup": "fx_dup"}, {"fx_dup": DUPLICATE})
    monkeypatch.setenv("FLASHCLI_DISABLE_PLUGINS", "dup")
    reg = plugins.build_registry()
    assert reg.methods["identity"].plugin.dist == "flashcli-relight"
    assert "dup" not in {p.name for p in reg.plugins}


def test_plugin_can_add_a_command(site):
    make_dist(site, "fx-cmd", "1.0", {"cmd": "fx_cmd"}, {"fx_cmd": WITH_COMMAND})
    from flashcli.cli import FlashcliGroup

    group = FlashcliGroup(name="flashcli")
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0 and "hello from a plugin" in result.output


def test_unknown_option_lists_valid_keys(gamma_installed):
    with pytest.raises(FlashcliError, match="unknown option gama") as err:
        create_enhancer("gamma", {"gama": "2"}, device="cpu")
    assert "gama" in err.value.message and "gain, gamma" in err.value.message


def test_unknown_method_lists_available():
    with pytest.raises(FlashcliError, match="nope") as err:
        create_enhancer("nope", device="cpu")
    assert "identity" in err.value.message


def test_option_parsing():
    assert Option("on", True).parse("off") is False
    assert Option("n", 3).parse("7") == 7
    assert Option("x", 0.5).parse("2") == 2.0
    with pytest.raises(FlashcliError, match="option n='seven': expected int"):
        Option("n", 3).parse("seven")
    with pytest.raises(FlashcliError, match="option mode='c': choose one of a, b"):
        Option("mode", "a", choices=("a", "b")).parse("c")
    assert parse_opt_pairs(["a=1", "b = x=y"]) == {"a": "1", "b": " x=y"}
    with pytest.raises(FlashcliError, match="--opt 'novalue': expected key=value"):
        parse_opt_pairs(["novalue"])


def test_device_option_rejects_unknown():
    from flashcli.runtime.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(FlashcliError, match="--device tpu: unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(FlashcliError, match="CUDA is not available"):
            resolve_device("cuda")


def test_cli_opt_with_unknown_key_lists_valid_keys(gamma_installed, tmp_path):
    photo = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 100, 50)).save(photo)
    result = run("relight", str(photo), "-o", str(tmp_path / "out"), "--all", "--include-unknown",
                 "--method", "gamma", "--opt", "gama=2")
    assert result.exit_code != 0
    assert "unknown option gama" in result.output and "gain, gamma" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_output_has_no_colour_codes_when_not_a_terminal():
    result = run("plugins")
    assert result.exit_code == 0 and "\x1b[" not in result.output


def test_plugins_says_where_bundled_weights_come_from():
    data = json.loads(run("plugins", "--json").output)
    cgan = next(m for m in data["methods"] if m["name"] == "guided-cgan")
    assert "synthetic renders" in cgan["default_weights"]["trained_on"]
    assert next(m for m in data["methods"] if m["name"] == "identity")["default_weights"] is None
    table = run("plugins").output
    assert "bundled" in table and "not FAID" in table


def test_defaults_come_from_what_methods_declare():
    reg = plugins.registry()
    for command in ("relight", "train"):
        name = reg.default_method(command)
        assert command in reg.get(name).cls.default_for
    ref = reg.reference_method()
    assert ref is not None and reg.get(ref).cls.reference is True
    ranked = [n for n in reg.methods if reg.get(n).cls.table_rank is not None]
    order = reg.table_order(["zz-unknown", *sorted(ranked, reverse=True)])
    assert order[-1] == "zz-unknown"
    assert [reg.get(n).cls.table_rank for n in order[:-1]] == sorted(
        reg.get(n).cls.table_rank for n in ranked)


def test_no_default_method_is_one_clear_line():
    reg = plugins.Registry(manager=None)
    with pytest.raises(FlashcliError, match="no installed method is the default for relight") as info:
        reg.default_method("relight")
    assert "\n" not in info.value.message
    assert reg.reference_method() is None
