"""The generic training engine: augmentation, device data, a tiny run, resume, DDP (gloo)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from flashcli.datasets import SizeGroup
from flashcli.errors import FlashcliError
from flashcli.methods import create_enhancer
from flashcli.training import TrainConfig, TrainingInterrupted, resume_config, train
from flashcli.training.augment import crop_resize_flip
from flashcli.training.data import DeviceData

TINY = {"width": 1 / 16, "lr_g": 1e-2, "lr_d": 1e-3}


def make_dataset(root: Path, train: int = 6, test: int = 2, seed: int = 0) -> Path:
    """Write ``<Category>_<NNN>_flash.png`` / ``_ambient.png`` pairs into root/train and
    root/test (docs/method.md, "Data: FAID"): landscape 48x40 and portrait 40x48 images, the flash image a
    brighter, flatter copy of the ambient one."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("test", test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            h, w = (40, 48) if i % 3 else (48, 40)
            y, x = np.mgrid[0:h, 0:w] / 48.0
            ambient = np.stack([0.2 + 0.4 * x, 0.2 + 0.3 * y, 0.4 - 0.2 * x * y], -1)
            ambient = np.clip(ambient + 0.04 * rng.standard_normal((h, w, 3)), 0, 1)
            flash = np.clip(0.5 * ambient + 0.45, 0, 1)
            for role, img in (("flash", flash), ("ambient", ambient)):
                Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"Toys_{i:03d}_{role}.png")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("faid"))


def _config(data, out, **kw):
    base = dict(data=str(data), out=str(out), options=dict(TINY), crop_size=32, batch_size=2,
                log_every=1, eval_every=100, checkpoint_every=100, device="cpu")
    return TrainConfig(**{**base, **kw})


