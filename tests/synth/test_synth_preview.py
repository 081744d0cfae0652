"""synth --preview: an existing file is refused, the named format is written."""

from __future__ import annotations

import bad_inputs as bi

from tests.clitools import run_wide as _run


def test_synth_preview_refuses_an_existing_file_and_writes_the_named_format(tmp_path):
    keep = tmp_path / "keep.jpg"
    keep.write_bytes(b"precious")
    result = _run("synth", str(tmp_path / "s1"), "--pairs", "2", "--size", "32x24", "--preview", str(keep))
    bi.assert_clean_failure(result, str(keep), "--overwrite")
    assert keep.read_bytes() == b"precious" and not (tmp_path / "s1").exists()
    fresh = tmp_path / "sheet.jpg"
    ok = _run("synth", str(tmp_path / "s2"), "--pairs", "2", "--size", "32x24", "--preview", str(fresh))
    assert ok.exit_code == 0, ok.output
    assert fresh.read_bytes()[:2] == b"\xff\xd8"  # JPEG, as the name says
    bad = _run("synth", str(tmp_path / "s3"), "--pairs", "2", "--size", "32x24",
               "--preview", str(tmp_path / "sheet.xyz"))
    bi.assert_clean_failure(result, "--overwrite")
    bi.assert_clean_failure(bad, "sheet.xyz", "name the preview .png, .jpg or .tif")
