"""Issue 9, weights, checkpoints and atomic writes: a checkpoint carrying a pickle that would
run code is refused and the code never runs; damaged weights give one clear line; no write
ever leaves a half-written or temporary file, whatever the body raises."""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import tempfile
from pathlib import Path

import bad_inputs as bi
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flashcli.cli import cli
from flashcli.errors import FlashcliError, WeightsError
from flashcli.io import fsutil
from flashcli.weights import load_weights, save_weights


class Payload:
    """Unpickling this runs ``exec``: it creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def _evil_files(folder: Path, marker: Path) -> dict[str, Path]:
    """The same payload packed the ways a checkpoint can be."""
    evil = Payload(marker)
    files = {
        "zip": folder / "evil.pt",
        "legacy": folder / "evil_legacy.pth",
        "raw_pickle": folder / "evil.ckpt",
        "nested": folder / "nested.pt",
    }
    torch.save({"w": torch.zeros(2), "x": evil}, files["zip"])
    torch.save({"w": torch.zeros(2), "x": evil}, files["legacy"],
               _use_new_zipfile_serialization=False)
    files["raw_pickle"].write_bytes(pickle.dumps(evil))
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": [evil]}, files["nested"])
    return files


def test_the_payload_is_live(tmp_path):
    """The control: an unrestricted unpickler does run it (so the refusal below means something)."""
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_load_weights_refuses_code_and_does_not_run_it(tmp_path):
    marker = tmp_path / "PWNED"
    for kind, path in _evil_files(tmp_path, marker).items():
        with pytest.raises(WeightsError, match="could run code") as err:
            load_weights(path)
        msg = err.value.format_message()
        assert msg.startswith(f"{path}: refused") and "could run code" in msg, kind
        assert "safetensors" in msg
        assert not marker.exists(), kind


def test_cli_refuses_evil_weights(tmp_path):
    marker = tmp_path / "PWNED"
    evil = _evil_files(tmp_path, marker)["zip"]
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    bi.write_one_pixel(shoot / "a.jpg")
    result = CliRunner().invoke(cli, ["relight", str(shoot), "-o", str(tmp_path / "out"),
                                      "--method", "identity", "--weights", str(evil)])
    bi.assert_clean_failure(result, str(evil), "refused")
    assert not marker.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.jpg"))

    data = tmp_path / "data"
    bi.write_pairs(data / "test", 2)
    result = CliRunner().invoke(cli, ["eval", str(data), "--methods", "identity", "--no-loe",
                                      "--weights", f"identity={evil}"])
    bi.assert_clean_failure(result, str(evil), "refused")
    assert not marker.exists()


@pytest.mark.parametrize("name,content", [
    ("zero.pt", b""),
    ("text.pt", b"hello, this is not a checkpoint\n"),
    ("word.pt", b"garbage"),  # fails torch's restricted unpickler, as a malicious file does
    ("noise.pt", bytes(range(256)) * 20),
    ("photo.pt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)),
    ("cut.pt", None),  # a real torch zip cut short
    ("zero.safetensors", b""),
    ("huge_header.safetensors", (2**62).to_bytes(8, "little") + b"{}"),
    ("garbage.safetensors", (10).to_bytes(8, "little") + b"\xff" * 10),
    ("not_tensors.pt", None),  # a harmless dict of numbers
])
def test_damaged_weights_give_one_line(tmp_path, name, content):
    path = tmp_path / name
    if name == "cut.pt":
        torch.save({"w": torch.zeros(64)}, path)
        path.write_bytes(path.read_bytes()[:200])
    elif name == "not_tensors.pt":
        torch.save({"w": 1, "b": [2.0]}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=re.escape(str(path))) as err:
        load_weights(path)
    msg = err.value.format_message()
    assert msg.startswith(f"{path}: ") and "\n" not in msg and ";" in msg  # what; how to fix
    assert "refused" not in msg  # damaged is not the same as dangerous


def test_untrusted_sidecar_is_ignored(tmp_path):
    path = save_weights(tmp_path / "w.safetensors", {"w": torch.ones(2)}, {"method": "identity"})
    # Replace the embedded metadata route: plain safetensors without meta, then a junk sidecar.
    from safetensors.torch import save_file

    save_file({"w": torch.ones(2)}, str(path))
    for junk in (b"[1, 2, 3]", b"\xff\xfe binary", b'{"options": [1], "method": 7}'):
        path.with_suffix(".json").write_bytes(junk)
        state, meta = load_weights(path)
        assert torch.equal(state["w"], torch.ones(2))
        assert "options" not in meta and "method" not in meta


def test_missing_weights_and_empty_run_folder(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nope.safetensors")
    with pytest.raises(WeightsError, match="no weights found"):
        load_weights(tmp_path)


# --- atomic writes ---------------------------------------------------------------------------

def _listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_save_weights_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    import safetensors.torch as st_torch

    path = save_weights(tmp_path / "w.safetensors", {"w": torch.ones(3)}, {"method": "identity"})
    before = _listing(tmp_path)

    def full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(st_torch, "save_file", full_disk)
    with pytest.raises(FlashcliError, match="No space left on device") as err:
        save_weights(path, {"w": torch.zeros(3)}, {"method": "identity"})
    assert err.value.format_message() == (f"{path}: cannot write (No space left on device); "
                                          "free some disk space and run again")
    assert _listing(tmp_path) == before
    assert torch.equal(load_weights(path)[0]["w"], torch.ones(3))


_ERRORS = st.sampled_from([
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EACCES, "Permission denied"),
    OSError(errno.EIO, "Input/output error"),
    OSError("no errno"),
    ValueError("encoder refused"),
    RuntimeError("bug"),
    KeyboardInterrupt(),
    SystemExit(2),
    MemoryError(),
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exc=_ERRORS, data=st.binary(max_size=64), existed=st.booleans(),
       where=st.sampled_from(["body", "replace", "fsync"]))
def test_atomic_path_never_leaves_a_temp_file(tmp_path, monkeypatch, exc, data, existed, where):
    """Whatever the body (or the flush, or the rename) raises, the folder holds exactly what it
    held before, and the error is the original one or a one-line FlashcliError naming the target."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path, prefix="case"))  # examples may repeat
    target = folder / "out.jpg"
    if existed:
        target.write_bytes(b"previous result")
    before = _listing(folder)

    def fail(*args, **kwargs):
        raise exc

    with monkeypatch.context() as m:
        if where == "replace":
            m.setattr(fsutil.os, "replace", fail)
        elif where == "fsync":
            m.setattr(fsutil.os, "fsync", fail)
        # the original error, or a FlashcliError naming the target
        with pytest.raises(BaseException, match=f"{re.escape(str(target))}|^{re.escape(str(exc))}$") as caught:
            with fsutil.atomic_path(target) as tmp:
                tmp.write_bytes(data)
                if where == "body":
                    raise exc
    assert _listing(folder) == before
    if not data and where == "replace":  # an empty file is refused before the rename
        assert isinstance(caught.value, FlashcliError)
        assert "incomplete" in caught.value.format_message()
    elif isinstance(exc, OSError) and exc.errno is not None:
        assert isinstance(caught.value, FlashcliError)
        assert caught.value.format_message().startswith(f"{target}: cannot write")
    else:
        assert caught.value is exc


