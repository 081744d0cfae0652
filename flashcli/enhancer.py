"""The enhancer interface every method implements, built-in or third-party.

An enhancer turns a batch of flash photos into ambient-lit ones::

    class Gamma(Enhancer):
        name = "gamma"
        description = "Darken the flash image with a gamma curve."
        options = (Option("gamma", 1.6, "exponent applied to each channel"),)

        def enhance(self, flash):
            return flash ** self.config["gamma"]

Options are declared with their rules (``Option(..., positive=True, maximum=4.0)``) and
checked in one place, :func:`validate_options` (plus the class's optional
``check_options`` hook), wherever they enter: a bad value is a usage error (exit status 2)
before any work. ``self.config`` holds them typed and read-only (:class:`OptionValues`:
``self.config["gamma"]`` or ``self.config.gamma``).

``enhance`` receives an ``N x 3 x H x W`` float tensor in [0, 1] on any device and returns
the same shape on the same device. Call the enhancer (``enhancer(flash)``) rather than
``enhance`` to get input checks, no-grad mode and clamping.

Neural methods keep their ``torch.nn.Module`` in ``self.network``; the base class moves it
between devices and loads and saves its weights. Methods that need weights set
``needs_weights = True`` and may ship defaults through ``default_weights``. Trainable
methods set ``trainable = True`` and implement ``training_task`` (see
``flashcli.training``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flashcli.errors import FlashcliError, MethodError, UsageError
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_module("torch")

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class Option:
    """One typed option of a method, set on the command line as ``--opt name=value``."""

    name: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    type: type | None = None
    #: Numbers that must be > 0 (widths, learning rates, sigmas...).
    positive: bool = False
    #: Inclusive bounds for numbers (None: unbounded).
    minimum: float | None = None
    maximum: float | None = None

    @property
    def kind(self) -> type:
        return self.type or type(self.default)

    def _bad(self, value: Any, why: str) -> UsageError:
        return option_error(self.name, value, why)

    def bounds(self) -> str | None:
        """The allowed numbers as one inequality (``0 < width <= 4``); None if unbounded."""
        low = ("0 < " if self.positive and (self.minimum is None or self.minimum <= 0)
               else f"{self.minimum:g} <= " if self.minimum is not None else "")
        high = f" <= {self.maximum:g}" if self.maximum is not None else ""
        return f"{low}{self.name}{high}" if low or high else None

    def _out_of_range(self, value: Any, why: str) -> UsageError:
        both = (self.positive or self.minimum is not None) and self.maximum is not None
        return self._bad(value, f"{why} ({self.bounds()})" if both else why)

    def _from_text(self, value: str) -> Any:
        kind = self.kind
        if self.default is None and value.strip().lower() in ("none", "auto", ""):
            return None
        if kind is bool:
            low = value.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError
            return low in _TRUE
        if kind in (int, float, str):
            return kind(value)
        return value

    def _from_value(self, value: Any) -> Any:
        """A Python value (from code or a weights file's metadata) of the right type."""
        kind = self.kind
        if value is None:
            if self.default is None:
                return None
            raise ValueError
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError
            return float(value)
        elif kind is str and not isinstance(value, str):
            raise ValueError
        return value

    def parse(self, value: Any) -> Any:
        """Turn a command-line string (or a Python value) into the option's type; refuse
        values of another type, non-finite numbers and numbers out of range."""
        kind = self.kind
        try:
            parsed = self._from_text(value) if isinstance(value, str) else self._from_value(value)
            if isinstance(parsed, float) and not math.isfinite(parsed):
                raise ValueError
        except (ValueError, OverflowError):
            raise self._bad(value, f"expected {kind.__name__}"
                            + (" (a finite number)" if kind is float else "")) from None
        if parsed is None:
            return None
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            if self.positive and not parsed > 0:
                raise self._out_of_range(value, "must be > 0")
            if self.minimum is not None and parsed < self.minimum:
                raise self._out_of_range(value, f"must be at least {self.minimum:g}")
            if self.maximum is not None and parsed > self.maximum:
                raise self._out_of_range(value, f"must be at most {self.maximum:g}")
        if self.choices is not None and parsed not in self.choices:
            valid = ", ".join(map(str, self.choices))
            raise self._bad(value, f"choose one of {valid}")
        return parsed


def check_finite(images: torch.Tensor, method: str) -> None:
    """Refuse a method output holding NaN or Inf (it would be written as a black image).
    The one check behind every command that runs a method (relight, eval)."""
    if not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).sum())
        raise MethodError(f"method {method} returned non-finite values (NaN or Inf) in {bad} "
                          "of its output values; check its options and weights")


