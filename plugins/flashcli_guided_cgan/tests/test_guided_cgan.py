"""The guided cGAN plugin: networks, attention map, losses, the D-then-G step, weights."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from flashcli_guided_cgan import GuidedCGAN, PatchDiscriminator
from flashcli_guided_cgan.losses import adversarial_loss, attention_map, reconstruction_loss

from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer
from flashcli.plugins import registry
from flashcli.training.task import StepContext
from flashcli.weights import save_weights

W = 1 / 16
NO_PRETRAINED = SimpleNamespace(lr=None)


def _task(**options):
    """The paper's model (image output) unless ``output`` says otherwise."""
    torch.manual_seed(0)
    enhancer = GuidedCGAN(width=W, lr_g=1e-3, lr_d=1e-3,
                          **{"pretrained": False, "output": "image", **options})
    return enhancer, enhancer.training_task(NO_PRETRAINED)


def _batch(n=2, h=24, w=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    ambient = torch.rand(n, 3, h, w, generator=g) * 0.5
    return (ambient * 1.6 + 0.1).clamp(0, 1), ambient


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _changed(before, module):
    return {k for k, v in module.named_parameters() if not torch.equal(before[k], v.detach())}


def test_registered_and_options():
    info = registry().get("guided-cgan")
    assert info.cls is GuidedCGAN and info.cls.trainable and info.cls.needs_weights
    assert GuidedCGAN.working_size == 320
    cfg = GuidedCGAN(width=W).config
    assert (cfg["lr_g"], cfg["lr_d"], cfg["lambda"], cfg["beta1"]) == (None, None, 1.0, 0.5)  # auto
    assert cfg["attention_r"] and cfg["attention_a"] and cfg["adversarial"] and cfg["freeze_encoder"] is None
    # auto: the paper's protocol with a pretrained encoder (width 1.0), a trained one from scratch
    from flashcli_guided_cgan import LR_PAPER, LR_SCRATCH

    from flashcli.nn.backbone import VGGBackbone

    paper, scratch = VGGBackbone(width=1.0), VGGBackbone.of(cfg)
    assert paper.frozen and paper.learning_rate(LR_PAPER, LR_SCRATCH) == 2e-5
    assert not scratch.frozen and scratch.learning_rate(LR_PAPER, LR_SCRATCH) == 2e-4
    with pytest.raises(FlashcliError, match="valid options: adversarial, attention_a"):
        GuidedCGAN(attention=True)
    with pytest.raises(FlashcliError, match="must be > 0"):
        GuidedCGAN(width=0)


@pytest.mark.parametrize("size", [(35, 47), (47, 35), (240, 320)])
def test_generator_any_size(size):
    enhancer = GuidedCGAN(width=W)
    out = enhancer(torch.rand(1, 3, *size))
    assert out.shape == (1, 3, *size)
    assert 0 <= out.min() and out.max() <= 1


def test_discriminator_patch_map():
    disc = PatchDiscriminator(W)
    assert disc(torch.rand(2, 3, 224, 224)).shape == (2, 1, 7, 7)
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32, 64, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 2, 2, 1]
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in disc.modules()) == 4
    full = [m.out_channels for m in PatchDiscriminator(1.0).modules() if isinstance(m, torch.nn.Conv2d)]
    assert full == [64, 128, 256, 512, 1024, 1]


def test_attention_map_by_hand():
    flash = torch.zeros(1, 3, 1, 3)
    ambient = torch.zeros(1, 3, 1, 3)
    ambient[0, :, 0, 1] = 1.0                        # all channels differ fully
    ambient[0, 0, 0, 2], flash[0, 1, 0, 2] = 0.6, 0.3  # |diffs| 0.6, 0.3, 0 -> mean 0.3
    m = attention_map(flash, ambient)
    assert m.shape == (1, 1, 1, 3)
    assert torch.allclose(m[0, 0, 0], torch.tensor([1.0, 0.0, 0.7]))


