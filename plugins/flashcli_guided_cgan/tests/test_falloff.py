"""The fall-off head: the flash's fall-off towards the frame's corners, undone per photo."""

from __future__ import annotations

import math

import pytest
import torch
from flashcli_guided_cgan import GuidedCGAN
from flashcli_guided_cgan import falloff as fo
from flashcli_guided_cgan.camera import NUM_FEATURES

from flashcli.methods import create_enhancer
from flashcli.ops.upsample import linear_to_srgb, srgb_to_linear

W = 0.125


def _photo(n: int = 2, h: int = 60, w: int = 80, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 1, 1, generator=g) * 0.4 + 0.2
    return (base + 0.2 * torch.rand(n, 3, h, w, generator=g)).clamp(0, 1)


def test_radial_is_zero_mean_round_and_one_stop_from_centre_to_corner():
    r = fo.radial(60, 80)
    assert r.shape == (60, 80) and abs(float(r.mean())) < 1e-6
    # corner minus centre: (40² + 30²) / (30² + 40²) = 1, to within the half-pixel grid
    assert float(r[0, 0] - r[30, 40]) == pytest.approx(1.0, abs=0.05)
    # round in pixels: 19.5 px left of the centre equals 19.5 px below it
    assert float(r[29, 20]) == pytest.approx(float(r[49, 39]), abs=1e-6)
    assert torch.equal(r, r.flip(0)) and torch.equal(r, r.flip(1))


@pytest.mark.parametrize("stops", [-1.0, 0.0, 0.7, 2.0])
def test_slope_recovers_a_known_fall_off(stops):
    # the target is the source brightened by `stops` per unit of radial, on a smooth scene
    # (the slope is measured on a blurred copy, so texture finer than a cell is averaged out)
    h, w = 240, 320
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    lin = (0.05 + 0.1 * xs + 0.05 * ys).expand(1, 3, h, w)
    target = lin * torch.exp2(stops * fo.radial(h, w))
    got = fo.slope(linear_to_srgb(lin), linear_to_srgb(target.clamp(0, 1)))
    assert float(got[0]) == pytest.approx(stops, abs=0.05)


def test_fit_recovers_a_linear_rule():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(400, NUM_FEATURES, generator=g) * 2 + 1
    y = 1.0 + 0.3 * (x[:, 2] - 1) / 2 - 0.2 * (x[:, 7] - 1) / 2  # within the head's bound (3)
    head = fo.FalloffHead()
    head.load_state_dict(fo.fit(x, y, ridge=1e-6))
    assert torch.allclose(head.from_features(x), y, atol=1e-3)
    shrunk = fo.FalloffHead()
    shrunk.load_state_dict(fo.fit(x, y, ridge=1e4))  # a strong ridge keeps the mean, not the rule
    assert float(shrunk.from_features(x).mean()) == pytest.approx(float(y.mean()), abs=1e-3)
    assert float(shrunk.from_features(x).std()) < 0.2 * float(y.std())


def test_untrained_head_and_old_weights_undo_no_fall_off():
    photo = _photo()
    assert torch.equal(fo.FalloffHead()(photo), torch.zeros(2, 1, 60, 80))
    old = GuidedCGAN(width=W, output="gain", refine_radius=0)
    state = {k: v for k, v in old.state_dict().items() if not k.startswith("falloff.")}
    fresh = GuidedCGAN(width=W, output="gain", refine_radius=0)
    fresh.load_state_dict(state)  # weights from before the fall-off load
    assert float(fresh.network.falloff.weight.abs().sum()) == 0.0


def _with_slope(slope: float, **options) -> GuidedCGAN:
    """An untrained gain model (changes nothing) whose fall-off head says ``slope`` for every photo."""
    enh = GuidedCGAN(width=W, output="gain", refine_radius=0, **options)
    with torch.no_grad():
        enh.network.falloff.bias.fill_(slope)
    return enh


def test_the_fall_off_brightens_the_corners_by_the_slope_without_tinting():
    photo = _photo()
    out = _with_slope(1.5)(photo)
    ratio = torch.log2(srgb_to_linear(out) / srgb_to_linear(photo))
    expected = 3.0 * torch.tanh(1.5 * fo.radial(60, 80) / 3.0)  # squashed to max_stops (3)
    assert torch.allclose(ratio, expected.expand_as(ratio), atol=1e-3)
    assert torch.allclose(ratio[:, 0], ratio[:, 2], atol=1e-4)  # the same in every channel
    half = _with_slope(1.5, falloff=0.5)(photo)
    ratio_half = torch.log2(srgb_to_linear(half) / srgb_to_linear(photo))
    expected_half = 3.0 * torch.tanh(0.75 * fo.radial(60, 80) / 3.0)
    assert torch.allclose(ratio_half, expected_half.expand_as(ratio), atol=1e-3)
    off = _with_slope(1.5, falloff=0.0)(photo)
    assert (off - photo).abs().max() < 1e-5


def test_training_sees_no_fall_off():
    enh = _with_slope(2.0)
    photo = _photo()
    with torch.no_grad():  # the network itself (what training runs) leaves the photo as it is
        assert (enh.network(photo) - photo).abs().max() < 1e-5


def test_bundled_head_predicts_more_fall_off_for_a_dark_edged_flash_photo():
    # A flash-lit centre on a dark surround (the flash reached only the middle) against the
    # same photo evenly lit: the head trained on renders undoes more in the first.
    head = create_enhancer("guided-cgan", device="cpu").network.falloff
    h, w = 120, 160
    r = fo.radial(h, w)
    even = torch.full((1, 3, h, w), 0.18)
    spot = 0.18 * torch.exp2(-2.5 * (r - r.min()))
    slopes = head(linear_to_srgb(torch.cat([even, spot.expand(1, 3, h, w)])))
    corner = slopes[:, 0, 0, 0] - slopes[:, 0, h // 2, w // 2]
    assert math.isfinite(float(corner.sum()))
    assert float(corner[1]) > float(corner[0])
