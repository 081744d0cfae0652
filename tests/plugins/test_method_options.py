"""One typed contract for every method's options (issue 24, item 2).

Every bad ``--opt`` value of a built-in method is a usage error (exit status 2) in one line
naming the method, the option and its range, when the command line is parsed: on
``relight --dry-run``, ``eval`` and ``train`` alike, before any method is built or any
photo decoded. The values a method reads are typed and read-only.
"""

from __future__ import annotations

import copy
import json
import pickle
import re

import photo_factory as pf
import pytest
from click.testing import CliRunner

from flashcli.cli import cli
from flashcli.enhancer import Enhancer, Option, OptionValues, option_error, validate_options
from flashcli.errors import UsageError
from flashcli.plugins import registry
from flashcli.training.config import TrainConfig
from tests.train.test_training import make_dataset

#: (method, bad --opt, what the one line says after "option ")
BAD = [
    ("lime", "lambda=-1", r"lambda='-1': must be at least 0"),
    ("lime", "max_iter=0", r"max_iter='0': must be at least 1"),
    ("srie", "gamma=0", r"gamma='0': must be > 0"),
    ("srie", "c1=-0.5", r"c1='-0.5': must be at least 0"),
    ("deepflash", "bf_window=4", r"bf_window=4: must be odd"),
    ("deepflash", "bf_sigma_range=0", r"bf_sigma_range='0': must be > 0"),
    ("guided-cgan", "spatial_colour=2", r"spatial_colour='2': must be at most 1 \(0 <= spatial_colour <= 1\)"),
    ("guided-cgan", "beta1=1", r"beta1=1.0: must be below 1 \(0 <= beta1 < 1\)"),
    ("unet", "width=5", r"width='5': must be at most 4 \(0 < width <= 4\)"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("faid"), train=2, test=1)


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shoot")
    pf.write_jpeg(folder / "a.jpg", 32, 24, flash=pf.FLASH_FIRED)
    return folder


@pytest.fixture
def built(monkeypatch):
    """The methods built during the test (none may be, for a bad option)."""
    calls = []
    for info in registry().methods.values():
        init = info.cls.__init__

        def spy(self, *args, _init=init, **kwargs):
            calls.append(type(self).name)
            _init(self, *args, **kwargs)

        monkeypatch.setattr(info.cls, "__init__", spy)
    return calls


def _refused_at_parse(result, method: str, why: str) -> None:
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert re.search(rf"^Error: method {re.escape(method)}: option {why}", lines[0]), out


@pytest.mark.parametrize(("method", "opt", "why"), BAD)
def test_relight_dry_run_refuses_a_bad_option_as_the_run_would(shoot, tmp_path, built, method, opt, why):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(out), "-m", method,
                                      "--opt", opt, "--dry-run"])
    _refused_at_parse(result, method, why)
    assert built == [] and not out.exists()


@pytest.mark.parametrize(("method", "opt", "why"), BAD)
def test_eval_refuses_a_bad_option_before_building_any_method(dataset, built, method, opt, why):
    result = CliRunner().invoke(cli, ["eval", str(dataset), "-m", f"identity,{method}",
                                      "--opt", f"{method}.{opt}"])
    _refused_at_parse(result, method, why)
    assert built == []


@pytest.mark.parametrize(("method", "opt", "why"), BAD)
def test_train_refuses_a_bad_option_before_reading_data(dataset, tmp_path, built, monkeypatch,
                                                        method, opt, why):
    from flashcli.training import engine

    monkeypatch.setattr(engine, "training_sets", lambda *a, **k: pytest.fail("data was read"))
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(dataset), "-m", method, "--opt", opt,
                                      "-o", str(run), "--steps", "1", "--device", "cpu"])
    _refused_at_parse(result, method, why)
    assert built == [] and not run.exists()


def test_weights_metadata_goes_through_the_same_check():
    from flashcli.methods import _stored_options

    cls = registry().get("deepflash").cls
    assert _stored_options(cls, {"options": {"bf_window": 5}}, "w.safetensors") == {"bf_window": 5}
    with pytest.raises(UsageError, match="method deepflash: option bf_window=6: must be odd"):
        validate_options(cls, {**_stored_options(cls, {"options": {"bf_window": 6}}, "w"), "width": 0.25})


