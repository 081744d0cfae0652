"""Overlapping, blended tiles (flashcli.ops.tiling)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from flashcli.ops.tiling import ramp, run_tiled, tile_starts


def blur(x: torch.Tensor, radius: int = 2) -> torch.Tensor:
    """A local operator: box blur with replicated borders (reach: ``radius`` pixels)."""
    k = 2 * radius + 1
    padded = F.pad(x, (radius,) * 4, mode="replicate")
    return F.avg_pool2d(padded, k, stride=1)


@pytest.mark.parametrize("length,tile,overlap", [(100, 32, 8), (64, 64, 8), (50, 64, 8), (97, 40, 16)])
def test_tile_starts_cover_with_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + min(tile, length) == length
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap


def test_ramp_is_zero_in_margin_and_one_inside():
    w = ramp(40, 16, 4, lead=True, trail=True)
    assert w[:4].eq(0).all() and w[-4:].eq(0).all()
    assert w[12:28].eq(1).all()
    assert (w[4:12].diff() > 0).all()
    assert ramp(40, 16, 4, lead=False, trail=False).eq(1).all()


def test_pointwise_function_is_exact():
    x = torch.rand(2, 3, 70, 90)
    y = run_tiled(lambda t: t * 0.5 + 0.1, x, 32, 8, batch=3)
    assert torch.allclose(y, x * 0.5 + 0.1, atol=1e-6)


def test_local_operator_matches_whole_image():
    x = torch.rand(1, 3, 101, 133)
    whole = blur(x)
    tiled = run_tiled(blur, x, (40, 48), 16, margin=3)
    assert (tiled - whole).abs().max() < 1e-5


def test_no_seams_between_tiles_with_different_results():
    """Each tile gets its own constant; the blend must change smoothly, never jump."""
    x = torch.zeros(1, 1, 96, 96)
    calls = iter(range(1000))

    def per_tile(t):
        return torch.cat([torch.full_like(t[i:i + 1], float(next(calls) % 2)) for i in range(len(t))])

    y = run_tiled(per_tile, x, 32, 16, batch=1)
    jumps = max(y.diff(dim=-1).abs().max().item(), y.diff(dim=-2).abs().max().item())
    assert y.min() >= 0 and y.max() <= 1
    assert jumps < 0.25  # a hard tile border would jump by 1.0


def test_channels_may_change_and_small_images_take_one_call():
    x = torch.rand(1, 3, 20, 30)
    calls = []

    def gray(t):
        calls.append(t.shape)
        return t.mean(1, keepdim=True)

    y = run_tiled(gray, x, 64, 16)
    assert calls == [torch.Size([1, 3, 20, 30])]
    assert torch.allclose(y, x.mean(1, keepdim=True))


def test_bad_settings_and_bad_function_are_refused():
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match="margin < overlap / 2"):
        run_tiled(blur, x, 32, 16, margin=8)
    with pytest.raises(ValueError, match="overlap 16 must be smaller than the tile size 16"):
        run_tiled(blur, x, 16, 16)
    with pytest.raises(RuntimeError, match=r"tiled function returned \(.*, 31\)"):
        run_tiled(lambda t: t[..., :-1], x, 32, 8)
