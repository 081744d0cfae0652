"""Safe weights files: safetensors plus a JSON sidecar; never unpickle arbitrary objects.

A weights file ``X.safetensors`` may have a sidecar ``X.json`` describing how it was made
(method, options, training config, versions). A run folder written by ``flashcli train``
resolves to ``best.safetensors``, else ``last.safetensors``.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch

from flashcli.errors import WeightsError
from flashcli.fsutil import atomic_path, atomic_write_text

META_KEY = "flashcli"
#: What torch's restricted (weights_only) unpickler says when it refuses a global.
_UNSAFE = "Weights only load failed"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(exc, (KeyError, IndexError)) or not line:
        line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line.split(". ")[0]


def torch_load_untrusted(path: str | Path, map_location: str | torch.device = "cpu", *,
                         unreadable_hint: str = "pass a .safetensors file or a flashcli train "
                                                "run folder") -> Any:
    """``torch.load`` a file that may come from anywhere: tensors and plain containers only
    (``weights_only=True``). A pickle that would call anything else is refused (and nothing
    of it runs); a damaged file gives a one-line :class:`WeightsError`, never a traceback."""
    p = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": noise here
            return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if _UNSAFE in str(exc):  # the restricted unpickler met a global it will not call
            raise WeightsError(
                f"{p}: refused: this file contains Python objects that could run code; "
                "use a safetensors file or a plain tensor state dict"
            ) from None
        raise WeightsError(f"{p}: not a readable checkpoint ({_first_line(exc)}); "
                           f"{unreadable_hint}") from None
    except Exception as exc:  # weights_only: nothing ran; damaged files raise anything
        raise WeightsError(f"{p}: not a readable checkpoint ({_first_line(exc)}); "
                           f"{unreadable_hint}") from None


def resolve_weights_path(path: str | Path) -> Path:
    """A file as is; a run folder -> its best (else last) weights."""
    p = Path(path).expanduser()
    if p.is_dir():
        for name in ("best.safetensors", "last.safetensors", "weights.safetensors"):
            if (p / name).is_file():
                return p / name
        found = sorted(p.glob("*.safetensors"))
        if len(found) == 1:
            return found[0]
        raise WeightsError(f"{p}: no weights found in this folder; pass a .safetensors file or a flashcli train run folder")
    if not p.is_file():
        raise WeightsError(f"{p}: weights file not found; check the path given to --weights")
    return p


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON sidecar of a weights file or run folder (``{}`` when missing or
    unreadable), without reading any tensor."""
    try:
        side = sidecar_path(resolve_weights_path(path))
        return _clean_meta(json.loads(side.read_text()))
    except (WeightsError, OSError, UnicodeDecodeError, ValueError):
        return {}


def save_weights(path: str | Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``state`` as safetensors (meta embedded) and the JSON sidecar, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    text = json.dumps(meta, indent=2, sort_keys=True, default=str)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta, default=str)})
    atomic_write_text(sidecar_path(path), text + "\n")
    return path


def load_weights(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load ``(state_dict, meta)`` from a safetensors file, a run folder or a plain
    ``torch.save``d state dict (read with ``weights_only=True``)."""
    p = resolve_weights_path(path)
    meta: dict[str, Any] = {}
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            state = {}
            with safe_open(str(p), framework="pt", device=str(device)) as fh:
                raw = (fh.metadata() or {}).get(META_KEY)
                if raw:
                    meta = json.loads(raw)
                for key in fh.keys():
                    state[key] = fh.get_tensor(key)
        except (SafetensorError, OSError, ValueError, MemoryError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{p}: not a readable safetensors file ({_first_line(exc)}); "
                               "re-export or re-train the weights") from None
    else:
        obj = torch_load_untrusted(p, device)
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise WeightsError(f"{p}: not a state dict of tensors; pass a .safetensors file")
        state = obj
    side = sidecar_path(p)
    if not meta and side.is_file():
        try:
            meta = json.loads(side.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            meta = {}
    return state, _clean_meta(meta)


def _clean_meta(meta: Any) -> dict[str, Any]:
    """Metadata from an untrusted file: a dict, with ``options`` a dict (else dropped)."""
    if not isinstance(meta, dict):
        return {}
    if "options" in meta and not isinstance(meta["options"], dict):
        meta = {k: v for k, v in meta.items() if k != "options"}
    if "method" in meta and not isinstance(meta["method"], str):
        meta = {k: v for k, v in meta.items() if k != "method"}
    return meta
