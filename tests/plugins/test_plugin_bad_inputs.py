"""Issue 9, plugins: a plugin that fails while importing, registering or adding commands
(even by calling ``sys.exit``) is isolated: listed with its error, and every command keeps
working."""

from __future__ import annotations

import json
import sys

import bad_inputs as bi
import pytest
from click.testing import CliRunner
from plugin_dist import make_dist

from flashcli import plugins
from flashcli.cli import cli

BAD_PLUGINS = {
    "fx_import_error": ('raise ImportError("missing dependency on purpose")\n',
                        "ImportError: missing dependency on purpose"),
    "fx_exit": ('import sys\nsys.exit("plugin quits on import")\n',
                "SystemExit: plugin quits on import"),
    "fx_register_raises": ("""
        import flashcli

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            raise RuntimeError("cannot register today")
        """, "RuntimeError: cannot register today"),
    "fx_register_exits": ("""
        import sys
        import flashcli

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            sys.exit(3)
        """, "SystemExit: 3"),
    "fx_register_junk": ("""
        import flashcli

        @flashcli.hookimpl
        def flashcli_register_enhancers(register):
            register(42)
        """, "not an Enhancer subclass"),
    "fx_command_raises": ("""
        import flashcli

        @flashcli.hookimpl
        def flashcli_register_commands(cli):
            raise KeyError("no command for you")
        """, "KeyError: 'no command for you'"),
}


@pytest.fixture
def broken_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for mod, (code, _) in BAD_PLUGINS.items():
        make_dist(site, mod.replace("_", "-"), "1.0", {mod[3:]: mod}, {mod: code})
    monkeypatch.syspath_prepend(str(site))
    # Let the process-wide group add plugin commands afresh, and forget them afterwards.
    monkeypatch.setattr(cli, "_plugins_added", False)
    monkeypatch.setattr(cli, "commands", dict(cli.commands))
    yield site
    for mod in [m for m in sys.modules if m.startswith("fx_")]:
        del sys.modules[mod]


def test_every_broken_plugin_is_listed_with_its_error(broken_site):
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    data = json.loads(result.stdout)
    failed = {f["module"]: f["error"] for f in data["failed"]}
    for mod, (_, error) in BAD_PLUGINS.items():
        assert error in failed[mod], (mod, failed.get(mod))
    assert "identity" in {m["name"] for m in data["methods"]}


def test_other_commands_still_work(broken_site, tmp_path):
    photo = bi.write_one_pixel(tmp_path / "one.jpg")
    result = CliRunner().invoke(cli, ["info", "--json", str(photo)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["flash_fired"] == "yes"
    table = CliRunner().invoke(cli, ["plugins"], env={"COLUMNS": "250"})
    assert table.exit_code == 0 and "plugins that failed to load" in table.stdout
    assert "identity" in table.stdout
    # -v names each failure once on stderr, and still no traceback.
    loud = CliRunner().invoke(cli, ["-v", "info", str(photo)])
    assert loud.exit_code == 0, loud.output
    for mod in BAD_PLUGINS:
        if mod != "fx_command_raises":
            assert loud.stderr.count(f"plugin {mod[3:]} ") == 1, (mod, loud.stderr)
    assert "Traceback" not in loud.output


def test_enhancers_of_good_plugins_still_load(broken_site):
    reg = plugins.build_registry()
    assert {p.module for p in reg.failures} >= set(BAD_PLUGINS) - {"fx_command_raises"}
    from flashcli.methods import create_enhancer

    assert create_enhancer("identity", device="cpu").name == "identity"
