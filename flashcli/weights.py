"""Safe weights files: safetensors plus a JSON sidecar; never unpickle arbitrary objects.

A weights file ``X.safetensors`` may have a sidecar ``X.json`` describing how it was made
(method, options, training config, versions). A run folder written by ``flashcli train``
resolves to ``best.safetensors``, else ``last.safetensors``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import torch

from flashcli.errors import WeightsError
from flashcli.fsutil import atomic_path, atomic_write_text

META_KEY = "flashcli"


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
        except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{p}: not a readable safetensors file ({exc}); re-export or re-train the weights") from None
    else:
        try:
            obj = torch.load(p, map_location=device, weights_only=True)
        except pickle.UnpicklingError:
            raise WeightsError(
                f"{p}: refused: this checkpoint contains Python objects that could run code; "
                "use a safetensors file or a plain tensor state dict"
            ) from None
        except (RuntimeError, OSError, EOFError, ValueError) as exc:
            raise WeightsError(f"{p}: not a readable checkpoint ({exc})") from None
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise WeightsError(f"{p}: not a state dict of tensors; pass a .safetensors file")
        state = obj
    side = sidecar_path(p)
    if not meta and side.is_file():
        try:
            meta = json.loads(side.read_text())
        except (OSError, json.JSONDecodeError):
            meta = {}
    return state, meta
