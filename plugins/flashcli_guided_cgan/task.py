"""Training of the guided cGAN: one discriminator update, then one generator update."""

from __future__ import annotations

from typing import Any

import torch

from flashcli.ops.look import camera_levels
from flashcli.training.task import StepContext, TrainingTask, make_adam
from flashcli_guided_cgan.losses import adversarial_loss, attention_map, guided, reconstruction_loss
from flashcli_guided_cgan.networks import Generator, PatchDiscriminator


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
        net = getattr(gen, "module", gen)  # the generator itself under DistributedDataParallel
        if net.output == "gain" and cfg["camera_weight"] > 0:  # the camera stage's own loss
            cam = (net.camera(flash).float() - camera_levels(flash, ambient)).pow(2).mean()
            loss_g = loss_g + cfg["camera_weight"] * cam
            losses["camera"] = cam.detach()
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
