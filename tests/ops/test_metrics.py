"""flashcli.ops.metrics against scikit-image (PSNR, SSIM, CIEDE2000), the published CIEDE2000
test data, and hand-made LOE and white-balance cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from flashcli.errors import FlashcliError
from flashcli.ops import metrics

SIZES = [(11, 11), (13, 17), (37, 53), (48, 64)]


def random_uint8(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def natural_uint8(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth shading, hard edges (a disc and a bar) and a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 60 + 120 * (xx / max(w - 1, 1)) * (0.5 + 0.5 * np.cos(yy / max(h, 1) * 3))
    img = np.stack([base, base * 0.8 + 20, 255 - base], axis=-1)
    disc = (yy - h * 0.4) ** 2 + (xx - w * 0.6) ** 2 < (min(h, w) * 0.3) ** 2
    img[disc] = [230, 40, 60]
    img[:, w // 3: w // 3 + max(1, w // 10)] = 15
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def degrade(img: np.ndarray, seed: int) -> np.ndarray:
    """A plausible enhancer output: darker, shifted, noisy."""
    rng = np.random.default_rng(seed)
    out = img.astype(np.float64) * 0.7 + 10 + rng.normal(0, 12, img.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def to_tensor(batch: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() / 255.0


def sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, channel_axis=-1, gaussian_weights=True,
                                 use_sample_covariance=False, data_range=255)


def sk_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return peak_signal_noise_ratio(a / 255.0, b / 255.0, data_range=1.0)


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("make", [random_uint8, natural_uint8])
def test_psnr_and_ssim_match_scikit_image(h, w, make):
    refs = [make(h, w, seed) for seed in range(3)]
    outs = [degrade(r, seed + 10) for seed, r in enumerate(refs)]
    got_ssim = metrics.ssim(to_tensor(outs), to_tensor(refs))
    got_psnr = metrics.psnr(to_tensor(outs), to_tensor(refs))
    assert got_ssim.shape == (3,) and got_psnr.shape == (3,)
    for i in range(3):
        assert abs(float(got_ssim[i]) - sk_ssim(outs[i], refs[i])) < 1e-4
        assert abs(float(got_psnr[i]) - sk_psnr(outs[i], refs[i])) < 1e-3


def test_banded_matrix_filter_equals_shifted_sums():
    # GPUs use banded matrix products, the CPU shifted sums: both give the same valid filter.
    x = torch.rand(2, 5, 19, 26, dtype=torch.float64)
    kernel = metrics._gaussian_kernel(torch.float64, x.device)
    banded = metrics._band(19, kernel).T @ (x @ metrics._band(26, kernel))
    shifted = metrics._shift_add(metrics._shift_add(x, kernel, -1), kernel, -2)
    assert banded.shape == (2, 5, 9, 16)
    assert torch.allclose(banded, shifted, atol=1e-12, rtol=0)


def test_wide_images_and_chunked_batches_still_match(monkeypatch):
    monkeypatch.setattr(metrics, "_PIXELS_PER_CHUNK_CPU", 20 * 1030)  # one image per chunk
    refs = [natural_uint8(12, 1030, 7), natural_uint8(12, 1030, 9)]
    outs = [degrade(r, 8) for r in refs]
    got = metrics.ssim(to_tensor(outs), to_tensor(refs))
    for i in range(2):
        assert abs(float(got[i]) - sk_ssim(outs[i], refs[i])) < 1e-4


def test_ssim_on_float_images_matches_scikit_image_on_scaled_floats():
    a = np.random.default_rng(1).random((21, 30, 3))
    b = np.clip(a + np.random.default_rng(2).normal(0, 0.1, a.shape), 0, 1)
    ta = torch.from_numpy(a).permute(2, 0, 1).float()
    tb = torch.from_numpy(b).permute(2, 0, 1).float()
    ref = structural_similarity(ta.permute(1, 2, 0).double().numpy() * 255,
                                tb.permute(1, 2, 0).double().numpy() * 255, channel_axis=-1,
                                gaussian_weights=True, use_sample_covariance=False,
                                data_range=255)
    assert abs(float(metrics.ssim(ta, tb)) - ref) < 1e-6  # a single 3 x H x W image works too


def test_identical_images_score_perfectly(device):
    x = to_tensor([natural_uint8(20, 24, 0)]).to(device)
    assert torch.isinf(metrics.psnr(x, x)).all()
    assert float(metrics.ssim(x, x)) == pytest.approx(1.0, abs=1e-12)
    assert float(metrics.loe(x, x)) == 0.0
    assert float(metrics.de2000(x, x)) == 0.0
    assert torch.isinf(metrics.psnr_wb(x, x)).all()


def test_batch_equals_one_by_one(device):
    a = to_tensor([random_uint8(16, 18, s) for s in range(4)]).to(device)
    b = to_tensor([natural_uint8(16, 18, s) for s in range(4)]).to(device)
    whole = metrics.ssim(a, b)
    single = torch.stack([metrics.ssim(a[i], b[i])[0] for i in range(4)])
    assert torch.allclose(whole, single, atol=1e-12, rtol=0)


def test_bad_shapes_are_one_line_errors():
    with pytest.raises(FlashcliError, match="too small"):
        metrics.ssim(torch.rand(1, 3, 10, 40), torch.rand(1, 3, 10, 40))
    with pytest.raises(FlashcliError, match="sizes differ"):
        metrics.psnr(torch.rand(1, 3, 12, 12), torch.rand(1, 3, 12, 13))
    with pytest.raises(FlashcliError, match="N x 3 x H x W"):
        metrics.psnr(torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12))


def test_quantize_rounds_to_8_bit_levels():
    x = torch.tensor([-0.2, 0.0, 0.3, 0.5 / 255, 1.7 / 255, 1.0, 1.3])
    q = metrics.quantize(x)
    assert torch.equal(q * 255, torch.round(q * 255))
    assert q.min() == 0 and q.max() == 1
    assert float(q[4] * 255) == pytest.approx(2.0)
    assert torch.equal(metrics.quantize(q), q)


def gray(values: torch.Tensor) -> torch.Tensor:
    """A 1 x 3 x H x W grey image from an H x W tensor."""
    return values.expand(1, 3, *values.shape).clone()


def test_loe_zero_for_order_preserving_changes():
    x = to_tensor([natural_uint8(50, 60, 3)])
    assert float(metrics.loe(x ** 2.2, x)) == 0.0  # monotone curve keeps the order
    assert float(metrics.loe(x * 0.5, x)) == 0.0


def test_loe_counts_inverted_pairs_exactly():
    side = 50  # already at the 50 px working size: no resampling
    values = torch.arange(side * side, dtype=torch.float64).view(side, side) / (side * side)
    a = values.clone()
    flat = a.view(-1)
    flat[0], flat[-1] = flat[-1].item(), flat[0].item()  # darkest and brightest swap
    p = side * side
    # The two swapped pixels disagree with every other pixel; the rest with both of them.
    expected = (2 * (p - 1) + 2 * (p - 2)) / p
    assert float(metrics.loe(gray(a), gray(values))) == pytest.approx(expected)
    inverted = float(metrics.loe(gray(1 - values), gray(values)))
    assert inverted == pytest.approx(p - 1)  # every other pixel flips order
    # chunking the pairwise comparison does not change the count
    assert float(metrics.loe(gray(a), gray(values), chunk=7)) == pytest.approx(expected)


def test_loe_downsamples_to_short_side_50():
    x = to_tensor([natural_uint8(120, 160, 4)])
    small = metrics._lightness_small(x)
    assert small.shape == (1, 50 * 67)
    y = to_tensor([degrade(natural_uint8(120, 160, 4), 5)])
    assert float(metrics.loe(y, x)) > 0


# --- CIEDE2000 ------------------------------------------------------------------------------

#: From Table 1 of Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula:
#: implementation notes, supplementary test data, and mathematical observations" (Color
#: Research & Application 30(1), 2005), typed in by hand: pair number, L1 a1 b1, L2 a2 b2,
#: the published dE00. They cover the hue-angle wrap-around (7-16), grey (7, 8) and large
#: differences (17-20).
SHARMA_PAIRS = [
    (1, (50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    (4, (50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    (7, (50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    (8, (50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    (9, (50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    (11, (50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    (13, (50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    (15, (50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    (16, (50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    (17, (50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    (19, (50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    (22, (50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    (25, (60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    (29, (22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    (31, (90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    (34, (2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize("number,lab1,lab2,expected", SHARMA_PAIRS)
def test_ciede2000_reproduces_the_published_test_pairs(number, lab1, lab2, expected):
    one = torch.tensor([lab1], dtype=torch.float64)
    two = torch.tensor([lab2], dtype=torch.float64)
    # the table gives 4 decimals; the formula is symmetric
    assert float(metrics.ciede2000(one, two)) == pytest.approx(expected, abs=6e-5)
    assert float(metrics.ciede2000(two, one)) == pytest.approx(expected, abs=6e-5)


def test_ciede2000_of_a_whole_batch_at_once():
    lab1 = torch.tensor([p[1] for p in SHARMA_PAIRS], dtype=torch.float64)
    lab2 = torch.tensor([p[2] for p in SHARMA_PAIRS], dtype=torch.float64)
    got = metrics.ciede2000(lab1, lab2)  # N x 3 -> N
    assert got.shape == (len(SHARMA_PAIRS),)
    assert torch.allclose(got, torch.tensor([p[3] for p in SHARMA_PAIRS], dtype=torch.float64),
                          atol=6e-5, rtol=0)
    assert torch.equal(metrics.ciede2000(lab1, lab1), torch.zeros(len(SHARMA_PAIRS),
                                                                  dtype=torch.float64))


def sk_de2000(a: np.ndarray, b: np.ndarray) -> float:
    return float(deltaE_ciede2000(rgb2lab(a), rgb2lab(b)).mean())


@pytest.mark.parametrize("h,w", SIZES)
@pytest.mark.parametrize("make", [random_uint8, natural_uint8])
def test_de2000_matches_scikit_image(h, w, make):
    refs = [make(h, w, seed) for seed in range(3)]
    outs = [degrade(r, seed + 20) for seed, r in enumerate(refs)]
    got = metrics.de2000(to_tensor(outs), to_tensor(refs))
    assert got.shape == (3,)
    for i in range(3):
        assert abs(float(got[i]) - sk_de2000(outs[i], refs[i])) < 1e-4


def test_lab_matches_scikit_image_on_every_8_bit_grey_and_primary():
    levels = np.arange(256, dtype=np.float64) / 255
    zeros = np.zeros_like(levels)
    rgb = np.stack([np.stack([levels] * 3, -1), np.stack([levels, zeros, zeros], -1),
                    np.stack([zeros, levels, zeros], -1), np.stack([zeros, zeros, levels], -1)])
    got = metrics.rgb_to_lab(torch.from_numpy(rgb).permute(0, 2, 1)).permute(0, 2, 1).numpy()
    assert np.abs(got - rgb2lab(rgb)).max() < 1e-9


def test_de2000_in_slices_equals_all_at_once(monkeypatch):
    a = to_tensor([natural_uint8(37, 53, s) for s in range(2)])
    b = to_tensor([degrade(natural_uint8(37, 53, s), s) for s in range(2)])
    whole = metrics.de2000(a, b)
    monkeypatch.setattr(metrics, "_DE_PIXELS_CPU", 100)  # 37 * 53 px in slices of 1024
    assert len(metrics._slices(a)[1]) == 2
    assert torch.allclose(metrics.de2000(a, b), whole, atol=1e-12, rtol=0)
    assert torch.equal(metrics.de2000(a, a), torch.zeros(2, dtype=torch.float64))


def test_de2000_black_against_white_is_100_by_hand():
    # Black is L* = 0 and white L* = 100 (Y of sRGB white is 1); both have a*, b* within
    # 0.005 of 0, and at mean L* = 50 the lightness weight S_L is 1, so dE00 = 100.
    black, white = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert float(metrics.de2000(black, white)) == pytest.approx(100.0, abs=1e-3)
    half = white.clone()
    half[..., :2, :] = 0  # half the pixels right, half off by 100
    assert float(metrics.de2000(black, half)) == pytest.approx(50.0, abs=1e-3)


# --- PSNR after white balance -------------------------------------------------------------

def lin(x: np.ndarray) -> np.ndarray:
    """sRGB -> linear light, written out here (not the code under test)."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def test_psnr_wb_ignores_a_gain_per_channel_in_linear_light():
    ref = natural_uint8(40, 48, 5).astype(np.float64) / 255
    gains = np.array([0.55, 0.8, 0.35])  # darker and much warmer: an exposure + WB error
    out = srgb(lin(ref) * gains)
    tref, tout = (torch.from_numpy(x).permute(2, 0, 1)[None] for x in (ref, out))
    assert float(metrics.psnr(tout, tref)) < 20
    # a float output: the fitted gains undo the error exactly
    assert torch.allclose(metrics.white_balance_gains(tout, tref),
                          torch.from_numpy(1 / gains)[None], rtol=1e-9, atol=0)
    assert math.isinf(float(metrics.psnr_wb(tout, tref)))
    # the 8-bit output eval scores: the rounding of the dark output is the only error left
    q = metrics.quantize(tout)
    assert float(metrics.psnr(q, tref)) < 20
    assert float(metrics.psnr_wb(q, tref)) > 40


