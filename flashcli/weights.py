"""Safe weights files: safetensors plus a JSON sidecar; never unpickle arbitrary objects.

A weights file ``X.safetensors`` may have a sidecar ``X.json`` describing how it was made
(method, options, training config, versions). A run folder written by ``flashcli train``
resolves to ``best.safetensors``, else ``last.safetensors``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import re
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli.errors import WeightsError
from flashcli.io.decodefail import one_line
from flashcli.io.fsutil import (
    atomic_path,
    atomic_write_text,
    is_regular,
    not_regular_reason,
    open_regular,
)
from flashcli.io.jsonsafe import loads_untrusted, read_untrusted
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import safetensors
    import safetensors.torch as safetensors_torch
    import torch
else:
    safetensors = lazy_module("safetensors")
    safetensors_torch = lazy_module("safetensors.torch")
    torch = lazy_module("torch")

META_KEY = "flashcli"
#: What torch's restricted (weights_only) unpickler says when it refuses a global (a class
#: or function the pickle would call); damaged data fails the same unpickler differently.
_UNSAFE = re.compile(r"\bGLOBAL\b|Unsupported global|Unsupported class")
_UNPICKLER_WHY = re.compile(r"WeightsUnpickler error:\s*(.+)")


def _first_line(exc: BaseException) -> str:
    """:func:`one_line`, typed for a bare key or index, up to the end of the first sentence."""
    return one_line(exc, typed=isinstance(exc, (KeyError, IndexError))).split(". ")[0]


def torch_load_untrusted(path: str | Path, map_location: str | torch.device = "cpu", *,
                         unreadable_hint: str = "pass a .safetensors file or a flashcli train "
                                                "run folder") -> Any:
    """``torch.load`` a file that may come from anywhere: tensors and plain containers only
    (``weights_only=True``). A pickle that would call anything else is refused (and nothing
    of it runs); a damaged file gives a one-line :class:`WeightsError`, never a traceback."""
    p = Path(path)
    why = not_regular_reason(p)
    if why is not None:
        raise WeightsError(f"{p}: {why}")
    if is_safetensors(p):
        raise WeightsError(f"{p}: a safetensors file, not a torch checkpoint; {unreadable_hint}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": noise here
            with open_regular(p) as fh:
                return torch.load(fh, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if _UNSAFE.search(str(exc)) or _is_pickle(p):  # a global it will not call, or a raw pickle
            raise WeightsError(
                f"{p}: refused: this file contains Python objects that could run code; "
                "use a safetensors file or a plain tensor state dict"
            ) from None
        why = _UNPICKLER_WHY.search(str(exc))
        detail = f"damaged or not a checkpoint: {why.group(1).strip()}" if why else _first_line(exc)
        raise WeightsError(f"{p}: not a readable checkpoint ({detail}); "
                           f"{unreadable_hint}") from None
    except Exception as exc:  # weights_only: nothing ran; damaged files raise anything
        raise WeightsError(f"{p}: not a readable checkpoint ({_first_line(exc)}); "
                           f"{unreadable_hint}") from None


def _is_pickle(path: Path) -> bool:
    """True when the file starts as a Python pickle does (protocol 2 and up): a pickle the
    restricted unpickler cannot read is treated as one that could run code."""
    try:
        with open_regular(path) as fh:
            return fh.read(1) == b"\x80"
    except OSError:
        return False


def is_safetensors(path: str | Path) -> bool:
    """True when the file's content is safetensors (whatever its name): an 8-byte header
    length that fits the file, then a JSON object."""
    try:
        with open_regular(path) as fh:
            head = fh.read(9)
            size = os_size(fh)
    except OSError:
        return False
    if len(head) < 9 or head[8:9] != b"{":
        return False
    n = struct.unpack("<Q", head[:8])[0]
    return 8 + n <= size


def os_size(fh) -> int:
    return os.fstat(fh.fileno()).st_size


def resolve_weights_path(path: str | Path) -> Path:
    """A file as is; a run folder -> its best (else last) weights. Only regular files count
    (a FIFO named ``x.safetensors`` would block a reader forever)."""
    p = Path(path).expanduser()
    if p.is_dir():
        for name in ("best.safetensors", "last.safetensors", "weights.safetensors"):
            if is_regular(p / name):
                return p / name
        found = sorted(f for f in p.glob("*.safetensors") if is_regular(f))
        if len(found) == 1:
            return found[0]
        raise WeightsError(f"{p}: no weights found in this folder; pass a .safetensors file or a flashcli train run folder")
    why = not_regular_reason(p)
    if why is not None:
        if why.startswith("no such file"):
            raise WeightsError(f"{p}: weights file not found; check the path given to --weights")
        raise WeightsError(f"{p}: {why}")
    return p


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON sidecar of a weights file or run folder (``{}`` when missing or
    unreadable), without reading any tensor."""
    try:
        side = sidecar_path(resolve_weights_path(path))
        return _clean_meta(read_untrusted(side))
    except (WeightsError, OSError, UnicodeDecodeError, ValueError):
        return {}


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a regular file, read in chunks; remembered per (path, size, mtime), so
    describing the same weights twice in a run (plan, then load) hashes them once."""
    st = os.stat(path)
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_weights(path: str | Path, bundled: bool = False) -> dict[str, Any]:
    """What a weights file is, for reports: the file, its sha256, what it was trained on and
    its provenance (from the sidecar), its method options and its training-time scores."""
    file = resolve_weights_path(path)
    meta = read_meta(file)
    prov = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else {}
    dataset = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
    trained_on = prov.get("data") or (f"{dataset.get('train_pairs')} pairs" if dataset else None)
    return {"file": str(file), "sha256": sha256_of(file), "bundled": bundled,
            "trained_on": trained_on or "unknown (no sidecar)",
            "options": meta.get("options") if isinstance(meta.get("options"), dict) else {},
            "metrics": meta.get("metrics") if isinstance(meta.get("metrics"), dict) else {},
            "provenance": prov}


def verify_safetensors(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> None:
    """Check a written safetensors file is whole: its header parses, names the tensors
    (``shapes``, when given) and its data ends exactly at the end of the file."""
    with open_regular(path) as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        if n > 100_000_000:
            raise ValueError(f"header of {n} bytes")
        header = loads_untrusted(fh.read(n), max_bytes=100_000_000, max_depth=8)
        size = os_size(fh)
    ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    if 8 + n + max(ends, default=0) != size:
        raise ValueError(f"{size} bytes on disk, {8 + n + max(ends, default=0)} expected")
    if shapes is not None:
        got = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
        if got != shapes:
            raise ValueError("the tensors on disk differ from those written")


def save_weights(path: str | Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``state`` as safetensors (meta embedded) and the JSON sidecar, atomically; the
    file on disk is checked before it replaces the old one."""
    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    with atomic_path(path, verify=lambda tmp: verify_safetensors(tmp, shapes)) as tmp:
        safetensors_torch.save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta, default=str)})
    atomic_write_text(sidecar_path(path), text + "\n")
    return path