def test_atomic_path_success_has_a_normal_mode(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    fsutil.atomic_write_text(target, "hello")
    assert target.read_text() == "hello"
    assert target.stat().st_mode & 0o777 == 0o666 & ~fsutil._UMASK
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]
    target.chmod(0o640)
    fsutil.atomic_write_text(target, "again")  # replacing keeps the file's mode
    assert target.stat().st_mode & 0o777 == 0o640


def test_read_only_output_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    if bi.is_root():  # root writes anywhere: simulate the refusal the kernel would give
        folder.mkdir()
        real = fsutil.tempfile.mkstemp

        def refuse(*args, dir=None, **kwargs):
            if Path(dir) == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    else:
        bi.make_readonly(folder)
    try:
        with pytest.raises(FlashcliError, match="Permission denied") as err:
            fsutil.atomic_write_text(folder / "out.txt", "x")
        assert err.value.format_message() == (f"{folder / 'out.txt'}: cannot write (Permission "
                                              "denied); choose a writable output folder")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_protect_refuses_inputs(tmp_path):
    src = tmp_path / "in.jpg"
    src.write_bytes(b"original")
    link = tmp_path / "link.jpg"
    os.symlink(src, link)
    for target in (src, link):
        with pytest.raises(FlashcliError, match="refusing to write over an input"):
            with fsutil.atomic_path(target, protect=(src,)) as tmp:
                tmp.write_bytes(b"new")
    assert src.read_bytes() == b"original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "link.jpg"]


def test_json_sidecar_write_is_atomic_too(tmp_path, monkeypatch):
    path = save_weights(tmp_path / "w.safetensors", {"w": torch.ones(1)}, {"method": "identity"})
    side = path.with_suffix(".json")
    old = side.read_text()
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".json"):
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    with pytest.raises(FlashcliError, match="cannot write"):
        save_weights(path, {"w": torch.ones(1)}, {"method": "identity", "epoch": 2})
    assert json.loads(side.read_text()) == json.loads(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.json", "w.safetensors"]