def _losses(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


# -- augmentation and device data ------------------------------------------------------

def test_full_crop_without_flip_is_the_image():
    img = torch.rand(2, 6, 16, 16)
    out = crop_resize_flip(img, 16, torch.Generator().manual_seed(0), crop_min=1.0, flip=False)
    assert torch.allclose(out, img, atol=1e-5)


def test_pair_shares_crop_and_flip_and_seed_reproduces():
    flash = torch.randint(0, 256, (8, 3, 40, 48), dtype=torch.uint8)
    pair = torch.cat([flash, flash], dim=1)  # identical halves stay identical
    out = crop_resize_flip(pair, 32, torch.Generator().manual_seed(5))
    assert out.shape == (8, 6, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 1
    assert torch.equal(out[:, :3], out[:, 3:])
    again = crop_resize_flip(pair, 32, torch.Generator().manual_seed(5))
    assert torch.equal(out, again)
    assert not torch.equal(out, crop_resize_flip(pair, 32, torch.Generator().manual_seed(6)))


def test_flip_and_crop_range():
    ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(64, 6, 48, 64).contiguous()
    out = crop_resize_flip(ramp, 16, torch.Generator().manual_seed(1), crop_min=0.8)
    slope = out[:, 0, 8, -1] - out[:, 0, 8, 0]
    assert (slope > 0).any() and (slope < 0).any()  # some flipped, some not
    # crop side in [0.8, 1] x short side (48 of 64 px): the ramp spans 38.4/64 .. 48/64 of [0, 1]
    span = slope.abs() * 16 / 15
    assert span.min() >= 0.8 * 48 / 64 - 0.03 and span.max() <= 48 / 64 + 0.03


def test_epoch_plan_covers_every_pair_with_full_batches():
    groups = [SizeGroup(torch.zeros(5, 3, 4, 6, dtype=torch.uint8), torch.zeros(5, 3, 4, 6, dtype=torch.uint8),
                        [f"a{i}" for i in range(5)]),
              SizeGroup(torch.zeros(2, 3, 6, 4, dtype=torch.uint8), torch.zeros(2, 3, 6, 4, dtype=torch.uint8),
                        ["b0", "b1"])]
    data = DeviceData(groups, "cpu")
    assert len(data) == 7 and data.pairs[0].shape == (5, 6, 4, 6)
    gids, index = data.epoch_plan(0, seed=3, per_step=4)
    assert index.shape == (len(gids), 4) == (data.steps_per_epoch(4), 4)
    for g, n in ((0, 5), (1, 2)):
        rows = index[[i for i, x in enumerate(gids) if x == g]]
        assert set(rows.flatten().tolist()) == set(range(n))  # every pair seen, all in range
    again = data.epoch_plan(0, seed=3, per_step=4)
    assert gids == again[0] and torch.equal(index, again[1])
    assert not torch.equal(index, data.epoch_plan(1, seed=3, per_step=4)[1])
    assert data.batch(gids[0], index[0]).shape[0] == 4


# -- runs ------------------------------------------------------------------------------

def test_tiny_run_learns_and_writes_everything(dataset, tmp_path):
    run = tmp_path / "run"
    summary = train(_config(dataset, run, steps=15, eval_every=2, checkpoint_every=2))
    assert summary["steps"] == 15 and summary["epochs"] == 5
    recs = [r["losses"]["rec"] for r in _losses(run)]
    assert len(recs) == 15
    assert np.mean(recs[-3:]) < np.mean(recs[:3])
    for name in ("last.safetensors", "last.json", "best.safetensors", "best.json", "state.pt",
                 "log.jsonl", "epochs.csv", "grids/epoch_0002.png", "grids/epoch_0005.png"):
        assert (run / name).is_file(), name
    side = json.loads((run / "last.json").read_text())
    assert side["method"] == "guided-cgan" and side["options"]["width"] == 1 / 16
    assert side["train"]["crop_size"] == 32 and side["epoch"] == 5 and side["step"] == 15
    assert len(side["dataset"]["fingerprint"]) == 16 and side["dataset"]["train_pairs"] == 5  # 6 less 1
    assert side["dataset"]["val_pairs"] == 1 and side["metrics"]["val_psnr"] > 0
    assert {"flashcli", "torch", "torchvision"} <= set(side["versions"])
    assert side["metrics"]["test_psnr"] == pytest.approx(summary["test_psnr"])
    rows = (run / "epochs.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,seconds,images_per_s,rec,camera,adv,d,g") and len(rows) == 6
    grid = Image.open(run / "grids" / "epoch_0002.png")
    assert grid.size == (3 * 48 + 4, 2 * 48 + 2)  # 2 test pairs x (flash | generated | ambient)
    enhancer = create_enhancer("guided-cgan", weights=run, device="cpu")
    assert enhancer(torch.rand(1, 3, 30, 41)).shape == (1, 3, 30, 41)
    with pytest.raises(FlashcliError, match="--resume"):
        train(_config(dataset, run, steps=1))


def test_interrupt_then_resume_matches_uninterrupted_run(dataset, tmp_path):
    straight = tmp_path / "straight"
    train(_config(dataset, straight, steps=8, checkpoint_every=1))

    def ctrl_c(step, losses):
        if step == 4:  # mid-epoch: 3 steps per epoch
            os.kill(os.getpid(), signal.SIGINT)

    broken = tmp_path / "broken"
    with pytest.raises(TrainingInterrupted, match="--resume") as err:
        train(_config(dataset, broken, steps=8, checkpoint_every=1), on_step=ctrl_c)
    assert err.value.exit_code == 130
    assert len(_losses(broken)) == 4
    config = resume_config(broken)
    assert config.steps == 8 and config.options["width"] == 1 / 16
    train(config, resume=True)
    a, b = _losses(straight), _losses(broken)
    assert [r["step"] for r in b] == list(range(1, 9))
    assert [r["losses"] for r in a] == [r["losses"] for r in b]  # bit-identical on CPU
    ta = torch.load(straight / "state.pt", weights_only=True)["modules"]["generator"]
    tb = torch.load(broken / "state.pt", weights_only=True)["modules"]["generator"]
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_resume_overrides_are_limited(dataset, tmp_path):
    with pytest.raises(FlashcliError, match="no training state"):
        resume_config(tmp_path)
    run = tmp_path / "run"
    train(_config(dataset, run, epochs=1, steps=None))
    with pytest.raises(FlashcliError, match="--batch-size cannot change"):
        resume_config(run, batch_size=4)
    saved = resume_config(run, batch_size=2)  # the run's own value: not a change
    assert saved.batch_size == 2
    summary = train(resume_config(run, epochs=2), resume=True)
    assert summary["epochs"] == 2 and summary["steps"] == 6
    assert [int(r.split(",")[0]) for r in (run / "epochs.csv").read_text().splitlines()[1:]] == [1, 2]


def test_dataset_problems_are_listed_before_training(tmp_path):
    data = make_dataset(tmp_path / "data", train=3, test=0)
    (data / "train" / "Toys_001_ambient.png").unlink()
    Image.new("RGB", (10, 10)).save(data / "train" / "Toys_002_flash.png")
    with pytest.raises(FlashcliError, match=r"2 dataset problem\(s\)") as err:
        train(_config(data, tmp_path / "run", steps=1))
    message = err.value.message
    assert "2 dataset problem(s)" in message
    assert "Toys_001_flash.png: no ambient partner" in message and "Toys_002_flash.png: size" in message
    assert not (tmp_path / "run" / "state.pt").exists()


def test_without_test_split_grids_show_train_pairs(tmp_path):
    data = make_dataset(tmp_path / "data", train=3, test=0)
    run = tmp_path / "run"
    summary = train(_config(data, run, steps=1, grid_pairs=2, val_fraction=0.0))  # no validation either
    assert "test_psnr" not in summary and summary["best_val_psnr"] is None
    assert (run / "last.safetensors").is_file() and not (run / "best.safetensors").exists()
    assert Image.open(run / "grids" / "epoch_0000.png").size == (3 * 48 + 4, 2 * 48 + 2)


def test_method_must_be_trainable(dataset, tmp_path):
    with pytest.raises(FlashcliError, match="not trainable; trainable methods: .*guided-cgan"):
        train(_config(dataset, tmp_path / "run", method="identity", options={}, steps=1))


def test_ddp_gloo_two_processes(dataset, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "flashcli", "train", str(dataset), "--out", str(run), "--device", "cpu", "-q",
           "--opt", "width=0.0625", "--crop-size", "32", "--batch-size", "2", "--steps", "3",
           "--log-every", "1", "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{"):done.stdout.index("\n}") + 2])
    assert summary["steps"] == 3 and summary["processes"] == 2
    logs = _losses(run)
    assert [r["step"] for r in logs] == [1, 2, 3]  # rank 0 alone writes
    assert all(r["processes"] == 2 for r in logs)
    assert (run / "last.safetensors").is_file() and (run / "state.pt").is_file()
    state = torch.load(run / "state.pt", weights_only=True)
    # 6 pairs, 2 per process x 2 processes: 2 steps per epoch (4 + 2 wrapped to 4)
    assert (state["epoch"], state["batch_in_epoch"], state["step"]) == (1, 1, 3)
    assert create_enhancer("guided-cgan", weights=run, device="cpu").config["width"] == 0.0625


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_cuda_run_amp_channels_last(dataset, tmp_path, amp):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("no bf16 on this GPU")
    summary = train(_config(dataset, tmp_path / "run", steps=6, device="cuda", amp=amp))
    assert summary["steps"] == 6 and np.isfinite(list(summary["losses"].values())).all()
    assert (tmp_path / "run" / "state.pt").is_file()


@pytest.mark.gpu
def test_cuda_step_never_waits_for_the_device():
    """Augmentation and a bf16 D+G step run with CUDA sync debugging set to error."""
    from types import SimpleNamespace

    from flashcli_guided_cgan import GuidedCGAN

    from flashcli.training.task import StepContext

    dev = torch.device("cuda")
    enhancer = GuidedCGAN(width=1 / 16, pretrained=False).to(dev)
    task = enhancer.training_task(SimpleNamespace(lr=None))
    ctx = StepContext(dev, torch.bfloat16, task.optimizers)
    data = torch.randint(0, 256, (16, 6, 40, 48), dtype=torch.uint8, device=dev)
    index = torch.arange(8, device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    task.step(*crop_resize_flip(data[:8], 32, gen).split(3, dim=1), ctx)  # warm-up
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            pair = crop_resize_flip(data.index_select(0, index), 32, gen)
            losses = task.step(pair[:, :3], pair[:, 3:], ctx)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(v.is_cuda for v in losses.values())