def _read_safetensors(p: Path, device: str | torch.device) -> tuple[dict[str, torch.Tensor], Any]:
    meta: Any = {}
    try:
        state = {}
        with safetensors.safe_open(str(p), framework="pt", device=str(device)) as fh:
            raw = (fh.metadata() or {}).get(META_KEY)
            if raw:
                try:
                    meta = loads_untrusted(raw)
                except ValueError as exc:
                    raise WeightsError(f"{p}: its embedded metadata is malformed ({exc}); "
                                       "re-export or re-train the weights") from None
            for key in fh.keys():
                state[key] = fh.get_tensor(key)
    except (safetensors.SafetensorError, OSError, ValueError, MemoryError) as exc:
        raise WeightsError(f"{p}: not a readable safetensors file ({_first_line(exc)}); "
                           "re-export or re-train the weights") from None
    return state, meta


def stored_method(path: str | Path) -> str | None:
    """The method a weights file (or run folder) says it is for, from the safetensors header's
    embedded metadata or else the sidecar, without reading any tensor; None when it does not
    say (or the file cannot be read: loading it reports that)."""
    meta: Any = {}
    try:
        file = resolve_weights_path(path)
        with open_regular(file) as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            if n <= 100_000_000:
                header = loads_untrusted(fh.read(n), max_bytes=100_000_000, max_depth=8)
                raw = (header.get("__metadata__") or {}).get(META_KEY)
                meta = loads_untrusted(raw) if raw else {}
    except (WeightsError, OSError, ValueError, UnicodeDecodeError, struct.error, AttributeError):
        meta = {}
    method = _clean_meta(meta or read_meta(path)).get("method")
    return method if isinstance(method, str) else None


def load_weights(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load ``(state_dict, meta)`` from a safetensors file (recognised by its content, whatever
    its name), a run folder or a plain ``torch.save``d state dict (``weights_only=True``).
    Metadata comes from the embedded JSON or else the sidecar, both size- and depth-capped."""
    p = resolve_weights_path(path)
    meta: Any = {}
    if p.suffix == ".safetensors" or is_safetensors(p):
        state, meta = _read_safetensors(p, device)
    else:
        obj = torch_load_untrusted(p, device)
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise WeightsError(f"{p}: not a state dict of tensors; pass a .safetensors file")
        state = obj
    side = sidecar_path(p)
    if not meta and side != p and is_regular(side):
        try:
            meta = read_untrusted(side)
        except (OSError, ValueError):
            meta = {}  # a malformed sidecar is ignored (it only describes the weights)
    return state, _clean_meta(meta)


def _clean_meta(meta: Any) -> dict[str, Any]:
    """Metadata from an untrusted file: a dict, ``method`` a string and ``options`` a dict
    (else dropped). The type and range of each option are checked against the method's own
    options when the enhancer is built (:func:`flashcli.methods.create_enhancer`)."""
    if not isinstance(meta, dict):
        return {}
    if "options" in meta and not isinstance(meta["options"], dict):
        meta = {k: v for k, v in meta.items() if k != "options"}
    if "method" in meta and not isinstance(meta["method"], str):
        meta = {k: v for k, v in meta.items() if k != "method"}
    return meta
