"""The ``unet`` plugin: architecture, odd sizes, training and weights round trip."""

from __future__ import annotations

import pytest
import torch
from flashcli_unet import UNetEnhancer, UNetTask
from flashcli_unet.network import UNet, level_channels, pad_to_multiple

from flashcli.errors import FlashcliError, WeightsError
from flashcli.methods import create_enhancer
from flashcli.plugins import registry
from flashcli.training.config import TrainConfig
from flashcli.training.task import StepContext
from flashcli.weights import save_weights


def test_full_size_architecture():
    net = UNet()
    assert level_channels() == [32, 64, 128, 256, 512]
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    ups = [m for m in net.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == 2 * 5 + 2 * 4 + 1  # two per level, down and up, plus the 1x1 out
    assert [u.kernel_size for u in ups] == [(2, 2)] * 4
    assert net.out.kernel_size == (1, 1) and net.out.out_channels == 3
    assert max(c.out_channels for c in convs) == 512
    # Chen et al.'s network (3-channel in and out): about 7.76 M parameters.
    assert 7.7e6 < sum(p.numel() for p in net.parameters()) < 7.8e6


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 3, 17, 23), (1, 3, 1, 1), (1, 3, 5, 41)])
def test_any_size_comes_back_the_same(shape):
    net = UNet(width=0.125).eval()
    with torch.no_grad():
        assert net(torch.rand(shape)).shape == shape


def test_padding_is_cropped_off_exactly():
    x = torch.rand(1, 3, 13, 19)
    padded, size = pad_to_multiple(x, 16)
    assert padded.shape[-2:] == (16, 32) and size == (13, 19)
    assert torch.equal(padded[..., :13, :19], x)
    # Reflect padding: the row after the last mirrors the one before it.
    assert torch.equal(padded[..., 13, :19], x[..., 11, :])


def test_enhancer_registered_and_options():
    info = registry().get("unet")
    assert info.cls is UNetEnhancer
    assert UNetEnhancer.needs_weights and UNetEnhancer.trainable
    assert UNetEnhancer.working_size == 320
    enh = UNetEnhancer(width="0.25")
    assert enh.config == {"width": 0.25, "lr": 1e-4}
    with pytest.raises(FlashcliError, match="option width=0: must be > 0"):
        UNetEnhancer(width=0)


def test_enhance_keeps_shape_and_range(device):
    enh = UNetEnhancer(width=0.125).to(device)
    torch.nn.init.constant_(enh.network.out.bias, 5.0)  # push outputs out of range
    out = enh(torch.rand(2, 3, 21, 30, device=device))
    assert out.shape == (2, 3, 21, 30)
    assert out.min() >= 0 and out.max() <= 1


def _pairs(n=4, size=32, seed=0):
    """Flash = a brighter, contrastier version of ambient: a learnable mapping."""
    gen = torch.Generator().manual_seed(seed)
    ambient = torch.rand(n, 3, size, size, generator=gen) * 0.5
    flash = (ambient * 1.6 + 0.1).clamp(0, 1)
    return flash, ambient


def test_task_steps_and_weights_round_trip(tmp_path):
    torch.manual_seed(0)
    enh = UNetEnhancer(width=0.125, lr=3e-3)
    task = enh.training_task(None)
    assert isinstance(task, UNetTask) and task.modules[task.inference] is enh.network
    ctx = StepContext(torch.device("cpu"), None, task.optimizers)
    flash, ambient = _pairs()
    before = [p.detach().clone() for p in enh.network.parameters()]
    with torch.no_grad():
        expected = (enh.network(flash) - ambient).abs().mean()  # L1 on the raw output
    losses = [task.step(flash, ambient, ctx)["l1"] for _ in range(3)]
    assert all(loss.ndim == 0 and not loss.requires_grad for loss in losses)
    assert losses[0].item() == pytest.approx(expected.item(), rel=1e-5)
    assert all(not torch.equal(a, b) for a, b in zip(before, enh.network.parameters(), strict=True))
    pred = task.predict(flash)
    assert pred.shape == flash.shape and pred.min() >= 0 and pred.max() <= 1

    path = save_weights(tmp_path / "unet.safetensors", enh.state_dict(),
                        {"method": "unet", "options": enh.config})
    loaded = create_enhancer("unet", weights=path, device="cpu")
    assert loaded.config["width"] == 0.125
    assert torch.allclose(loaded(flash), enh(flash), atol=1e-6)


def test_needs_weights_and_wrong_width_refused(tmp_path):
    with pytest.raises(WeightsError, match="needs weights"):
        create_enhancer("unet", device="cpu")
    enh = UNetEnhancer(width=0.125)
    path = save_weights(tmp_path / "u.safetensors", enh.state_dict(), {"method": "unet"})
    with pytest.raises(WeightsError, match="do not fit"):
        create_enhancer("unet", weights=path, device="cpu")  # default width 1.0


def test_from_scratch_only_and_lr_override():
    enh = UNetEnhancer(width=0.125)
    with pytest.raises(FlashcliError, match="unknown option pretrained"):
        UNetEnhancer(width=0.125, pretrained=True)
    task = enh.training_task(TrainConfig(data="d", out="o", lr=2e-3))
    assert task.init == "scratch"
    assert task.optimizers["network"].param_groups[0]["lr"] == 2e-3


@pytest.mark.gpu
def test_cuda_forward_matches_cpu():
    net = UNet(width=0.25).eval()
    x = torch.rand(1, 3, 30, 22)
    with torch.no_grad():
        cpu = net(x)
        gpu = net.cuda()(x.cuda()).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4)


def test_engine_trains_unet_and_the_run_loads(tmp_path):
    from pair_factory import write_pair_dataset

    from flashcli.training import train
    from flashcli.weights import load_weights

    data = write_pair_dataset(tmp_path / "data")
    losses = []
    summary = train(
        TrainConfig(data=str(data), out=str(tmp_path / "run"), method="unet",
                    options={"width": 0.125}, steps=24, batch_size=2, crop_size=32,
                    lr=3e-3, device="cpu", log_every=4, eval_every=100, seed=0),
        on_step=lambda step, out: losses.append(out["l1"].item()),
    )
    assert summary["steps"] == 24 and len(losses) == 24
    assert sum(losses[-4:]) < 0.7 * sum(losses[:4])
    loaded = create_enhancer("unet", weights=tmp_path / "run", device="cpu")
    assert loaded.config["width"] == 0.125
    state, meta = load_weights(tmp_path / "run")
    assert meta["method"] == "unet"
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    out = loaded(torch.rand(1, 3, 30, 41))
    assert out.shape == (1, 3, 30, 41)


def test_cli_train_then_relight(tmp_path):
    import json

    from click.testing import CliRunner
    from pair_factory import write_pair_dataset
    from photo_factory import write_jpeg
    from PIL import Image

    from flashcli.cli import cli

    data = write_pair_dataset(tmp_path / "data")
    run = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(cli, ["train", str(data), "-m", "unet", "--opt", "width=0.125", "--steps", "3",
                                 "--batch-size", "2", "--crop-size", "32", "--device", "cpu",
                                 "-o", str(run), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == 3
    shot = write_jpeg(tmp_path / "shot.jpg", 41, 30)
    result = runner.invoke(cli, ["relight", str(shot), "-o", str(tmp_path / "out"), "-m", "unet",
                                 "-w", str(run), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    [done] = json.loads(result.stdout)["files"]
    assert done["status"] == "processed"
    with Image.open(done["output"]) as img:
        assert img.size == (41, 30)