def check_output(out: Any, shape: tuple[int, ...], method: str) -> torch.Tensor:
    """A method's output as float32, or a :class:`MethodError` naming the method: it must be
    a floating-point tensor (an int, bool or complex one would be written as a black, white
    or mangled photo) of the input's ``shape``, with finite values. The one check behind
    every command that runs a method (``Enhancer.__call__``: relight, eval)."""
    if not isinstance(out, torch.Tensor):
        raise MethodError(f"method {method} returned a {type(out).__name__}, not a tensor; "
                          f"it must return a float tensor of shape {shape}")
    if tuple(out.shape) != shape:
        raise MethodError(f"method {method} returned shape {tuple(out.shape)} for input {shape}; "
                          "it must return the input's shape")
    if not out.is_floating_point():
        kind = str(out.dtype).removeprefix("torch.")
        raise MethodError(f"method {method} returned {kind} values; it must return floating-point "
                          "values in [0, 1] (e.g. return x.float() / 255 for 8-bit values)")
    out = out.float()
    check_finite(out, method)
    return out


def parse_opt_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Split ``["key=value", ...]`` (as given to ``--opt``) into a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--opt {pair!r}: expected key=value, e.g. --opt gamma=0.7")
        out[key.strip()] = value
    return out


def option_error(name: str, value: Any, why: str) -> UsageError:
    """The usage error (exit status 2) for a bad option value: ``option NAME=VALUE: why``.
    Raise it from :meth:`Enhancer.check_options` for rules ``Option`` cannot express."""
    return UsageError(f"option {name}={value!r}: {why}")


def resolve_working_size(working_size: int | str | None, method: Any) -> int | str:
    """The long side to run ``method`` (an enhancer or its class) at, or ``"full"`` (full
    resolution: relight tiles it at the method's own scale unless it is ``whole_frame``);
    None means the method's ``working_size``. Text (as typed on the command line) is parsed
    here."""
    if working_size is None:
        working_size = getattr(method, "working_size", None) or "full"
    if isinstance(working_size, str):
        if working_size.strip().lower() == "full":
            return "full"
        if not working_size.strip().isdigit():
            raise UsageError(f"--working-size {working_size}: use a number of pixels or 'full'")
        working_size = int(working_size)
    if int(working_size) < 16:
        raise UsageError(f"--working-size {working_size}: too small; use at least 16 or 'full'")
    return int(working_size)


#: Tile side at full resolution when the method names no working size.
DEFAULT_TILE = 1024


