"""The paper's method: a guided conditional GAN, flash -> ambient (docs/method.md, "The guided conditional GAN").

Table 2 of the paper, row by row (train with ``flashcli train DATASET``):

1. default: ``--method guided-cgan`` (attention on R and A, VGG-16 pretrained and frozen)
2. no attention: ``--opt attention_r=false --opt attention_a=false``
3. R only, no discriminator: ``--opt adversarial=false``
4. U-Net from scratch: ``--method unet``

and the other switches: ``--opt pretrained=false`` (random encoder; ``--no-pretrained`` for
short), ``--opt vgg_weights=FILE`` (offline ImageNet start), ``--opt freeze_encoder=false``
(fine-tune it), ``--opt width=0.25`` (narrower everything; ImageNet weights only at 1.0).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

import flashcli
from flashcli.enhancer import Enhancer, Option
from flashcli.nn import init_vgg16_encoder
from flashcli.training.task import StepContext, TrainingTask, make_adam
from flashcli.upsample import apply_gain, fit_gain
from flashcli_guided_cgan.losses import (
    adversarial_loss,
    attention_map,
    guided,
    reconstruction_loss,
)
from flashcli_guided_cgan.networks import OUTPUTS, Generator, PatchDiscriminator, apply_log_gain

__all__ = ["Generator", "GuidedCGAN", "GuidedCGANTask", "PatchDiscriminator", "attention_map"]

WEIGHTS = Path(__file__).parent / "weights" / "guided_cgan_synthetic.safetensors"
log = logging.getLogger(__name__)


class GuidedCGANTask(TrainingTask):
    """One discriminator update, then one generator update, per batch."""

    inference = "generator"

    def __init__(self, generator: Generator, discriminator: PatchDiscriminator | None,
                 config: dict[str, Any], lr_g: float) -> None:
        betas = (config["beta1"], 0.999)
        params_g = [p for p in generator.parameters() if p.requires_grad]
        modules: dict[str, torch.nn.Module] = {"generator": generator}
        optimizers = {"generator": make_adam(params_g, lr_g, betas)}
        if discriminator is not None:
            modules["discriminator"] = discriminator
            optimizers["discriminator"] = make_adam(discriminator.parameters(), config["lr_d"], betas)
        super().__init__(modules, optimizers)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config

    def step(self, flash: torch.Tensor, ambient: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        cfg, gen, disc = self.config, self.generator, self.discriminator
        gen.train()
        with ctx.autocast():
            fake = gen(flash).float()
        m = attention_map(flash, ambient)
        losses: dict[str, torch.Tensor] = {}
        loss_g = reconstruction_loss(fake, ambient, m if cfg["attention_r"] else None)
        losses["rec"] = loss_g.detach()
        if disc is not None:
            disc.train()
            m_a = m if cfg["attention_a"] else None
            real_a, fake_a = guided(ambient.float(), m_a), guided(fake, m_a)
            with ctx.autocast():
                d_real, d_fake = disc(real_a), disc(fake_a.detach())
            loss_d = 0.5 * (adversarial_loss(d_real, True) + adversarial_loss(d_fake, False))
            ctx.update(loss_d, "discriminator")
            with ctx.frozen(disc), ctx.autocast():
                g_logits = disc(fake_a)
            adv = adversarial_loss(g_logits, True)
            loss_g = loss_g + cfg["lambda"] * adv
            losses.update(adv=adv.detach(), d=loss_d.detach())
        ctx.update(loss_g, "generator")
        losses["g"] = loss_g.detach()
        return losses

    @torch.no_grad()
    def predict(self, flash: torch.Tensor) -> torch.Tensor:
        return self.generator(flash).float()


class GuidedCGAN(Enhancer):
    name = "guided-cgan"
    description = "The paper's guided conditional GAN (VGG-16 encoder-decoder, attention-guided losses)."
    default_for = ("relight", "train")  # the paper's method
    table_rank = 5
    options = (
        Option("width", 1.0, "channel multiplier of generator and discriminator (1.0 = the paper)", positive=True),
        Option("output", "gain", "gain: a smooth log-gain applied to the flash photo (keeps its detail); "
               "image: the paper's generator output", choices=OUTPUTS),
        Option("gain_scale", 0.5, "gain output: resolution the network runs at, relative to its input",
               positive=True),
        Option("gain_cell", 16, "gain output: smoothing cell of the gain, in input pixels", positive=True),
        Option("max_stops", 3.0, "gain output: largest gain or cut, in stops (log2)", positive=True),
        Option("refine_radius", 12, "gain output: radius (pixels) of the guided filter that refits the gain "
               "to the photo's local colours when relighting (0: off)", minimum=0),
        Option("calibration", 1.0, "gain output: share of the predicted log-gain applied when relighting "
               "(not in training); the bundled model's is chosen on held-out renders", minimum=0.0, maximum=2.0),
        Option("attention_r", True, "multiply the reconstruction loss R by the attention map"),
        Option("attention_a", True, "feed the discriminator attention-weighted images (loss A)"),
        Option("adversarial", True, "train with the discriminator (false: R only, Table 2 row 3)"),
        Option("freeze_encoder", True, "keep the VGG-16 encoder frozen while training"),
        Option("lambda", 1.0, "weight of the adversarial term: L = R + lambda * A"),
        Option("lr_g", 2e-5, "generator learning rate (Adam); --lr overrides it"),
        Option("lr_d", 2e-6, "discriminator learning rate (Adam); keep it below lr_g"),
        Option("beta1", 0.5, "Adam beta1 of both optimisers"),
        Option("pretrained", None, "start the VGG-16 encoder from ImageNet weights "
               "(default: when width is 1.0)", type=bool),
        Option("vgg_weights", None, "a torchvision vgg16 state-dict file, for offline "
               "pretrained starts", type=str),
    )
    needs_weights = True
    trainable = True
    working_size = 320

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        cfg = self.config
        self.network = Generator(cfg["width"], cfg["output"], cfg["gain_scale"], cfg["gain_cell"],
                                 cfg["max_stops"])

    @classmethod
    def default_weights(cls) -> Path | None:
        return WEIGHTS if WEIGHTS.is_file() else None

    def enhance(self, flash: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if cfg["output"] != "gain":
            return self.network(flash)
        out = apply_log_gain(flash, cfg["calibration"] * self.network.log_gain(flash))
        if cfg["refine_radius"] > 0:  # the gain as a local affine function of colour
            out = apply_gain(fit_gain(flash, out, radius=cfg["refine_radius"]), flash)
        return out

    def training_task(self, config: Any) -> GuidedCGANTask:
        """Initialise the encoder (options ``pretrained`` / ``vgg_weights``; not when
        ``config.resuming``), freeze it if asked, and build the discriminator and the Adam
        optimisers; ``config.lr`` overrides ``lr_g``."""
        cfg = self.config
        net = self.network
        init = None
        if not getattr(config, "resuming", False):
            init = init_vgg16_encoder(net.encoder, cfg["pretrained"], cfg["vgg_weights"])
        for p in net.encoder.parameters():
            p.requires_grad_(not cfg["freeze_encoder"])
        if init == "scratch" and cfg["freeze_encoder"]:
            log.warning("guided-cgan: the encoder starts from random weights and stays frozen; "
                        "pass --opt freeze_encoder=false to train it")
        disc = PatchDiscriminator(cfg["width"]).to(self.device) if cfg["adversarial"] else None
        lr = getattr(config, "lr", None)
        lr_g = float(lr) if lr is not None else cfg["lr_g"]
        task = GuidedCGANTask(net.to(self.device), disc, cfg, lr_g)
        task.init = init
        return task


@flashcli.hookimpl
def flashcli_register_enhancers(register):
    register(GuidedCGAN)
