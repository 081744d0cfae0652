"""train --seed out of torch's range, learning-rate options <= 0, a run folder asking for an
absurd network, a VGG file that is not there: one line naming the value and the fix."""

from __future__ import annotations

import re

import photo_factory as pf
import pytest

from tests.clitools import run_wide as _run


def _refused(result, code: int, pattern: str) -> None:
    out = result.output
    assert result.exit_code == code, out
    assert "Traceback" not in out, out
    assert re.search(pattern, out), (pattern, out)


@pytest.fixture
def dataset(tmp_path):
    import bad_inputs as bi

    data = tmp_path / "data"
    bi.write_pairs(data / "train", 1)
    bi.write_pairs(data / "test", 1)
    return data


@pytest.mark.parametrize("seed", [str(2**64), str(2**32), "-1", str(-2**63)])
def test_train_refuses_a_seed_out_of_range(dataset, tmp_path, seed):
    run = tmp_path / "run"
    result = _run("train", str(dataset), "-o", str(run), "--seed", seed, "--epochs", "1")
    _refused(result, 2, rf"--seed {re.escape(seed)}: must be 0 to 4294967295")
    assert not run.exists()


@pytest.mark.parametrize(("method", "opt"), [
    ("guided-cgan", "lr_g=-1"), ("guided-cgan", "lr_g=0"), ("guided-cgan", "lr_d=-1e-5"),
    ("unet", "lr=0"), ("deepflash", "lr=-0.001"),
])
def test_train_refuses_a_learning_rate_option_that_is_not_positive(dataset, tmp_path, method, opt):
    run = tmp_path / "run"
    result = _run("train", str(dataset), "-m", method, "-o", str(run), "--opt", opt, "--epochs", "1")
    _refused(result, 2, rf"option {re.escape(opt.split('=')[0])}='{re.escape(opt.split('=')[1])}': "
             r"must be > 0")
    assert not run.exists()


def test_learning_rate_options_are_typed_positive():
    from flashcli.plugins import registry

    reg = registry()
    for method, names in {"guided-cgan": ("lr_g", "lr_d"), "unet": ("lr",), "deepflash": ("lr",)}.items():
        options = {o.name: o for o in reg.get(method).cls.options}
        for name in names:
            assert options[name].positive, (method, name)


def test_resume_refuses_a_run_whose_saved_width_is_absurd(tmp_path):
    import torch

    from tests.train.test_training import make_dataset

    data = make_dataset(tmp_path / "faid")
    run = tmp_path / "run"
    res = _run("train", str(data), "--out", str(run), "--opt", "width=0.0625", "--crop-size", "32",
               "--batch-size", "2", "--steps", "1", "--device", "cpu")
    assert res.exit_code == 0, res.output
    state = torch.load(run / "state.pt", weights_only=True)
    state["config"]["options"]["width"] = 5000.0  # ~1e6 channels: gigabytes before any check
    torch.save(state, run / "state.pt")
    res = _run("train", "--resume", str(run), "--epochs", "2")
    _refused(res, 1, rf"{re.escape(str(run))}: the run's saved options are invalid .*width.*at most 4")


def test_width_is_bounded_on_the_command_line(tmp_path):
    pf.write_jpeg(tmp_path / "IMG_1.jpg")
    res = _run("relight", str(tmp_path), "-o", str(tmp_path / "o"), "--opt", "width=1e6")
    _refused(res, 2, r"width.*at most 4")


def test_missing_vgg_file_names_the_option_that_exists(tmp_path):
    from flashcli.errors import FlashcliError
    from flashcli.nn.vgg import read_vgg16_file

    with pytest.raises(FlashcliError, match=r"not found; pass an existing file to --opt vgg_weights=FILE"):
        read_vgg16_file(tmp_path / "nope.pth")