def full_resolution_tiles(method: Any, tile: int | None = None,
                          overlap: int | None = None) -> tuple[int | None, int]:
    """How ``working_size="full"`` runs ``method`` (an enhancer or its class): the tile side
    (None: whole, for a ``whole_frame`` method unless ``tile`` is given) and the overlap.
    By default tiles are the method's own working size, overlapping by a quarter."""
    side = tile or getattr(method, "working_size", None) or DEFAULT_TILE
    overlap = overlap if overlap is not None else max(8, side // 4)
    if getattr(method, "whole_frame", False) and not tile:
        return None, overlap  # tiles would each get their own exposure and centre
    return side, overlap


class OptionValues(dict):  # a dict: every caller of the old plain dict keeps working
    """A method's option values, parsed to their types, checked, and read-only.

    Read them by name (``values["lambda"]``) or as attributes (``values.width``; a name
    that is a Python keyword takes a trailing underscore: ``values.lambda_``). Built only
    by :func:`validate_options`, so holding one means the values were checked.
    """

    __slots__ = ()

    def __getattr__(self, attr: str) -> Any:
        for key in (attr, attr.removesuffix("_"), attr.replace("_", "-")):
            if key in self:
                return self[key]
        raise AttributeError(f"no option {attr!r}; options: {', '.join(self) or '(none)'}")

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("option values are read-only: pass options to the method's constructor "
                        "(or to create_enhancer)")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle without __setitem__
        return (OptionValues, (dict(self),))

    def replace(self, **changes: Any) -> dict[str, Any]:
        """A plain dict of these values with ``changes`` (to build another enhancer)."""
        return {**self, **changes}


def validate_options(cls: type[Enhancer], given: Mapping[str, Any] | None) -> OptionValues:
    """The one check of a method's options, wherever they come from (command line, code,
    a weights file's metadata): unknown names are refused with the valid ones listed, each
    value is parsed and checked against its ``Option`` (type, choices, bounds), defaults
    fill the rest, then ``cls.check_options`` applies the method's rules across options.
    Every failure is a :class:`UsageError` (exit status 2) naming the method and option."""
    given = dict(given or {})
    known = {o.name: o for o in cls.options}
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(sorted(known)) or "(none)"
        raise UsageError(
            f"method {cls.name}: unknown option {', '.join(unknown)}; valid options: {valid}"
        )
    config = {name: o.default for name, o in known.items()}
    try:
        for name, value in given.items():
            config[name] = known[name].parse(value)
        values = OptionValues(config)
        check = getattr(cls, "check_options", None)
        if check is not None:
            check(values)
    except UsageError as exc:
        prefix = f"method {cls.name}: "
        raise UsageError(exc.message if exc.message.startswith(prefix) else prefix + exc.message) from None
    return values


def resolve_options(cls: type[Enhancer], given: Mapping[str, Any]) -> OptionValues:
    """:func:`validate_options` (the name older code and plugins use)."""
    return validate_options(cls, given)


class Enhancer:
    """Base class of every enhancement method. See the module docstring."""

    #: The method's name on the command line (``--method NAME``).
    name: ClassVar[str] = ""
    #: One line shown by ``flashcli plugins``.
    description: ClassVar[str] = ""
    #: Typed options with defaults.
    options: ClassVar[tuple[Option, ...]] = ()
    #: True when the method cannot run without weights (``--weights PATH``).
    needs_weights: ClassVar[bool] = False
    #: True when ``flashcli train`` can train it.
    trainable: ClassVar[bool] = False
    #: Prefixes of tensors that weights from older versions may lack (``load_state_dict``
    #: fills them in).
    optional_state: ClassVar[tuple[str, ...]] = ()
    #: Long side (pixels) the method is meant to run at; None means any size.
    working_size: ClassVar[int | None] = None
    #: True when the method reads the whole frame (global statistics, where its centre is),
    #: so ``relight --working-size full`` runs it on the whole photo rather than in tiles.
    whole_frame: ClassVar[bool] = False
    #: Commands that use this method when none is named, e.g. ``("relight", "train")``.
    default_for: ClassVar[tuple[str, ...]] = ()
    #: True for the reference row every other method is compared with in ``flashcli eval``.
    reference: ClassVar[bool] = False
    #: Position in result tables (lower first); unranked methods follow by name.
    table_rank: ClassVar[int | None] = None

    network: torch.nn.Module | None = None
    #: What the loaded weights are (file, sha256, provenance); set by ``create_enhancer``.
    weights_info: dict[str, Any] | None = None

    def __init__(self, **options: Any) -> None:
        #: The options, parsed and checked (:class:`OptionValues`: ``self.config.width``
        #: or ``self.config["width"]``).
        self.config: OptionValues = validate_options(type(self), options)
        self.device = torch.device("cpu")

    @classmethod
    def check_options(cls, options: OptionValues) -> None:
        """Rules across options, or that ``Option`` cannot express (an odd window): raise
        ``option_error(name, value, why)``. Runs in :func:`validate_options`, wherever
        options enter (command line, ``--dry-run`` included, weights' metadata), before
        any work; the default accepts everything."""

    # -- running ---------------------------------------------------------------------

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        """Return the ambient-lit version of ``flash`` (N x 3 x H x W, [0, 1])."""
        raise NotImplementedError

    def __call__(self, flash: torch.Tensor) -> torch.Tensor:
        """Run ``enhance`` on a copy of ``flash`` (a method that writes into its input
        cannot change the caller's tensor). Anything the method raises, ``SystemExit``
        included, becomes a :class:`MethodError` naming it; Ctrl-C still stops."""
        if flash.ndim != 4 or flash.shape[1] != 3:
            raise ValueError(f"{self.name}: expected an N x 3 x H x W tensor, got {tuple(flash.shape)}")
        if self.network is not None:
            self.network.eval()
        x = flash.to(self.device, torch.float32, copy=True)
        try:
            with torch.no_grad():
                out = self.enhance(x)
        except (KeyboardInterrupt, MemoryError, FlashcliError):
            raise
        except BaseException as exc:  # noqa: BLE001 - plugin code: SystemExit is its failure
            raise MethodError(f"method {self.name} failed: {type(exc).__name__}: {exc}".rstrip(": ")) from exc
        return check_output(out, tuple(flash.shape), self.name).clamp(0.0, 1.0)

    def to(self, device: torch.device | str) -> Enhancer:
        self.device = torch.device(device)
        if self.network is not None:
            self.network.to(self.device)
        return self

    # -- weights ---------------------------------------------------------------------

    @classmethod
    def default_weights(cls) -> Path | None:
        """Weights shipped with the plugin, used when no ``--weights`` is given."""
        return None

    def state_dict(self) -> dict[str, torch.Tensor]:
        if self.network is None:
            return {}
        return {k: v.detach() for k, v in self.network.state_dict().items()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        if self.network is None:
            raise FlashcliError(f"method {self.name} takes no weights")
        self.network.load_state_dict(dict(state))
        self.network.to(self.device)

    # -- training --------------------------------------------------------------------

    def training_task(self, config: Any) -> Any:
        """Return the ``flashcli.training.TrainingTask`` that trains this method. ``config``
        is the run's :class:`flashcli.training.config.TrainConfig` (``config.lr``,
        ``config.resuming``, ...): annotate it so in a plugin (this module cannot import
        it: the training config looks methods up in the registry, which imports this)."""
        raise FlashcliError(f"method {self.name} is not trainable")
