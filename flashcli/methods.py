"""The installed methods as the commands use them: build a ready-to-run enhancer from a
method name, options, weights and a device; describe what is installed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli.enhancer import Enhancer, OptionValues, validate_options
from flashcli.errors import FlashcliError, WeightsError
from flashcli.plugins import Registry, registry
from flashcli.runtime.device import resolve_device
from flashcli.runtime.lazy import lazy_module
from flashcli.weights import describe_weights, load_weights, read_meta, stored_method

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_module("torch")


def method_options(name: str, options: Mapping[str, Any] | None) -> OptionValues:
    """The options of method ``name`` parsed and checked (:func:`validate_options`) without
    building it: where a command takes ``--opt`` values, before any work (an unknown method
    is refused with the installed ones listed)."""
    return validate_options(registry().get(name).cls, options)


def _construct(cls: type[Enhancer], name: str, options: dict[str, Any]) -> Enhancer:
    """``cls(**options)``; anything plugin code raises (``SystemExit`` too) is one line."""
    try:
        return cls(**options)
    except (KeyboardInterrupt, MemoryError, FlashcliError):
        raise
    except BaseException as exc:  # noqa: BLE001 - plugin code
        provided = registry().methods.get(name)
        by = f" ({provided.provided_by})" if provided is not None else ""
        raise FlashcliError(f"method {name}{by} failed to start ({type(exc).__name__}: {exc}); "
                            "reinstall or update the plugin, or leave the method out (--methods, -m)") from exc


def _stored_options(cls: type[Enhancer], meta: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """The options a weights file's metadata records, checked like command-line values."""
    known = {o.name: o for o in cls.options}
    out = {}
    for key, value in (meta.get("options") or {}).items():
        if key not in known:
            continue
        try:
            out[key] = known[key].parse(value)
        except FlashcliError as exc:
            raise WeightsError(f"{path}: its metadata is malformed ({exc.message}); re-export "
                               "or re-train the weights") from None
    return out


