"""Pairing flash/ambient files: layouts, problems by name, uint8 loading by size."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from flashcli.datasets import (
    find_pairs,
    fingerprint,
    load_pairs_uint8,
    pairs_from_dirs,
    require_clean,
)
from flashcli.errors import FlashcliError


def png(path: Path, w: int = 8, h: int = 6, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (np.arange(w * h * 3).reshape(h, w, 3) + value) % 256
    Image.fromarray(arr.astype(np.uint8)).save(path)
    return path


def test_flat_layout_with_categories_from_stems(tmp_path):
    for stem in ("People_001", "Toys_002"):
        png(tmp_path / "train" / f"{stem}_flash.png", value=1)
        png(tmp_path / "train" / f"{stem}_ambient.png", value=2)
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    ps = find_pairs(tmp_path, "train")
    assert [p.stem for p in ps.pairs] == ["People_001", "Toys_002"]
    assert [p.category for p in ps.pairs] == ["People", "Toys"]
    assert ps.problems == []
    assert [p.stem for p in find_pairs(tmp_path, "train", category="toys").pairs] == ["Toys_002"]


def test_nested_category_folders(tmp_path):
    png(tmp_path / "test" / "Plants" / "a_flash.png")
    png(tmp_path / "test" / "Plants" / "a_ambient.png")
    png(tmp_path / "test" / "Rooms" / "b_flash.jpg")
    png(tmp_path / "test" / "Rooms" / "b_ambient.png")
    ps = find_pairs(tmp_path, "test")
    assert {(p.stem, p.category) for p in ps.pairs} == {("a", "Plants"), ("b", "Rooms")}
    assert all(p.split == "test" for p in ps.pairs)


def test_problems_are_named(tmp_path):
    png(tmp_path / "train" / "x_flash.png")
    png(tmp_path / "train" / "y_ambient.png")
    png(tmp_path / "train" / "z_flash.png", w=8, h=6)
    png(tmp_path / "train" / "z_ambient.png", w=6, h=8)
    png(tmp_path / "train" / "ok_flash.png")
    png(tmp_path / "train" / "ok_ambient.png")
    (tmp_path / "train" / "bad_flash.png").write_bytes(b"\x89PNG garbage")
    png(tmp_path / "train" / "bad_ambient.png")
    ps = find_pairs(tmp_path, "train")
    text = "\n".join(ps.problems)
    assert "x_flash.png: no ambient partner" in text
    assert "y_ambient.png: no flash partner" in text
    assert "z_flash.png: size 8x6 differs" in text
    assert "bad_flash.png" in text
    with pytest.raises(FlashcliError, match=r"4 dataset problem\(s\)") as err:
        require_clean(ps)
    assert "4 dataset problem(s)" in err.value.message


def test_a_stem_used_in_two_category_folders_is_a_named_problem(tmp_path):
    # Scores, saved images and sheets are keyed by the stem: the second pair would overwrite
    # the first one's saved output and be compared with the wrong baseline row.
    for cat in ("Objects", "People"):
        png(tmp_path / "test" / cat / "a_flash.png")
        png(tmp_path / "test" / cat / "a_ambient.png")
    png(tmp_path / "test" / "People" / "b_flash.png")
    png(tmp_path / "test" / "People" / "b_ambient.png")
    ps = find_pairs(tmp_path, "test")
    assert sorted((p.stem, p.category) for p in ps.pairs) == [("a", "Objects"), ("b", "People")]
    assert len(ps.problems) == 1
    assert "test/People/a_flash.png" in ps.problems[0] and "test/Objects/a_flash.png" in ps.problems[0]
    assert "rename one pair" in ps.problems[0]


def test_two_folders_without_a_shared_stem_are_one_error(tmp_path):
    png(tmp_path / "f" / "x0.png")
    png(tmp_path / "f" / "x1.png")
    png(tmp_path / "a" / "y0.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FlashcliError, match=r"\(2 images\) and .*\(1\): no file stem is in both") as err:
        pairs_from_dirs(tmp_path / "f", tmp_path / "a")
    assert "same name" in str(err.value)
    with pytest.raises(FlashcliError, match=r"empty: no images in this folder"):
        pairs_from_dirs(tmp_path / "empty", tmp_path / "a")
    png(tmp_path / "f2" / "y0.png")
    png(tmp_path / "f2" / "y0.jpg")  # the stem is shared, by too many files: listed, not "no stem"
    ps = pairs_from_dirs(tmp_path / "f2", tmp_path / "a")
    assert ps.pairs == [] and len(ps.problems) == 1 and "several files share the stem 'y0'" in ps.problems[0]


def test_missing_split_explains_layout(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(FlashcliError, match="--pairs FLASH_DIR AMBIENT_DIR"):
        find_pairs(tmp_path, "test")
    with pytest.raises(FlashcliError, match="dataset folder not found"):
        find_pairs(tmp_path / "nope", "test")


def test_pairs_from_two_folders(tmp_path):
    png(tmp_path / "f" / "a.png")
    png(tmp_path / "a" / "a.png")
    png(tmp_path / "f" / "b_flash.png")
    png(tmp_path / "a" / "b_ambient.png")
    png(tmp_path / "f" / "c.png")
    ps = pairs_from_dirs(tmp_path / "f", tmp_path / "a")
    assert [p.stem for p in ps.pairs] == ["a", "b"]
    assert len(ps.problems) == 1 and "c.png" in ps.problems[0]


def test_load_groups_by_size(tmp_path):
    png(tmp_path / "train" / "a_flash.png", 8, 6, 1)
    png(tmp_path / "train" / "a_ambient.png", 8, 6, 2)
    png(tmp_path / "train" / "b_flash.png", 6, 8, 3)
    png(tmp_path / "train" / "b_ambient.png", 6, 8, 4)
    png(tmp_path / "train" / "c_flash.png", 8, 6, 5)
    png(tmp_path / "train" / "c_ambient.png", 8, 6, 6)
    ps = find_pairs(tmp_path, "train")
    seen = []
    groups = load_pairs_uint8(ps.pairs, on_loaded=seen.append)
    assert len(seen) == 3
    shapes = sorted((tuple(g.flash.shape), g.stems) for g in groups)
    assert shapes == [((1, 3, 8, 6), ["b"]), ((2, 3, 6, 8), ["a", "c"])]
    g = next(g for g in groups if g.stems == ["a", "c"])
    assert g.flash.dtype == torch.uint8
    expected = np.array(Image.open(tmp_path / "train" / "c_ambient.png")).transpose(2, 0, 1).copy()
    assert torch.equal(g.ambient[1], torch.from_numpy(expected))
    assert len(fingerprint(ps.pairs)) == 16


_names = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stems=st.sets(_names, min_size=1, max_size=6), drop=st.sets(st.integers(0, 5)),
       roles=st.lists(st.sampled_from(["flash", "ambient"]), min_size=6, max_size=6))
def test_pairing_property(tmp_path_factory, stems, drop, roles):
    """Every complete stem becomes exactly one pair; every orphan becomes one problem."""
    root = tmp_path_factory.mktemp("ds")
    stems = sorted(stems, key=str.lower)
    stems = [s for i, s in enumerate(stems) if s.lower() not in {t.lower() for t in stems[:i]}]
    complete, orphans = set(), set()
    for i, stem in enumerate(stems):
        if i in drop:
            png(root / "train" / f"{stem}_{roles[i]}.png")
            orphans.add(stem)
        else:
            png(root / "train" / f"{stem}_flash.png")
            png(root / "train" / f"{stem}_ambient.png")
            complete.add(stem)
    ps = find_pairs(root, "train", check=False)
    assert {p.stem for p in ps.pairs} == complete
    assert len(ps.problems) == len(orphans)
    for p in ps.pairs:
        assert p.flash.name == f"{p.stem}_flash.png" and p.ambient.name == f"{p.stem}_ambient.png"
