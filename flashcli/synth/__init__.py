"""Synthetic flash/ambient pairs: a small vectorised ray caster of indoor scenes.

``render_pair(seed, index)`` gives one pair; ``render_dataset`` writes a paired data set in the
layout of docs/method.md, "Data: FAID" (``flashcli synth``).
"""

from flashcli.synth.compose import CATEGORIES, sample_scene
from flashcli.synth.dataset import parse_size, preview_sheet, render_dataset
from flashcli.synth.render import (
    KINDS,
    RENDERER_VERSION,
    RenderedPair,
    pair_generator,
    render_batch,
    render_images,
    render_pair,
    render_scene,
)

__all__ = ["CATEGORIES", "KINDS", "RENDERER_VERSION", "RenderedPair", "pair_generator", "parse_size",
           "preview_sheet", "render_batch", "render_dataset", "render_images", "render_pair", "render_scene",
           "sample_scene"]