def _check_shapes(cls: type[Enhancer], name: str, options: dict[str, Any],
                  state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Build the method on the meta device (no memory) and compare its tensors with the
    file's, so options that do not match the weights (``width`` = 12 for a width-1 file)
    fail before gigabytes are allocated. Skipped when every option is its default (the
    file cannot then make the method bigger) or the method cannot be built there."""
    defaults = {o.name: o.default for o in cls.options}
    if all(defaults.get(k) == v for k, v in options.items()):
        return
    try:
        with torch.device("meta"):
            probe = cls(**options)
        expected = probe.state_dict()
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException:  # noqa: BLE001 - not every plugin builds on the meta device
        return
    if not expected:
        return
    missing = sorted(k for k in set(expected) - set(state) if not k.startswith(cls.optional_state))
    wrong = sorted(k for k in set(expected) & set(state)
                   if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or wrong:
        what = (f"{wrong[0]} is {tuple(state[wrong[0]].shape)} in the file, "
                f"{tuple(expected[wrong[0]].shape)} for these options") if wrong else \
            f"missing {missing[0]}"
        raise WeightsError(f"{path}: weights do not fit method {name} with these options "
                           f"({what}); pass the options the weights were trained with")


def create_enhancer(
    name: str,
    options: dict[str, Any] | None = None,
    weights: str | Path | None = None,
    device: str | torch.device = "auto",
) -> Enhancer:
    """Look ``name`` up among the installed plugins and return it loaded and on ``device``.

    Weights come from ``weights`` or, failing that, the plugin's default weights. Options
    stored with the weights (the architecture they were trained with) are the defaults;
    ``options`` override them. ``options`` are checked first (a bad value is a usage error
    before anything else); stored options are checked like command-line ones and against
    the shapes of the file's own tensors before anything large is built.
    """
    info = registry().get(name)
    cls = info.cls
    validate_options(cls, options)  # a bad value: exit 2 before weights, devices or work
    dev = resolve_device(device)
    try:
        path = weights if weights is not None else cls.default_weights()
    except Exception as exc:  # noqa: BLE001 - plugin code
        raise FlashcliError(f"method {name}: cannot find its default weights ({exc}); pass --weights PATH") from None
    if path is None:
        if cls.needs_weights:
            raise missing_weights(name, cls)
        return _construct(cls, name, dict(options or {})).to(dev)
    state, meta = load_weights(path)
    if meta.get("method") not in (None, name):
        raise WeightsError(f"{path}: these weights are for method {meta['method']!r}, not {name!r}")
    merged = {**_stored_options(cls, meta, path), **(options or {})}
    validate_options(cls, merged)  # with the stored ones: before anything is built
    _check_shapes(cls, name, merged, state, path)
    enhancer = _construct(cls, name, merged)
    try:
        enhancer.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{path}: weights do not fit method {name} with these options ({first})") from None
    enhancer.weights_info = describe_weights(path, bundled=weights is None)
    return enhancer.to(dev)


def missing_weights(name: str, cls: Any) -> WeightsError:
    """The error for a method that needs weights and was given none."""
    hint = f"train some with `flashcli train DATASET --method {name}`" if cls.trainable else "see the plugin's docs"
    return WeightsError(f"method {name} needs weights: pass --weights PATH ({hint})")


def weights_info(name: str, weights: str | Path | None = None) -> dict[str, Any] | None:
    """``describe_weights`` of the weights ``create_enhancer(name, weights=...)`` would load
    (the plugin's bundled ones when ``weights`` is None), without loading them; None when
    the method runs without weights."""
    cls = registry().get(name).cls
    try:
        path = weights if weights is not None else cls.default_weights()
    except Exception:  # noqa: BLE001 - plugin code; create_enhancer reports it
        return None
    if path is None and cls.needs_weights:
        raise missing_weights(name, cls)
    if path is None:
        return None
    meant = stored_method(path)  # checked before the weights are announced, not after
    if meant not in (None, name):
        raise WeightsError(f"{path}: these weights are for method {meant!r}, not {name!r}")
    return describe_weights(path, bundled=weights is None)


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


def option_info(option: Any) -> dict[str, Any]:
    """One declared option as plain data: name, type, default, allowed values and help."""
    kind = option.kind
    choices = list(option.choices) if option.choices else None
    allowed = (" | ".join(str(c) for c in choices) if choices
               else option.bounds() or ("true | false" if kind is bool else None))
    return {"name": option.name, "type": getattr(kind, "__name__", str(kind)),
            "default": option.default, "choices": choices, "minimum": option.minimum,
            "maximum": option.maximum, "positive": bool(option.positive), "range": allowed,
            "help": option.help}


def _method_entry(name: str, m: Any) -> dict[str, Any]:
    cls = m.cls
    options = tuple(getattr(cls, "options", ()))
    return {
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
        "options": {o.name: o.default for o in options},
        "option_details": [option_info(o) for o in options],
    }


def plugins_report(reg: Registry | None = None, method: str | None = None) -> dict[str, Any]:
    """The installed methods and failed plugins as plain data (``flashcli plugins``).

    With ``method``, only that method (its ``option_details`` list each option's type,
    default, range or choices and help); an unknown name is a :class:`UsageError` naming the
    installed ones.
    """
    reg = reg or registry()
    if method is not None:
        reg.get(method)  # unknown: one line naming the installed methods
    names = [method] if method is not None else sorted(reg.methods)
    methods = [_method_entry(name, reg.methods[name]) for name in names]
    failed = [{"plugin": p.name, "module": p.module, "distribution": p.dist, "version": p.version,
               "error": p.error} for p in reg.failures]
    return {"methods": methods, "failed": failed}


def default_methods(reg: Registry | None = None) -> list[str]:
    """Every installed method that runs without weights given (needs none, or ships them)."""
    reg = reg or registry()
    return sorted(name for name, info in reg.methods.items()
                  if not info.cls.needs_weights or info.cls.default_weights() is not None)