def test_losses_by_hand():
    fake = torch.tensor([0.2, 0.8]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    real = torch.tensor([0.4, 0.4]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    m = torch.tensor([1.0, 0.5]).view(1, 1, 1, 2)
    assert reconstruction_loss(fake, real, None).item() == pytest.approx(0.3)
    assert reconstruction_loss(fake, real, m).item() == pytest.approx((0.2 + 0.2) / 2)
    logits = torch.tensor([[0.0, 2.0]])
    assert adversarial_loss(logits, True).item() == pytest.approx(
        (F.softplus(-logits)).mean().item())
    assert adversarial_loss(logits, False).item() == pytest.approx(F.softplus(logits).mean().item())


class RecordingContext(StepContext):
    """A StepContext that snapshots the networks after each optimiser update."""

    def __init__(self, task):
        super().__init__(torch.device("cpu"), None, task.optimizers)
        self.task, self.after = task, []

    def update(self, loss, name):
        super().update(loss, name)
        self.after.append((name, {k: _snapshot(m) for k, m in self.task.modules.items()}))


def test_d_step_then_g_step_change_the_intended_parameters():
    enhancer, task = _task(freeze_encoder=True)  # asked for: frozen even from scratch
    gen, disc = task.modules["generator"], task.modules["discriminator"]
    start = {"generator": _snapshot(gen), "discriminator": _snapshot(disc)}
    ctx = RecordingContext(task)
    losses = task.step(*_batch(), ctx)
    assert set(losses) == {"rec", "adv", "d", "g"}
    assert all(v.ndim == 0 and not v.requires_grad for v in losses.values())
    assert [name for name, _ in ctx.after] == ["discriminator", "generator"]
    after_d, after_g = ctx.after[0][1], ctx.after[1][1]
    # D update: every D parameter moved, G untouched
    assert after_d["generator"].keys() == start["generator"].keys()
    assert all(torch.equal(after_d["generator"][k], v) for k, v in start["generator"].items())
    assert all(not torch.equal(after_d["discriminator"][k], v) for k, v in start["discriminator"].items())
    # G update: the decoder moved, the frozen encoder and D did not
    for k, v in after_d["generator"].items():
        assert torch.equal(after_g["generator"][k], v) == k.startswith("encoder."), k
    assert all(torch.equal(after_g["discriminator"][k], v) for k, v in after_d["discriminator"].items())
    assert all(p.requires_grad for p in disc.parameters())  # ctx.frozen restored them


def test_frozen_encoder_gets_no_updates_and_unfrozen_does():
    enhancer, task = _task(freeze_encoder=True)
    enc = enhancer.network.encoder
    before = _snapshot(enc)
    ctx = StepContext(torch.device("cpu"), None, task.optimizers)
    for _ in range(2):
        task.step(*_batch(), ctx)
    assert not _changed(before, enc)
    assert all(p.grad is None and not p.requires_grad for p in enc.parameters())
    in_opt = {id(p) for g in task.optimizers["generator"].param_groups for p in g["params"]}
    assert not in_opt & {id(p) for p in enc.parameters()}

    enhancer, task = _task(freeze_encoder=False)
    enc = enhancer.network.encoder
    before = _snapshot(enc)
    task.step(*_batch(), StepContext(torch.device("cpu"), None, task.optimizers))
    assert _changed(before, enc) == set(before)


def test_r_only_has_no_discriminator():
    enhancer, task = _task(adversarial=False)
    assert set(task.modules) == {"generator"} and set(task.optimizers) == {"generator"}
    losses = task.step(*_batch(), StepContext(torch.device("cpu"), None, task.optimizers))
    assert set(losses) == {"rec", "g"}
    assert torch.equal(losses["rec"], losses["g"])


@pytest.mark.parametrize("attention_r", [True, False])
def test_attention_switch_on_reconstruction(attention_r):
    enhancer, task = _task(attention_r=attention_r, adversarial=False)
    flash, ambient = _batch()
    gen = copy.deepcopy(task.modules["generator"])
    with torch.no_grad():
        fake = gen(flash)
    m = attention_map(flash, ambient) if attention_r else None
    expected = reconstruction_loss(fake, ambient, m)
    losses = task.step(flash, ambient, StepContext(torch.device("cpu"), None, task.optimizers))
    assert losses["rec"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_attention_switch_on_adversarial_input():
    seen = []
    for attention_a in (True, False):
        enhancer, task = _task(attention_a=attention_a)
        disc = task.modules["discriminator"]
        handle = disc.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
        flash, ambient = _batch()
        task.step(flash, ambient, StepContext(torch.device("cpu"), None, task.optimizers))
        handle.remove()
        real_in = seen[-3]  # D(real), D(fake) for D's update, then D(fake) for G's
        m = attention_map(flash, ambient)
        assert torch.allclose(real_in, ambient * m if attention_a else ambient)


def test_lr_override_and_pretrained_flags(tmp_path, monkeypatch):
    enhancer = GuidedCGAN(width=W)
    task = enhancer.training_task(SimpleNamespace(lr=3e-4))
    assert task.optimizers["generator"].param_groups[0]["lr"] == 3e-4
    assert task.optimizers["discriminator"].param_groups[0]["lr"] == pytest.approx(3e-5)  # lr_g / 10
    scratch = GuidedCGAN(width=W).training_task(SimpleNamespace(lr=None))  # from scratch: 2e-4
    assert [o.param_groups[0]["lr"] for o in scratch.optimizers.values()] == pytest.approx([2e-4, 2e-5])
    assert task.optimizers["generator"].param_groups[0]["betas"] == (0.5, 0.999)
    assert task.init == "scratch"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FlashcliError, match="only at width 1.0"):
        GuidedCGAN(width=W, pretrained="true").training_task(SimpleNamespace(lr=None))
    assert GuidedCGAN(width=W, pretrained="auto").config["pretrained"] is None


def test_saved_weights_rebuild_through_create_enhancer(tmp_path):
    enhancer = GuidedCGAN(width=W)
    path = save_weights(tmp_path / "g.safetensors", enhancer.state_dict(),
                        {"method": "guided-cgan", "options": enhancer.config})
    loaded = create_enhancer("guided-cgan", weights=path, device="cpu")
    assert loaded.config["width"] == W
    x = torch.rand(1, 3, 21, 30)
    assert torch.allclose(loaded(x), enhancer(x))


def test_default_weights_only_when_shipped(tmp_path, monkeypatch):
    import flashcli_guided_cgan

    monkeypatch.setattr(flashcli_guided_cgan, "WEIGHTS", tmp_path / "guided_cgan_synthetic.safetensors")
    assert GuidedCGAN.default_weights() is None
    with pytest.raises(FlashcliError, match="needs weights"):
        create_enhancer("guided-cgan", device="cpu")
    save_weights(flashcli_guided_cgan.WEIGHTS, GuidedCGAN(width=W).state_dict(),
                 {"method": "guided-cgan", "options": {"width": W}})
    assert GuidedCGAN.default_weights() == flashcli_guided_cgan.WEIGHTS
    assert create_enhancer("guided-cgan", device="cpu").config["width"] == W


def test_frozen_random_encoder_is_warned_about(caplog):
    _task(freeze_encoder=True)
    assert "freeze_encoder=false" in caplog.text
    assert all(r.levelname == "WARNING" for r in caplog.records)
    caplog.clear()
    _task(freeze_encoder=False)
    assert "freeze_encoder" not in caplog.text
    caplog.clear()
    _, task = _task()  # from scratch, by default: the encoder trains, no warning
    assert "freeze_encoder" not in caplog.text
    assert all(p.requires_grad for p in task.modules["generator"].encoder.parameters())


def test_gain_output_trains_every_generator_layer():
    """The gain head starts at zero (no change); after two steps every decoder layer and the
    unfrozen encoder have moved, and the output is no longer the flash photo."""
    enhancer, task = _task(output="gain", freeze_encoder=False, adversarial=False)
    gen = enhancer.network
    before = _snapshot(gen)
    ctx = StepContext(torch.device("cpu"), None, task.optimizers)
    flash, ambient = _batch()
    assert torch.allclose(enhancer(flash), flash, atol=1e-5)
    for _ in range(2):
        task.step(flash, ambient, ctx)
    after = _snapshot(gen)
    assert all(not torch.equal(after[k], v) for k, v in before.items())
    assert (enhancer(flash) - flash).abs().mean() > 1e-4
