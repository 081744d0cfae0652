"""eval's report: dataset problems once (not failures of a method), the title naming the
pairs folders, tables within 80 columns without cutting numbers."""

from __future__ import annotations

import json
import shutil
import sys

import photo_factory as pf
import pytest
from pair_factory import write_pair_dataset
from plugin_dist import make_dist

from tests.clitools import run as _run


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pair_dataset(tmp_path_factory.mktemp("pairs"), n_train=4, n_test=1, size=(24, 20))


LONG_METHOD = """
    import flashcli
    from flashcli.enhancer import Enhancer

    class Long(Enhancer):
        name = "a-method-with-a-really-very-long-plugin-name"
        description = "Halves the flash image."

        def enhance(self, flash):
            return flash * 0.5

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(Long)
    """


@pytest.fixture
def long_method(tmp_path_factory, monkeypatch):
    site = tmp_path_factory.mktemp("long_site")
    make_dist(site, "fx-long", "1.0", {"long": "fx_long"}, {"fx_long": LONG_METHOD})
    monkeypatch.syspath_prepend(str(site))
    yield "a-method-with-a-really-very-long-plugin-name"
    sys.modules.pop("fx_long", None)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_eval_dataset_problems_once_and_not_failures_of_identity(pairs, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pairs, data)
    test = data / "test"
    pf.write_png(test / "Lonely_000_flash.png")  # no partner
    (test / "Broken_000_flash.png").write_bytes(b"junk")
    pf.write_png(test / "Broken_000_ambient.png")
    result = _run("eval", str(data), "--methods", "identity,lime")
    assert result.exit_code == 1
    text = result.output
    for name in ("Lonely_000_flash.png", "Broken_000_flash.png"):
        assert text.count(name) == 1, text
    assert f"test{'/'}Broken_000_flash.png: not a readable image" in text  # relative, as the other
    assert str(data) + "/test/Broken" not in text
    report = _json(_run("eval", str(data), "--methods", "identity,lime", "--json"))
    assert {s["method"]: s["failures"] for s in report["summaries"]} == {"identity": 0, "lime": 0}
    assert report["config"]["dataset_problems"] == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: 2 pair(s) of the data could not be used, listed above; the numbers cover the "
        "other images")


def test_eval_title_names_the_pairs_folders(tmp_path):
    flash, ambient = tmp_path / "flashes", tmp_path / "ambients"
    flash.mkdir()
    ambient.mkdir()
    pf.write_png(flash / "x.png")
    pf.write_png(ambient / "x.png")
    result = _run("eval", "--pairs", str(flash), str(ambient), "--methods", "identity")
    assert result.exit_code == 0, result.output
    assert f"flashcli eval: 1 pairs from --pairs {flash} {ambient}" in _flat(result.stdout)
    assert f"from {tmp_path} " not in _flat(result.stdout)


def test_eval_tables_fit_80_columns_without_cutting_numbers(long_method, pairs):
    import re

    result = _run("eval", str(pairs), "--methods", f"identity,lime,{long_method}")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert "…" not in result.stdout
    # every mean ± std is whole: three methods, five metrics (psnr ssim loe de2000 psnr_wb)
    assert len(re.findall(r"\d+\.\d+ ± \d+\.\d+", result.stdout)) == 15
    # the long name wraps inside its column instead of being cut
    assert long_method in "".join(line.split("│")[1].strip() for line in lines if line.count("│") > 3)
