"""The installed methods as the commands use them: build a ready-to-run enhancer from a
method name, options, weights and a device; describe what is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from flashcli.device import resolve_device
from flashcli.enhancer import Enhancer
from flashcli.errors import WeightsError
from flashcli.plugins import Registry, registry
from flashcli.weights import load_weights, read_meta


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


def default_weights_info(cls: Any) -> dict[str, Any] | None:
    """Where a method's shipped weights are and what they were trained on (their sidecar)."""
    try:
        path = cls.default_weights() if hasattr(cls, "default_weights") else None
    except Exception:  # noqa: BLE001 - a plugin's bug must not break the listing
        return None
    if path is None:
        return None
    trained_on = (read_meta(path).get("provenance") or {})
    data = trained_on.get("data") if isinstance(trained_on, dict) else None
    return {"path": str(path), "trained_on": data or "see the weights' sidecar"}


def plugins_report(reg: Registry | None = None) -> dict[str, Any]:
    """The installed methods and failed plugins as plain data (``flashcli plugins``)."""
    reg = reg or registry()
    methods = []
    for name in sorted(reg.methods):
        m = reg.methods[name]
        cls = m.cls
        methods.append({
            "name": name,
            "plugin": m.plugin.name,
            "distribution": m.plugin.dist,
            "version": m.plugin.version,
            "trainable": bool(getattr(cls, "trainable", False)),
            "needs_weights": bool(getattr(cls, "needs_weights", False)),
            "default_for": list(getattr(cls, "default_for", ())),
            "reference": bool(getattr(cls, "reference", False)),
            "description": getattr(cls, "description", ""),
            "default_weights": default_weights_info(cls),
            "options": {o.name: o.default for o in getattr(cls, "options", ())},
        })
    failed = [{"plugin": p.name, "module": p.module, "distribution": p.dist, "version": p.version,
               "error": p.error} for p in reg.failures]
    return {"methods": methods, "failed": failed}


def default_methods(reg: Registry | None = None) -> list[str]:
    """Every installed method that runs without weights given (needs none, or ships them)."""
    reg = reg or registry()
    return sorted(name for name, info in reg.methods.items()
                  if not info.cls.needs_weights or info.cls.default_weights() is not None)