def test_psnr_wb_worked_by_hand():
    # Output: the left half white, the right half black. Reference: the left half the
    # levels 128 / 200 / 30 (R / G / B), the right half 64 in every channel. The black
    # pixels add nothing to the least-squares fit, so each channel's gain is the linear
    # value of the reference's left level; the left half then comes back exactly, the right
    # half stays black: an error of 64 levels on half the values.
    out = torch.zeros(1, 3, 4, 6, dtype=torch.float64)
    out[..., :3] = 1.0
    ref = torch.full((1, 3, 4, 6), 64 / 255, dtype=torch.float64)
    ref[:, 0, :, :3], ref[:, 1, :, :3], ref[:, 2, :, :3] = 128 / 255, 200 / 255, 30 / 255
    gains = metrics.white_balance_gains(out, ref)[0].tolist()
    assert gains == pytest.approx(lin(np.array([128, 200, 30]) / 255).tolist(), rel=1e-12)
    # MSE = (64 / 255)^2 / 2, so PSNR = 10 log10(2 * 255^2 / 64^2) = 15.0175 dB
    assert float(metrics.psnr_wb(out, ref)) == pytest.approx(15.0175, abs=1e-4)
    assert float(metrics.psnr_wb(out.float(), ref.float())) == pytest.approx(15.0175, abs=1e-4)
    # plain PSNR: errors 127, 55, 225 levels on the left, 64 in each channel on the right:
    # MSE = (127^2 + 55^2 + 225^2 + 3 * 64^2) / (6 * 255^2) = 82067 / 390150 -> 6.7706 dB
    assert float(metrics.psnr(out, ref)) == pytest.approx(6.7706, abs=1e-4)


