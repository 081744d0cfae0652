"""Build a ready-to-run enhancer from a method name, options, weights and a device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from flashcli.device import resolve_device
from flashcli.enhancer import Enhancer
from flashcli.errors import WeightsError
from flashcli.plugins import registry
from flashcli.weights import load_weights


def create_enhancer(
    name: str,
    options: dict[str, Any] | None = None,
    weights: str | Path | None = None,
    device: str | torch.device = "auto",
) -> Enhancer:
    """Look ``name`` up among the installed plugins and return it loaded and on ``device``.

    Weights come from ``weights`` or, failing that, the plugin's default weights. Options
    stored with the weights (the architecture they were trained with) are the defaults;
    ``options`` override them.
    """
    info = registry().get(name)
    cls = info.cls
    dev = resolve_device(device)
    path = weights if weights is not None else cls.default_weights()
    if path is None:
        if cls.needs_weights:
            hint = f"train some with `flashcli train DATASET --method {name}`" if cls.trainable else "see the plugin's docs"
            raise WeightsError(f"method {name} needs weights: pass --weights PATH ({hint})")
        return cls(**(options or {})).to(dev)
    state, meta = load_weights(path)
    if meta.get("method") not in (None, name):
        raise WeightsError(f"{path}: these weights are for method {meta['method']!r}, not {name!r}")
    stored = {k: v for k, v in (meta.get("options") or {}).items() if k in {o.name for o in cls.options}}
    enhancer = cls(**{**stored, **(options or {})})
    try:
        enhancer.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{path}: weights do not fit method {name} with these options ({first})") from None
    return enhancer.to(dev)
