"""What an evaluation runs and how (the step relight calls plan): its settings
(:class:`EvalConfig`), the methods, the baseline each other method is paired with, and every
method built once, so unknown names, stray ``--weights``/``--opt`` and missing weights fail
before any image is read."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashcli import plugins, selection
from flashcli.enhancer import Enhancer, validate_options
from flashcli.errors import FlashcliError, UsageError, WeightsError
from flashcli.methods import create_enhancer
from flashcli.ops.look import Look

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


@dataclass
class EvalConfig:
    """How to evaluate (every setting of :func:`~flashcli.evaluation.run.evaluate` but the
    data, methods, weights, options and the progress callback).

    ``split``, ``category`` and ``limit`` choose the pairs of a dataset folder. ``baseline``:
    a method name, True for the installed method marked ``reference`` (if any), None for
    no comparison; it is added to the methods when missing. ``metrics``: names from
    :data:`flashcli.ops.metrics.METRICS` (``"psnr,ssim"`` or a list; None: the default set).
    Outputs are rounded to 8 bit before scoring unless ``quantize`` is False.
    ``save_images_dir`` receives ``<method>/<stem>.png``; ``thumbnail_side`` keeps small
    previews of the first ``thumbnail_pairs`` pairs for contact sheets.
    """

    device: str | torch.device = "auto"
    quantize: bool = True
    baseline: str | bool | None = True
    save_images_dir: str | Path | None = None
    split: str | None = "test"
    category: str | None = None
    limit: int | None = None
    batch_size: int = 8
    metrics: str | Sequence[str] | None = None
    thumbnail_side: int | None = None
    thumbnail_pairs: int = 120
    workers: int = 4
    #: Share of every method's change that is scored (0: the flash photo, 1: the full output).
    strength: float = 1.0
    #: EV added to every method's exposure, and its white balance (see flashcli.ops.look); the
    #: reference method (the flash photo) is scored as it is.
    exposure: float = 0.0
    white_balance: str | float = "auto"
    #: Long side each method runs at, its gain carried to full resolution as relight does:
    #: None for the method's own ``working_size``, "full" to run it on the whole image.
    working_size: int | str | None = None
    #: Leave out (with a warning) methods that fail to start instead of stopping: for the
    #: default set of methods, where one broken plugin must not stop the others.
    skip_broken: bool = False

    @property
    def look(self) -> Look:
        return Look(float(self.strength), float(self.exposure), self.white_balance)


def method_list(methods: Sequence[str], baseline: str | bool | None) -> tuple[list[str], str | None]:
    """The methods to run (the baseline first when it was not asked for) and the baseline."""
    methods = list(dict.fromkeys(methods))
    if not methods:
        raise UsageError("no methods to evaluate; pass -m NAME -m NAME (see `flashcli plugins`)")
    if baseline is True:
        baseline = plugins.registry().reference_method()
    baseline = baseline or None
    if baseline and baseline not in methods:
        methods.insert(0, baseline)
    return methods, baseline


def build_enhancers(
    methods: Sequence[str],
    weights: Mapping[str, str | Path] | None,
    options: Mapping[str, Mapping[str, Any]] | None,
    device: torch.device,
    skip_broken: bool = False,
) -> dict[str, Enhancer]:
    """Create every method once; unknown names, stray weights/options or missing weights
    raise here, before any image is read. With ``skip_broken`` a method that fails to start
    is left out with a warning instead. A name may carry a label (``NAME@LABEL``, see
    :mod:`flashcli.selection`): the results, weights and options go by the whole name."""
    weights = dict(weights or {})
    options = dict(options or {})
    reg = plugins.registry()
    for name in methods:
        reg.get(selection.method_of(selection.check_label(name)))  # unknown -> the list
    for what, given in (("--weights", weights), ("--opt", options)):
        stray = sorted(set(given) - set(methods))
        if stray:
            raise UsageError(
                f"{what} given for {', '.join(stray)}, which is not among the methods "
                f"({', '.join(methods)}); add it to --methods or drop the {what}"
            )
    for name in methods:  # a bad --opt value is a usage error, even where broken methods are left out
        validate_options(reg.get(selection.method_of(name)).cls, options.get(name))
    enhancers = {}
    for name in methods:
        method = selection.method_of(name)
        try:
            enhancers[name] = create_enhancer(method, dict(options.get(name) or {}),
                                              weights.get(name), device)
        except WeightsError as exc:
            if name in weights or "needs weights" not in exc.message:
                raise
            raise WeightsError(
                f"method {method} needs weights: pass --weights {name}=PATH (a .safetensors file "
                f"or a `flashcli train --method {method}` run folder)"
            ) from None
        except FlashcliError as exc:
            if not skip_broken:
                raise
            log.warning(f"left out: {exc.message}")
    return enhancers


def start_methods(methods: Sequence[str], baseline: str | None,
                  weights: Mapping[str, str | Path] | None,
                  options: Mapping[str, Mapping[str, Any]] | None, device: torch.device,
                  skip_broken: bool = False) -> tuple[dict[str, Enhancer], list[str], str | None]:
    """The enhancers, and the methods and baseline that started (see :func:`build_enhancers`)."""
    enhancers = build_enhancers(methods, weights, options, device, skip_broken)
    methods = [m for m in methods if m in enhancers]
    if not methods:
        raise FlashcliError("no method could start; see the warnings above")
    return enhancers, methods, baseline if baseline in enhancers else None
