"""The ``srie`` method: SRIE (Fu et al., CVPR 2016) as the flash paper ran it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.runtime.lazy import lazy_exports, lazy_module

if TYPE_CHECKING:
    import torch

    from flashcli_srie import decomposition
    from flashcli_srie.decomposition import Decomposition, decompose, srie
else:  # torch: the plugin loads for every command, even --help
    decomposition = lazy_module("flashcli_srie.decomposition")

__all__ = ["Decomposition", "Srie", "decompose", "srie"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, dict.fromkeys(["Decomposition", "decompose", "srie"], "flashcli_srie.decomposition"))


class Srie(Enhancer):
    name = "srie"
    description = "SRIE: weighted variational reflectance/illumination estimate, gamma on L (Fu et al. 2016)."
    table_rank = 2
    options = (
        Option("c1", 0.01, "weight of the reflectance gradient (l1) prior", minimum=0.0),
        Option("c2", 0.1, "weight of the illumination gradient (l2) prior", minimum=0.0),
        Option("lambda", 1.0, "weight of the illumination fidelity ||log L - log V||^2", positive=True),
        Option("stop", 1e-3, "stop when the relative change of both R and L is below this", positive=True),
        Option("gamma", 2.2, "gamma of the illumination adjustment, L' = 255 (L/255)^(1/gamma)",
               positive=True),
        Option("max_iter", 100, "cap on the alternating iterations", minimum=1),
        Option("solver_tol", 1e-4, "relative residual at which each linear solve stops", positive=True),
        Option("solver_max_iter", 1000, "iteration cap of each linear solve", minimum=1),
    )

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        c = self.config
        return decomposition.srie(flash, c.c1, c.c2, c.lambda_, c.stop, c.gamma, c.max_iter, c.solver_tol,
                    c.solver_max_iter)


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Srie)
