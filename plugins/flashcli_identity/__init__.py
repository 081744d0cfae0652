"""The ``identity`` method: returns the flash image unchanged (the reference row of every
evaluation). Also the smallest complete example of a flashcli plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flashcli
from flashcli.enhancer import Enhancer

if TYPE_CHECKING:  # no torch at import: plugins load for every command, even --help
    import torch


class Identity(Enhancer):
    name = "identity"
    description = "Return the flash image unchanged (reference row)."
    reference = True  # the row every other method is compared with
    table_rank = 0

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        return flash.clone()


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(Identity)
