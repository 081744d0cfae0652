"""Example flashcli plugin: darken flash glare with a gamma curve and a gain.

Copy this folder to start your own plugin: rename the package, the method and the entry
point, then `pip install -e .`. `flashcli plugins` lists the new method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import flashcli
from flashcli.enhancer import Enhancer, Option

if TYPE_CHECKING:  # torch only for the annotations: `flashcli --help` stays fast
    import torch


class Gamma(Enhancer):
    name = "gamma"
    description = "Per-channel gamma curve and gain (example plugin)."
    options = (
        Option("gamma", 1.5, "exponent; above 1 darkens the bright flash areas"),
        Option("gain", 1.0, "multiplier applied after the curve"),
    )

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        return (flash.clamp(0, 1) ** self.config["gamma"] * self.config["gain"]).clamp(0, 1)


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Gamma)