class _Typed(Enhancer):
    name = "typed"
    options = (
        Option("lambda", 0.5, "a keyword as a name", minimum=0.0),
        Option("steps", 3, "an int", minimum=1),
        Option("mode", "a", "a choice", choices=("a", "b")),
        Option("low", 0.1), Option("high", 0.9),
    )

    @classmethod
    def check_options(cls, options):
        if options.low >= options.high:
            raise option_error("low", options.low, f"must be below high={options.high:g}")

    def enhance(self, flash):
        return flash


def test_option_values_are_typed_read_only_and_still_a_dict():
    values = _Typed(**{"lambda": "0.25", "steps": "7"}).config
    assert isinstance(values, OptionValues) and isinstance(values, dict)
    assert values.lambda_ == values["lambda"] == 0.25 and values.steps == 7 and values.mode == "a"
    assert values == {"lambda": 0.25, "steps": 7, "mode": "a", "low": 0.1, "high": 0.9}
    for mutate in (lambda: values.__setitem__("steps", 1), lambda: values.update(steps=1),
                   lambda: values.pop("steps"), lambda: setattr(values, "steps", 1)):
        with pytest.raises((TypeError, AttributeError)):
            mutate()
    assert values.steps == 7
    with pytest.raises(AttributeError, match="no option 'nope'"):
        _ = values.nope
    assert json.loads(json.dumps(values))["steps"] == 7
    assert pickle.loads(pickle.dumps(values)) == values == copy.deepcopy(values)
    assert values.replace(steps=2)["steps"] == 2 and values.steps == 7


def test_cross_field_rules_run_once_options_are_parsed():
    with pytest.raises(UsageError, match=r"^method typed: option low=0.95: must be below high=0.9$"):
        validate_options(_Typed, {"low": "0.95"})
    with pytest.raises(UsageError, match=r"^method typed: unknown option nope; valid options: high, lambda"):
        validate_options(_Typed, {"nope": 1})
    assert validate_options(_Typed, None).low == 0.1


def test_vgg_backbone_bundle_is_shared_by_both_vgg_methods():
    from flashcli.nn import VGGBackbone

    names = {o.name for o in VGGBackbone.options()}
    for method, frozen in (("deepflash", False), ("guided-cgan", None)):  # None: frozen when pretrained
        cls = registry().get(method).cls
        assert names <= {o.name for o in cls.options}
        backbone = VGGBackbone.of(validate_options(cls, {"width": "0.5"}))
        assert backbone == VGGBackbone(width=0.5, pretrained=None, vgg_weights=None, freeze_encoder=frozen)


def test_training_config_is_typed_for_the_task():
    assert TrainConfig(lr=None).learning_rate(1e-4) == 1e-4
    assert TrainConfig(lr=3e-4).learning_rate(1e-4) == 3e-4
    config = TrainConfig(lr=2e-3)
    assert TrainConfig.of(config) is config
    assert TrainConfig.of(None).lr is None and TrainConfig.of(None).resuming is False

    class Old:  # an older caller's object: only lr and resuming are read
        lr, resuming = 5e-4, True

    assert (TrainConfig.of(Old()).lr, TrainConfig.of(Old()).resuming) == (5e-4, True)


@pytest.mark.parametrize("method", ["guided-cgan", "deepflash"])
def test_pretrained_vgg_at_another_width_is_refused_at_parse_time(shoot, dataset, tmp_path, built, method):
    why = r"pretrained=True: pretrained VGG-16 weights exist only at width 1.0 \(width is 0.5\)"
    opts = ["--opt", "width=0.5", "--opt", "pretrained=true"]
    relight = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(tmp_path / "out"), "-m", method,
                                       *opts, "--dry-run"])
    _refused_at_parse(relight, method, why)
    train = CliRunner().invoke(cli, ["train", str(dataset), "--out", str(tmp_path / "run"), "-m", method, *opts])
    _refused_at_parse(train, method, why)
    assert built == [] and not (tmp_path / "out").exists() and not (tmp_path / "run").exists()