def test_psnr_wb_equals_the_formula_written_out(monkeypatch):
    refs = [natural_uint8(37, 53, s) for s in range(2)]
    outs = [degrade(r, s + 3) for s, r in enumerate(refs)]
    expected = []
    for o, r in zip(outs, refs, strict=True):
        lo, lr = lin(o / 255), lin(r / 255)
        gains = (lo * lr).sum(axis=(0, 1)) / (lo * lo).sum(axis=(0, 1))
        balanced = np.round(srgb(lo * gains) * 255) / 255
        expected.append(10 * np.log10(1 / np.mean((balanced - r / 255) ** 2)))
    got = metrics.psnr_wb(to_tensor(outs), to_tensor(refs))
    assert got.tolist() == pytest.approx(expected, abs=1e-6)
    assert (got > metrics.psnr(to_tensor(outs), to_tensor(refs))).all()
    monkeypatch.setattr(metrics, "_DE_PIXELS_CPU", 100)  # two slices: the same numbers
    assert torch.allclose(metrics.psnr_wb(to_tensor(outs), to_tensor(refs)), got, atol=1e-9,
                          rtol=0)


def test_psnr_wb_clips_and_leaves_black_channels_alone():
    out = torch.full((1, 3, 5, 5), 100 / 255)
    out[:, 2] = 0.0  # nothing to fit: the gain stays 1
    ref = torch.ones(1, 3, 5, 5)
    ref[:, 2] = 0.0
    assert metrics.white_balance_gains(out, ref)[0, 2] == 1.0
    assert math.isinf(float(metrics.psnr_wb(out, ref)))  # R and G scaled up to 255 exactly
    assert math.isinf(float(metrics.psnr_wb(ref, ref)))


