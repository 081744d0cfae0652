"""The ``lime`` method: LIME (Guo et al., TIP 2017) as the flash paper ran it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.runtime.lazy import lazy_exports, lazy_module

if TYPE_CHECKING:
    import torch

    from flashcli_lime import illumination
    from flashcli_lime.illumination import (
        initial_illumination,
        lime,
        refine_illumination,
        strategy3_weights,
    )
else:  # torch: the plugin loads for every command, even --help
    illumination = lazy_module("flashcli_lime.illumination")

__all__ = ["Lime", "initial_illumination", "lime", "refine_illumination", "strategy3_weights"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, dict.fromkeys(
    ["initial_illumination", "lime", "refine_illumination", "strategy3_weights"], "flashcli_lime.illumination"))


class Lime(Enhancer):
    name = "lime"
    description = "LIME: divide by the refined max-RGB illumination map (Guo et al. 2017)."
    table_rank = 1
    options = (
        Option("lambda", 0.15, "weight of the structure-aware smoothing", minimum=0.0),
        Option("sigma", 2.0, "Gaussian sigma of weighting strategy III", positive=True),
        Option("gamma", 0.7, "gamma applied to the refined illumination", positive=True),
        Option("eps", 1e-3, "small constant in the weights and the illumination floor", positive=True),
        Option("tol", 1e-2, "relative residual at which the linear solver stops", positive=True),
        Option("max_iter", 200, "iteration cap of the linear solver", minimum=1),
    )

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        c = self.config
        return illumination.lime(flash, c.lambda_, c.sigma, c.gamma, c.eps, c.tol, c.max_iter)


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Lime)
