"""The ``deepflash`` plugin: formula, shared blocks, odd sizes, training, weights."""

from __future__ import annotations

import pytest
import torch
from flashcli_deepflash import DeepFlash, DeepFlashTask
from flashcli_deepflash.model import difference_target, from_signed, prefilter, relight, to_signed

from flashcli.errors import FlashcliError, WeightsError
from flashcli.methods import create_enhancer
from flashcli.nn import VGG16Encoder, VGGEncoderDecoder
from flashcli.ops.filters import bilateral_filter
from flashcli.plugins import registry
from flashcli.training.config import TrainConfig
from flashcli.training.task import StepContext
from flashcli.weights import save_weights


class FixedPrediction(torch.nn.Module):
    """Stands in for the network: returns a hand-made prediction, records its input."""

    def __init__(self, prediction: torch.Tensor) -> None:
        super().__init__()
        self.prediction = prediction
        self.seen: torch.Tensor | None = None

    def forward(self, x):
        self.seen = x
        return self.prediction


def test_inference_formula_on_hand_made_prediction():
    enh = DeepFlash(width=0.0625)
    flash = torch.tensor([0.8, 0.1, 0.9, 0.5]).view(1, 1, 2, 2).expand(1, 3, 2, 2).contiguous()
    pred = torch.tensor([0.25, 0.3, -0.4, 0.0]).view(1, 1, 2, 2).expand(1, 3, 2, 2).contiguous()
    enh.network = FixedPrediction(pred)
    out = enh(flash)
    # clip(2F - 1 - 2P, -1, 1) mapped back to [0, 1]: 0.8-0.25, 0.1-0.3 -> 0, 0.9+0.4 -> 1, 0.5.
    expected = torch.tensor([0.55, 0.0, 1.0, 0.5]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    assert torch.allclose(out, expected, atol=1e-6)
    # The network saw the bilateral-filtered flash image.
    assert torch.allclose(enh.network.seen, bilateral_filter(flash, 7, 7.0, 0.4), atol=1e-6)


def test_perfect_prediction_gives_ambient_low_plus_flash_detail():
    gen = torch.Generator().manual_seed(0)
    flash = torch.rand(2, 3, 12, 9, generator=gen)
    ambient = flash * 0.4
    fbf, abf = prefilter(flash), prefilter(ambient)
    target = difference_target(fbf, abf)
    assert torch.allclose(target, fbf - abf, atol=1e-6)  # on [-1, 1] halved = on [0, 1]
    assert target.abs().max() <= 1
    out = relight(flash, target)
    assert torch.allclose(out, (abf + flash - fbf).clamp(0, 1), atol=1e-6)
    # For a flat flash image the result is exactly the filtered ambient image.
    flat = torch.full((1, 3, 8, 8), 0.7)
    assert torch.allclose(relight(flat, difference_target(prefilter(flat), prefilter(flat * 0.5))),
                          prefilter(flat * 0.5), atol=1e-6)
    assert torch.allclose(from_signed(to_signed(flash)), flash)


def test_uses_the_shared_vgg_blocks_with_tanh():
    enh = DeepFlash(width=0.125)
    assert isinstance(enh.network, VGGEncoderDecoder)
    assert isinstance(enh.network.encoder, VGG16Encoder)
    assert isinstance(enh.network.head, torch.nn.Tanh)
    convs = [m for m in enh.network.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (2, 3, 17, 23), (1, 3, 5, 41), (1, 3, 1, 1)])
def test_any_size_comes_back_the_same(shape):
    out = DeepFlash(width=0.0625)(torch.rand(shape))
    assert out.shape == shape and out.min() >= 0 and out.max() <= 1


def test_registered_with_options():
    info = registry().get("deepflash")
    assert info.cls is DeepFlash and DeepFlash.needs_weights and DeepFlash.trainable
    enh = DeepFlash(width="0.25", bf_sigma_range="51")
    assert enh.config["width"] == 0.25 and enh.config["bf_sigma_range"] == 51.0
    assert enh.config["bf_window"] == 7 and enh.config["bf_sigma_space"] == 7.0
    for bad, why in (({"width": 0}, "width=0: must be > 0"), ({"bf_window": 4}, "bf_window=4: must be odd"),
                     ({"bf_sigma_range": 0}, "bf_sigma_range=0: must be > 0")):
        with pytest.raises(FlashcliError, match=why):
            DeepFlash(**bad)


def _config(**fields):
    return TrainConfig(**{"data": "unused", "out": "unused", **fields})


