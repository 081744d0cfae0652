"""Issue 23: one vocabulary for every command (-m/--method, --opt [NAME.]key=value,
--weights [NAME=]PATH, -q), labels to score one method twice, weights checked before they
are announced."""

from __future__ import annotations

import json

import bad_inputs as bi
import photo_factory as pf
import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.errors import UsageError
from flashcli.selection import method_of, one_method, parse_methods, parse_options, parse_weights

BUNDLED = "plugins/flashcli_guided_cgan/weights/guided_cgan_synthetic.safetensors"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    bi.write_pairs(root / "test", 2, size=(32, 24))
    return root


@pytest.fixture
def shoot(tmp_path):
    d = tmp_path / "shoot"
    d.mkdir()
    pf.write_jpeg(d / "a.jpg", 48, 32)
    return d


# --- the parsers --------------------------------------------------------------------------

def test_methods_repeat_and_comma_lists():
    assert parse_methods(["identity", "lime,srie", " lime "]) == ["identity", "lime", "srie"]
    assert parse_methods(["guided-cgan", "guided-cgan@mine"]) == ["guided-cgan", "guided-cgan@mine"]
    assert parse_methods([]) is None and parse_methods(None) is None
    assert method_of("guided-cgan@mine") == "guided-cgan" and method_of("lime") == "lime"
    for bad in (["@x"], ["lime@"], ["lime@a/b"]):
        with pytest.raises(UsageError, match="NAME@LABEL"):
            parse_methods(bad)


def test_options_plain_with_one_method_scoped_always():
    assert parse_options(["gamma=0.5"], ["lime"]) == {"lime": {"gamma": "0.5"}}
    assert parse_options(["lime.gamma=0.5", "srie.x=1"], ["lime", "srie"]) == {
        "lime": {"gamma": "0.5"}, "srie": {"x": "1"}}
    assert parse_options(["g@a.b.gamma=2"], ["g@a.b"]) == {"g@a.b": {"gamma": "2"}}
    with pytest.raises(UsageError, match="expected NAME.key=value"):
        parse_options(["gamma=0.5"], ["lime", "srie"])
    with pytest.raises(UsageError, match="expected NAME.key=value"):
        parse_options(["gamma=0.5"])


def test_weights_plain_with_one_method_named_always(tmp_path):
    assert parse_weights(["runs/x"], ["unet"]) == {"unet": "runs/x"}
    assert parse_weights(["unet=runs/x"], ["unet"]) == {"unet": "runs/x"}
    assert parse_weights(["g@mine=runs/x"], ["g", "g@mine"]) == {"g@mine": "runs/x"}
    odd = tmp_path / "a=b.safetensors"
    odd.write_bytes(b"x")
    assert parse_weights([str(odd)], ["unet"]) == {"unet": str(odd)}  # a path with '='
    with pytest.raises(UsageError, match="expected NAME=PATH"):
        parse_weights(["runs/x"], ["unet", "lime"])


def test_one_method_strips_its_own_name():
    assert one_method("lime", ["lime.gamma=0.5", "sigma=3"], None, "relight") == (
        "lime", {"gamma": "0.5", "sigma": "3"}, None)
    assert one_method(None, ["guided-cgan.output=gain"], "guided-cgan=runs/x", "relight") == (
        None, {"output": "gain"}, "runs/x")
    with pytest.raises(UsageError, match="but this relight runs lime"):
        one_method("lime", ["srie.x=1"], None, "relight")


# --- relight, train, eval accept the same spellings ----------------------------------------

def test_relight_takes_scoped_options_and_named_weights(shoot, tmp_path):
    plain = invoke("relight", shoot, "-o", tmp_path / "a", "-m", "lime", "--opt", "gamma=0.5", "--json")
    scoped = invoke("relight", shoot, "-o", tmp_path / "b", "-m", "lime", "--opt", "lime.gamma=0.5", "--json")
    assert plain.exit_code == 0 and scoped.exit_code == 0, scoped.output
    assert (tmp_path / "a" / "a_ambient.jpg").read_bytes() == (tmp_path / "b" / "a_ambient.jpg").read_bytes()
    named = invoke("relight", shoot, "-o", tmp_path / "c", "--weights", f"guided-cgan={BUNDLED}",
                   "--working-size", "32", "--json")
    assert named.exit_code == 0, named.output
    assert json.loads(named.stdout)["weights"]["file"].endswith("guided_cgan_synthetic.safetensors")


