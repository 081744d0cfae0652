"""relight's summary: photos of unknown flash status counted, explained and the flag named,
in the text and the JSON; flashcli's own outputs marked and not relit again unless forced."""

from __future__ import annotations

import json

import photo_factory as pf

from tests.clitools import run as _run


def _json(result) -> dict:
    text = result.stdout
    return json.loads(text[text.index("{"):])


def test_relight_summary_names_skipped_unknown_and_the_flag(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(3):
        pf.write_png(scans / f"scan_{i}.png")  # no EXIF at all
    result = _run("relight", str(scans), "-o", str(tmp_path / "out"), "--method", "identity")
    assert result.exit_code == 0, result.output
    assert "3 photos skipped, no EXIF flash information" in result.stdout
    assert "--include-unknown relights them" in result.stdout
    again = _run("relight", str(scans), "-o", str(tmp_path / "out"), "--method", "identity",
                 "--include-unknown", "--json")
    assert _json(again)["counts"]["processed"] == 3


def test_relight_json_carries_the_same_notes(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "off.jpg", flash=pf.FLASH_NOT_FIRED)
    pf.write_png(shoot / "scan.png")
    result = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "--method", "identity", "--json")
    notes = _json(result)["notes"]
    assert notes == ["1 photo skipped, no EXIF flash information (scans, PNG exports, downloads); "
                     "--include-unknown relights them",
                     "1 photo skipped, the flash did not fire; --all relights them"]


# flashcli's own outputs are marked and not relit again

def test_relit_outputs_are_skipped_unless_forced(tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    pf.write_jpeg(shoot / "a.jpg")  # flash fired; the output keeps EXIF Flash
    first = _run("relight", str(shoot), "-o", str(tmp_path / "out"), "--method", "identity")
    assert first.exit_code == 0, first.output
    second = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"),
                  "--method", "identity", "--json")
    assert second.exit_code == 0, second.output
    (entry,) = _json(second)["files"]
    assert entry["status"] == "skipped-flashcli-output"
    assert "EXIF Software: flashcli" in entry["reason"] and "--include-relit" in entry["reason"]
    assert not (tmp_path / "out2").exists()
    table = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"), "--method", "identity")
    assert "skipped: flashcli output" in table.stdout and "--include-relit relights them again" in table.stdout
    forced = _run("relight", str(tmp_path / "out"), "-o", str(tmp_path / "out2"),
                  "--method", "identity", "--include-relit", "--json")
    assert _json(forced)["counts"]["processed"] == 1
    assert (tmp_path / "out2" / "a_ambient_ambient.jpg").is_file()
