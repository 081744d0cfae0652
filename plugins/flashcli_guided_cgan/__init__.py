"""The paper's method: a guided conditional GAN, flash -> ambient (docs/method.md, "The guided conditional GAN").

Table 2 of the paper, row by row (train with ``flashcli train DATASET``):

1. default: ``--method guided-cgan`` (attention on R and A, VGG-16 pretrained and frozen,
   generator rate 2e-5, discriminator 2e-6)
2. no attention: ``--opt attention_r=false --opt attention_a=false``
3. R only, no discriminator: ``--opt adversarial=false``
4. U-Net from scratch: ``--method unet``

and the other switches: ``--opt pretrained=false`` (random encoder; ``--no-pretrained`` for
short: the encoder then trains, and the generator rate is 2e-4), ``--opt vgg_weights=FILE``
(offline ImageNet start), ``--opt freeze_encoder=false`` (fine-tune a pretrained encoder),
``--opt width=0.25`` (narrower everything; ImageNet weights only at 1.0).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flashcli
from flashcli.enhancer import Enhancer, Option, OptionValues, option_error
from flashcli.nn.backbone import VGGBackbone
from flashcli.runtime.lazy import lazy_exports, lazy_module
from flashcli.training.config import TrainConfig

if TYPE_CHECKING:
    import torch

    import flashcli_guided_cgan.task as guided_task
    from flashcli.ops import upsample
    from flashcli_guided_cgan import falloff, networks
    from flashcli_guided_cgan.losses import attention_map
    from flashcli_guided_cgan.networks import Generator, PatchDiscriminator
    from flashcli_guided_cgan.networks import apply_log_gain as apply_log_gain  # not in __all__
    from flashcli_guided_cgan.task import GuidedCGANTask
else:  # torch: the plugin loads for every command, even --help
    guided_task = lazy_module("flashcli_guided_cgan.task")
    networks = lazy_module("flashcli_guided_cgan.networks")
    falloff = lazy_module("flashcli_guided_cgan.falloff")
    upsample = lazy_module("flashcli.ops.upsample")

__all__ = ["Generator", "GuidedCGAN", "GuidedCGANTask", "PatchDiscriminator", "attention_map"]

# Imported on first use: the plugin loads for every command, even --help, without torch.
__getattr__ = lazy_exports(__name__, {
    "Generator": "flashcli_guided_cgan.networks",
    "PatchDiscriminator": "flashcli_guided_cgan.networks",
    "apply_log_gain": "flashcli_guided_cgan.networks",
    "attention_map": "flashcli_guided_cgan.losses",
    "GuidedCGANTask": "flashcli_guided_cgan.task",
})

OUTPUTS = ("image", "gain")
#: Generator learning rates: the paper's (pretrained, frozen encoder) and one that trains an
#: encoder from random weights (the bundled model's, examples/bundled_model.sh).
LR_PAPER, LR_SCRATCH = 2e-5, 2e-4  # what the generator predicts (see networks.py)
WEIGHTS = Path(__file__).parent / "weights" / "guided_cgan_synthetic.safetensors"
log = logging.getLogger(__name__)


class GuidedCGAN(Enhancer):
    name = "guided-cgan"
    description = "The paper's guided conditional GAN (VGG-16 encoder-decoder, attention-guided losses)."
    default_for = ("relight", "train")  # the paper's method
    table_rank = 5
    options = (
        Option("width", 1.0, "channel multiplier of generator and discriminator (1.0 = the paper)", positive=True, maximum=4.0),
        Option("output", "gain", "gain: a smooth log-gain applied to the flash photo (keeps its detail); "
               "image: the paper's generator output", choices=OUTPUTS),
        Option("gain_scale", 0.5, "gain output: resolution the network runs at, relative to its input",
               positive=True),
        Option("gain_cell", 16, "gain output: smoothing cell of the gain, in input pixels", positive=True),
        Option("max_stops", 3.0, "gain output: largest gain or cut, in stops (log2)", positive=True),
        Option("refine_radius", 12, "gain output: radius (pixels) of the guided filter that refits the gain "
               "to the photo's local colours when relighting (0: off)", minimum=0),
        Option("spatial_colour", 0.0, "gain output: share of the spatial field's colour kept (0: the field "
               "changes brightness only; the camera stage sets the colour)", minimum=0.0, maximum=1.0),
        Option("camera", 1.0, "gain output: share of the camera stage (exposure, white balance) applied "
               "when relighting (not in training)", minimum=0.0, maximum=2.0),
        Option("spatial", 1.0, "gain output: share of the spatial field applied when relighting (not in "
               "training); the bundled model's is chosen on held-out renders", minimum=0.0, maximum=2.0),
        Option("falloff", 1.0, "gain output: share of the flash's fall-off towards the corners undone when "
               "relighting (0: none; fitted on renders after training, see examples/fit_falloff.py)",
               minimum=0.0, maximum=2.0),
        Option("camera_weight", 0.1, "gain output: weight of the camera stage's own loss (squared error of "
               "its three log2 levels against the pair's) in training", minimum=0.0),
        Option("attention_r", True, "multiply the reconstruction loss R by the attention map"),
        Option("attention_a", True, "feed the discriminator attention-weighted images (loss A)"),
        Option("adversarial", True, "train with the discriminator (false: R only, Table 2 row 3)"),
        Option("lambda", 1.0, "weight of the adversarial term: L = R + lambda * A"),
        Option("lr_g", None, "generator learning rate (Adam; default: the paper's 2e-5 with a pretrained "
               f"encoder, {LR_SCRATCH:g} from scratch); --lr overrides it", type=float, positive=True),
        Option("lr_d", None, "discriminator learning rate (Adam; default: lr_g / 10); keep it below lr_g",
               type=float, positive=True),
        Option("beta1", 0.5, "Adam beta1 of both optimisers (0 <= beta1 < 1)", minimum=0.0),
        *VGGBackbone.options(),
    )
    needs_weights = True
    trainable = True
    optional_state = ("camera.", "falloff.")  # weights from before the camera stage / the fall-off
    working_size = 320
    whole_frame = True  # the camera stage and the fall-off read the whole photo (gain output)

    @classmethod
    def check_options(cls, options: OptionValues) -> None:
        if options.beta1 >= 1:
            raise option_error("beta1", options.beta1, "must be below 1 (0 <= beta1 < 1)")
        VGGBackbone.check(options)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        c = self.config
        self.network = networks.Generator(c.width, c.output, c.gain_scale, c.gain_cell, c.max_stops,
                                 c.spatial_colour)

    @classmethod
    def default_weights(cls) -> Path | None:
        return WEIGHTS if WEIGHTS.is_file() else None

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        c = self.config
        if c.output != "gain":
            return self.network(flash)
        out = networks.apply_log_gain(flash, self.network.log_gain(flash, c.camera, c.spatial, c.falloff))
        if c.refine_radius > 0:  # the gain as a local affine function of colour
            out = upsample.apply_gain(upsample.fit_gain(flash, out, radius=c.refine_radius), flash)
        return out

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        """Weights from before the camera stage (no ``camera.*`` tensors) load with an
        untrained head: the spatial field alone, the photo's own level; weights from before
        the fall-off (no ``falloff.*``) undo none."""
        state = dict(state)
        if self.config.output == "gain" and not any(k.startswith("camera.") for k in state):
            log.warning("guided-cgan: these weights have no camera stage; the photos keep their own "
                        "exposure and colour (retrain, or use the bundled weights)")
            state.update({f"camera.{k}": v for k, v in self.network.camera.state_dict().items()})
        c = self.config
        if c.output == "gain" and not any(k.startswith("falloff.") for k in state):
            # weights from before the fall-off: none is undone
            state.update({f"falloff.{k}": v for k, v in falloff.FalloffHead(c.max_stops).state_dict().items()})
        super().load_state_dict(state)

    def training_task(self, config: TrainConfig) -> GuidedCGANTask:
        """Start the encoder (options ``pretrained`` / ``vgg_weights``; not when
        ``config.resuming``), freeze it if asked, and build the discriminator and the Adam
        optimisers; ``config.lr`` overrides ``lr_g``."""
        config, c = TrainConfig.of(config), self.config
        backbone = VGGBackbone.of(c)
        init = backbone.start(self.network.encoder, self.name, config.resuming)
        lr_g = config.learning_rate(c.lr_g if c.lr_g is not None else backbone.learning_rate(LR_PAPER, LR_SCRATCH))
        lr_d = c.lr_d if c.lr_d is not None else lr_g / 10
        disc = networks.PatchDiscriminator(c.width).to(self.device) if c.adversarial else None
        task = guided_task.GuidedCGANTask(self.network.to(self.device), disc, {**c, "lr_d": lr_d}, lr_g)
        task.init = init
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(GuidedCGAN)
