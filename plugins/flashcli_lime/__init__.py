"""The ``lime`` method: LIME (Guo et al., TIP 2017) as the flash paper ran it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.errors import FlashcliError
from flashcli.lazy import lazy_exports

if TYPE_CHECKING:
    import torch

__all__ = ["Lime", "initial_illumination", "lime", "refine_illumination", "strategy3_weights"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, dict.fromkeys(
    ["initial_illumination", "lime", "refine_illumination", "strategy3_weights"], "flashcli_lime.illumination"))


class Lime(Enhancer):
    name = "lime"
    description = "LIME: divide by the refined max-RGB illumination map (Guo et al. 2017)."
    table_rank = 1
    options = (
        Option("lambda", 0.15, "weight of the structure-aware smoothing"),
        Option("sigma", 2.0, "Gaussian sigma of weighting strategy III"),
        Option("gamma", 0.7, "gamma applied to the refined illumination"),
        Option("eps", 1e-3, "small constant in the weights and the illumination floor"),
        Option("tol", 1e-2, "relative residual at which the linear solver stops"),
        Option("max_iter", 200, "iteration cap of the linear solver"),
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        c = self.config
        if c["lambda"] < 0 or min(c["sigma"], c["gamma"], c["eps"], c["tol"]) <= 0 or c["max_iter"] < 1:
            raise FlashcliError("method lime: lambda must be >= 0, sigma, gamma, eps, tol > 0, max_iter >= 1")

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        from flashcli_lime.illumination import lime

        c = self.config
        return lime(flash, c["lambda"], c["sigma"], c["gamma"], c["eps"], c["tol"], c["max_iter"])


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Lime)