def test_colour_metrics_are_in_the_table():
    de, wb = metrics.METRICS["de2000"], metrics.METRICS["psnr_wb"]
    assert de.better(1.0, 2.0) and not de.better(2.0, 1.0)  # lower is better
    assert wb.better(30.0, 20.0)
    assert de.format(2.3456) == "2.35" and wb.format(31.234) == "31.23 dB"
    assert de.diff_heading == "Δ(ΔE00)" and wb.diff_heading == "ΔPSNR-WB (dB)"
    assert [m.name for m in metrics.select("psnr_wb, DE2000")] == ["de2000", "psnr_wb"]
    assert {"de2000", "psnr_wb"} <= set(metrics.DEFAULT_METRICS)
    assert metrics.TRAINING_METRICS == ("psnr", "ssim")


@pytest.mark.gpu
def test_cuda_matches_cpu():
    a = to_tensor([natural_uint8(240, 320, s) for s in range(4)])
    b = to_tensor([degrade(natural_uint8(240, 320, s), s) for s in range(4)])
    for fn in (metrics.psnr, metrics.ssim, metrics.loe, metrics.de2000, metrics.psnr_wb):
        cpu = fn(a, b)
        gpu = fn(a.cuda(), b.cuda())
        assert gpu.device.type == "cuda"
        assert torch.allclose(gpu.cpu(), cpu, atol=1e-9, rtol=1e-9)