def _pairs(n=4, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, size // 4, size // 4, generator=gen)
    ambient = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear") * 0.5
    flash = (ambient * 1.5 + 0.2).clamp(0, 1)
    return flash, ambient


def test_task_step_is_l1_on_the_filtered_difference_and_weights_load(tmp_path):
    torch.manual_seed(0)
    enh = DeepFlash(width=0.0625, lr=1e-3, pretrained=False)
    task = enh.training_task(_config())
    assert isinstance(task, DeepFlashTask) and task.modules[task.inference] is enh.network
    assert task.init == "scratch"
    ctx = StepContext(torch.device("cpu"), None, task.optimizers)
    flash, ambient = _pairs()
    with torch.no_grad():
        fbf = bilateral_filter(flash, 7, 7.0, 0.4)
        target = (2 * fbf - 1 - (2 * bilateral_filter(ambient, 7, 7.0, 0.4) - 1)) / 2
        expected = (enh.network(fbf) - target).abs().mean()
    losses = [task.step(flash, ambient, ctx)["l1"] for _ in range(3)]
    assert all(loss.ndim == 0 and not loss.requires_grad for loss in losses)
    assert losses[0].item() == pytest.approx(expected.item(), rel=1e-5)
    pred = task.predict(flash)
    assert pred.shape == flash.shape

    path = save_weights(tmp_path / "df.safetensors", enh.state_dict(),
                        {"method": "deepflash", "options": enh.config})
    loaded = create_enhancer("deepflash", weights=path, device="cpu")
    assert loaded.config == enh.config
    assert torch.allclose(loaded(flash), enh(flash), atol=1e-6)
    with pytest.raises(WeightsError, match="do not fit"):
        create_enhancer("deepflash", weights=path, options={"width": 0.125}, device="cpu")


def test_backbone_weights_file_initialises_and_freezes_encoder(tmp_path):
    src = VGG16Encoder(1.0)
    torch.save(src.state_dict(), tmp_path / "vgg16.pth")
    enh = DeepFlash(freeze_encoder=True, vgg_weights=str(tmp_path / "vgg16.pth"))
    task = enh.training_task(_config(lr=5e-4))
    assert task.init.startswith("file:")
    first = enh.network.encoder.features[0].weight
    assert torch.equal(first, src.features[0].weight)
    assert not first.requires_grad
    trained = {id(p) for group in task.optimizers["network"].param_groups for p in group["params"]}
    assert id(first) not in trained and len(trained) > 0
    assert task.optimizers["network"].param_groups[0]["lr"] == 5e-4  # config.lr overrides


def test_pretrained_needs_full_width():
    with pytest.raises(FlashcliError, match="width 1.0"):
        DeepFlash(width=0.25, pretrained=True).training_task(_config())
    enh = DeepFlash(width=0.25)
    task = enh.training_task(_config())  # auto: narrow networks start from scratch
    assert task.init == "scratch"
    assert enh.training_task(_config(resuming=True)).init is None  # the saved state decides
    assert task.optimizers["network"].param_groups[0]["lr"] == 1e-4  # the lr option


@pytest.mark.gpu
def test_cuda_matches_cpu():
    enh = DeepFlash(width=0.125)
    x = torch.rand(1, 3, 24, 20)
    cpu = enh(x)
    assert torch.allclose(enh.to("cuda")(x.cuda()).cpu(), cpu, atol=1e-4)


def test_engine_trains_deepflash_and_the_run_loads(tmp_path):
    from pair_factory import write_pair_dataset

    from flashcli.training import train
    from flashcli.weights import load_weights

    data = write_pair_dataset(tmp_path / "data")
    losses = []
    summary = train(
        _config(data=str(data), out=str(tmp_path / "run"), method="deepflash",
                options={"width": 0.0625, "pretrained": False}, steps=24, batch_size=2,
                crop_size=32, lr=2e-3, device="cpu", log_every=4, eval_every=100, seed=0),
        on_step=lambda step, out: losses.append(out["l1"].item()),
    )
    assert summary["steps"] == 24 and len(losses) == 24
    assert sum(losses[-4:]) < 0.7 * sum(losses[:4])
    loaded = create_enhancer("deepflash", weights=tmp_path / "run", device="cpu")
    assert loaded.config["width"] == 0.0625
    state, meta = load_weights(tmp_path / "run")
    assert meta["method"] == "deepflash" and meta["init"] == "scratch"
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    assert loaded(torch.rand(1, 3, 30, 41)).shape == (1, 3, 30, 41)


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
    result = runner.invoke(cli, ["train", str(data), "-m", "deepflash", "--opt", "width=0.0625",
                                 "--opt", "bf_sigma_range=80", "--no-pretrained", "--steps", "3",
                                 "--batch-size", "2", "--crop-size", "32", "--device", "cpu",
                                 "-o", str(run), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "deepflash"
    shot = write_jpeg(tmp_path / "shot.jpg", 41, 30)
    result = runner.invoke(cli, ["relight", str(shot), "-o", str(tmp_path / "out"), "-m", "deepflash",
                                 "-w", str(run), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    [done] = json.loads(result.stdout)["files"]
    assert done["status"] == "processed"
    with Image.open(done["output"]) as img:
        assert img.size == (41, 30)
    # The options the run was trained with travel with its weights.
    assert create_enhancer("deepflash", weights=run, device="cpu").config["bf_sigma_range"] == 80.0
