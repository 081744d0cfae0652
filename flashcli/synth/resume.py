"""Continue an interrupted ``flashcli synth``: the same command again keeps the pairs already
written and renders the rest.

``OUT/synth.json`` is written before the first pair, with the settings that decide the files
(:data:`SETTINGS`) and ``complete: false``, and kept up to date as pairs finish (``done``:
one letter per pair, its flash kind, ``.`` when not written yet), at most every
:data:`FLUSH_SECONDS` and once more when the run ends or is interrupted. A later run into
the same folder compares its settings with the recorded ones: the same settings continue
(pairs whose two images are there, complete and recorded are kept; pair ``i`` depends only
on (seed, i), so the set is the one an uninterrupted run makes), other settings are refused
with the setting named, and ``--overwrite`` starts over.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from flashcli.errors import FlashcliError
from flashcli.io.fsutil import atomic_write_text, is_regular
from flashcli.io.imageio import verify_image
from flashcli.io.jsonsafe import loads_untrusted
from flashcli.synth.compose import CATEGORIES
from flashcli.synth.render import RenderedPair

MANIFEST = "synth.json"
#: The settings that decide the files, as synth.json records them, and their options.
SETTINGS = {"renderer_version": "renderer version", "seed": "--seed", "pairs": "--pairs",
            "size": "--size", "test_fraction": "--test-fraction", "misalign": "--misalign",
            "kind": "--kind", "textures": "--textures"}
KIND_CODES = {"photo": "p", "faid": "f"}
NOT_DONE = "."
FLUSH_SECONDS = 2.0
_OURS = re.compile(rf"^({'|'.join(CATEGORIES)})_(\d+)_(flash|ambient)\.png$")


@dataclass(frozen=True)
class Kept:
    """A pair written by an earlier run of the same settings."""

    index: int
    split: str
    name: str
    category: str
    kind: str


def settings(renderer_version: str, seed: int, pairs: int, size: tuple[int, int],
             test_fraction: float, misalign: float, kind: str, textures: dict | None) -> dict[str, Any]:
    """The settings that decide the files, as synth.json records them."""
    return {"renderer_version": renderer_version, "seed": seed, "pairs": pairs,
            "size": f"{size[0]}x{size[1]}", "test_fraction": test_fraction, "misalign": misalign,
            "kind": kind, "textures": textures}


def read_record(out: Path) -> dict[str, Any] | None:
    """synth.json as data, or None when it is missing or unreadable."""
    path = out / MANIFEST
    try:
        if not is_regular(path):
            return None
        data = loads_untrusted(path.read_bytes(), max_bytes=50_000_000, max_depth=16)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _show(key: str, value: Any) -> str:
    if key == "textures":
        return "none" if not value else f"{value.get('folder') or value.get('builtin')} ({value.get('photos')} photos)"
    return str(value)


def differences(recorded: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Each setting that differs: ``--seed 10 (the folder was rendered with 9)``."""
    return [f"{flag} {_show(key, wanted[key])} (the folder was rendered with "
            f"{_show(key, recorded.get(key))})"
            for key, flag in SETTINGS.items() if recorded.get(key) != wanted[key]]


def kept_pairs(out: Path, old: list[Path], wanted: dict[str, Any], n_test: int) -> dict[int, Kept]:
    """The pairs of ``old`` (the paired images in OUT) that a run with ``wanted`` keeps;
    refuses a folder that holds someone else's images or pairs of other settings."""
    foreign = [p for p in old if not _OURS.match(p.name)]
    if foreign:
        raise FlashcliError(f"{foreign[0]}: {out} holds paired images that flashcli synth did not "
                            "write; choose an empty folder")
    recorded = read_record(out)
    if recorded is None:
        raise FlashcliError(f"{out}: already holds {len(old)} paired images, and no readable "
                            f"{MANIFEST} says how they were made; choose an empty folder or pass "
                            "--overwrite to replace them")
    diff = differences(recorded, wanted)
    if diff:
        raise FlashcliError(f"{out}: already holds {len(old)} paired images rendered with other "
                            f"settings: {'; '.join(diff)}; run with the folder's settings to "
                            "continue it, pass --overwrite to start over, or choose an empty folder")
    done = recorded.get("done") if isinstance(recorded.get("done"), str) else ""
    return _complete(out, old, done, wanted, n_test)


def _complete(out: Path, old: list[Path], done: str, wanted: dict[str, Any],
              n_test: int) -> dict[int, Kept]:
    """Pairs recorded as done whose flash and ambient images are both there and whole."""
    pairs = int(wanted["pairs"])
    w, h = (int(v) for v in str(wanted["size"]).split("x"))
    found: dict[int, set[str]] = {}
    names: dict[int, tuple[str, str, str]] = {}
    for path in old:
        m = _OURS.match(path.name)
        index = int(m.group(2))
        split = "test" if index >= pairs - n_test else "train"
        if index >= pairs or path.parent.name != split:
            continue
        found.setdefault(index, set()).add(m.group(3))
        names[index] = (split, path.name.rsplit("_", 1)[0], m.group(1))
    kinds = {code: kind for kind, code in KIND_CODES.items()}
    kept = {}
    for index, sides in found.items():
        code = done[index] if index < len(done) else NOT_DONE
        split, name, category = names[index]
        if sides != {"flash", "ambient"} or code not in kinds:
            continue
        try:
            for side in ("flash", "ambient"):
                verify_image(out / split / f"{name}_{side}.png", fmt="PNG", size=(w, h))
        except Exception:  # noqa: BLE001 - damaged by hand: rendered again
            continue
        kept[index] = Kept(index, split, name, category, kinds[code])
    return kept


class Record:
    """Keeps synth.json up to date while pairs are rendered."""

    def __init__(self, out: Path, wanted: dict[str, Any], kept: dict[int, Kept],
                 preview: str | None) -> None:
        self.out, self.wanted, self.preview = out, wanted, preview
        self.done = [NOT_DONE] * int(wanted["pairs"])
        for k in kept.values():
            self.done[k.index] = KIND_CODES[k.kind]
        self.last = 0.0
        self.dirty = True

    def add(self, index: int, kind: str) -> None:
        self.done[index] = KIND_CODES.get(kind, NOT_DONE)
        self.dirty = True
        if time.monotonic() - self.last >= FLUSH_SECONDS:
            self.flush()

    def flush(self, final: dict[str, Any] | None = None) -> None:
        """Write synth.json: the settings and what is done, or ``final`` (the whole
        description of a finished set) with ``complete: true``."""
        if not self.dirty and final is None:
            return
        data = {"renderer": "flashcli.synth", **self.wanted, **(final or {}),
                "complete": final is not None, "done": "".join(self.done), "preview": self.preview}
        atomic_write_text(self.out / MANIFEST, json.dumps(data, indent=2) + "\n")
        self.last, self.dirty = time.monotonic(), False


def preview_allowed(out: Path, preview: str | Path | None) -> bool:
    """A resumed run may replace the preview sheet its own earlier run wrote."""
    recorded = read_record(out) or {}
    return preview is not None and recorded.get("preview") == str(preview)


def load_pair(out: Path, kept: Kept) -> Any:
    """A kept pair's images from disk (for the preview sheet), as a RenderedPair."""
    def read(side: str) -> torch.Tensor:
        with Image.open(out / kept.split / f"{kept.name}_{side}.png") as img:
            return torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1).contiguous()

    return RenderedPair(flash=read("flash"), ambient=read("ambient"), category=kept.category,
                        kind=kept.kind)