def test_weights_for_another_method_are_refused_before_they_are_announced(shoot, tmp_path):
    res = invoke("relight", shoot, "-o", tmp_path / "out", "-m", "unet", "--weights", BUNDLED)
    assert res.exit_code == 1
    assert "these weights are for method 'guided-cgan', not 'unet'" in res.stderr
    assert "unet on" not in res.stderr  # no first line announcing them
    assert not (tmp_path / "out").exists()


def test_eval_method_is_repeatable_and_methods_is_an_alias(data):
    a = invoke("eval", data, "-m", "identity", "-m", "lime", "--json", "--metrics", "psnr")
    b = invoke("eval", data, "--methods", "identity,lime", "--json", "--metrics", "psnr")
    c = invoke("eval", data, "-m", "identity,lime", "--json", "--metrics", "psnr")
    assert a.exit_code == b.exit_code == c.exit_code == 0, a.output
    got = [json.loads(r.stdout) for r in (a, b, c)]
    assert got[0]["methods"] == got[1]["methods"] == got[2]["methods"] == ["identity", "lime"]
    plain = invoke("eval", data, "-m", "lime", "--opt", "gamma=0.5", "--baseline", "none", "--json",
                   "--metrics", "psnr")
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["config"]["options"]["lime"]["gamma"] == 0.5


def test_eval_compares_two_weights_of_one_method_by_label(data):
    res = invoke("eval", data, "-m", "guided-cgan", "-m", "guided-cgan@mine",
                 "--weights", f"guided-cgan@mine={BUNDLED}", "--opt", "guided-cgan@mine.output=gain",
                 "--metrics", "psnr", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["methods"] == ["identity", "guided-cgan", "guided-cgan@mine"]
    rows = {s["method"]: s for s in out["summaries"]}
    assert set(rows) == {"identity", "guided-cgan", "guided-cgan@mine"}
    # the same weights under two names: the same numbers, each row named by its label
    assert rows["guided-cgan"]["psnr_mean"] == pytest.approx(rows["guided-cgan@mine"]["psnr_mean"])
    assert out["config"]["weights"] == {"guided-cgan@mine": BUNDLED}
    table = invoke("eval", data, "-m", "guided-cgan", "-m", "guided-cgan@mine",
                   "--weights", f"guided-cgan@mine={BUNDLED}", "--metrics", "psnr")
    assert table.exit_code == 0 and "guided-cgan@mine" in table.stdout.replace("\n", "")


def test_eval_label_weights_for_another_method_are_refused(data):
    res = invoke("eval", data, "-m", "unet@mine", "--weights", f"unet@mine={BUNDLED}")
    assert res.exit_code == 1 and "for method 'guided-cgan', not 'unet'" in res.stderr


# --- -q: errors and warnings only, in every command ----------------------------------------

def test_quiet_prints_nothing_but_problems(data, shoot, tmp_path):
    for args in (("eval", data, "-m", "identity", "--metrics", "psnr"),
                 ("info", shoot),
                 ("plugins",),
                 ("synth", tmp_path / "syn", "--pairs", "1", "--size", "32x24"),
                 ("relight", shoot, "-o", tmp_path / "out", "-m", "identity")):
        res = invoke(*args, "-q")
        assert res.exit_code == 0, (args, res.output)
        assert res.output == "", (args, res.output)
    # --json is asked for explicitly: still printed
    assert json.loads(invoke("info", shoot, "-q", "--json").stdout)[0]["flash_fired"] == "yes"


def test_train_takes_scoped_options_and_refuses_another_methods(data, monkeypatch):
    seen = {}

    def fake_train(config, resume=False, progress=None):
        seen["config"] = config
        return {"method": config.method or "default", "rank": 0}

    monkeypatch.setattr("flashcli.training.engine.train", fake_train)
    ok = invoke("train", data, "-m", "unet", "--opt", "unet.width=0.0625", "--opt", "lr=0.001",
                "--json")
    assert ok.exit_code == 0, ok.output
    assert seen["config"].options == {"width": "0.0625", "lr": "0.001"}
    bad = invoke("train", data, "-m", "unet", "--opt", "lime.gamma=1")
    assert bad.exit_code == 2 and "--opt given for lime, but this train runs unet" in bad.stderr
