"""Carry a low-resolution result to full resolution through its per-pixel gain.

A method runs on a small working image ``lo_in`` and returns ``lo_out``. Their ratio in
linear light, ``gain = (lin(lo_out) + floor) / (lin(lo_in) + floor)``, is what the method
did to each pixel. The fast guided filter (He & Sun, "Fast Guided Filter", 2015) fits that
gain, window by window, as an affine function of the low-resolution colour guide
(``gain_c ~ A_c . I + b_c``), upsamples the coefficients bilinearly and evaluates them on
the full-resolution guide. Edges and texture of the full image therefore stay sharp while
the method's look is reproduced. The full-resolution pass runs in bands of rows so a
50 MP photo needs only a fixed amount of extra memory (and can be written in place).

All functions take batched ``N x 3 x H x W`` float tensors in [0, 1] on any device;
:func:`apply_gain_u8` and :func:`downscale_u8` take 8-bit ones (0-255), the photo's own
pixels, and skip the full-size float copy: each band is converted in cache, sRGB is decoded
through a 256-entry table and encoded through a fine table indexed by the square root of
linear light (error under 0.1 of an 8-bit level).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Defaults: window radius in working-image pixels, guide regularisation, linear floor.
RADIUS = 2
EPS = 1e-3
FLOOR = 1e-2
#: Pixels per band of the full-resolution pass (CPU); CUDA uses a larger band.
BAND_PIXELS = 1 << 20
BAND_PIXELS_CUDA = 1 << 24
#: Pixels per band of the 8-bit pass on the CPU (its buffers stay in the L2 cache).
BAND_PIXELS_U8 = 1 << 16
#: Steps of the encoding table over sqrt(linear light) in [0, 1].
ENCODE_STEPS = 4096


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """Decode sRGB values in [0, 1] to linear light (IEC 61966-2-1)."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Encode linear light in [0, 1] as sRGB values in [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-10).pow(1.0 / 2.4) - 0.055)


def _box_sum(x: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Sum over a window of ``2 * radius + 1`` along ``dim``, clipped at the borders."""
    n = x.shape[dim]
    shape = list(x.shape)
    shape[dim] = 1
    c = torch.cat([x.new_zeros(shape), x.cumsum(dim)], dim)
    idx = torch.arange(n, device=x.device)
    hi = (idx + radius + 1).clamp(max=n)
    lo = (idx - radius).clamp(min=0)
    return c.index_select(dim, hi) - c.index_select(dim, lo)


def box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a ``(2r+1)^2`` window of each pixel of ``... x H x W``, border-normalised.

    Cost is independent of the radius (cumulative sums).
    """
    if radius <= 0:
        return x
    h, w = x.shape[-2:]
    s = _box_sum(_box_sum(x, radius, -2), radius, -1)
    ones_h = _box_sum(x.new_ones(h, 1), radius, 0)
    ones_w = _box_sum(x.new_ones(1, w), radius, 1)
    return s / (ones_h * ones_w)


@dataclass
class GainField:
    """Low-resolution affine gain coefficients: ``gain_c = sum_k a[c, k] I_k + b_c``.

    ``a`` is ``N x 3 x 3 x h x w`` (output channel, guide channel), ``b`` is ``N x 3 x h x w``.
    """

    a: torch.Tensor
    b: torch.Tensor
    floor: float = FLOOR
    #: Per image and channel range of the fitted gain (``N x 3``); the full-resolution gain
    #: is clamped to it so outlier pixels cannot extrapolate the affine model.
    low: torch.Tensor | None = None
    high: torch.Tensor | None = None

    def select(self, i: int) -> GainField:
        """The field of image ``i`` alone (a batch of one)."""
        def one(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x[i:i + 1]

        return GainField(self.a[i:i + 1], self.b[i:i + 1], self.floor, one(self.low), one(self.high))

    @property
    def packed(self) -> torch.Tensor:
        n, c, k, h, w = self.a.shape
        return torch.cat([self.a.reshape(n, c * k, h, w), self.b], 1)


def linear_gain(lo_in: torch.Tensor, lo_out: torch.Tensor, floor: float = FLOOR) -> torch.Tensor:
    """Per-pixel gain of ``lo_out`` over ``lo_in`` in linear light, floored to stay finite."""
    return (srgb_to_linear(lo_out) + floor) / (srgb_to_linear(lo_in) + floor)


def fit_gain(
    lo_in: torch.Tensor,
    lo_out: torch.Tensor,
    *,
    radius: int = RADIUS,
    eps: float = EPS,
    floor: float = FLOOR,
) -> GainField:
    """Fit the guided-filter coefficients of the gain ``lo_in -> lo_out`` (guide: ``lo_in``)."""
    guide = lo_in.float()
    p = linear_gain(guide, lo_out.float(), floor)
    mi = box_mean(guide, radius)  # N,3,h,w
    mp = box_mean(p, radius)  # N,3,h,w
    # Guide covariance (symmetric 3x3 per pixel), regularised by eps.
    sig = {}
    for i in range(3):
        for j in range(i, 3):
            s = box_mean(guide[:, i] * guide[:, j], radius) - mi[:, i] * mi[:, j]
            sig[i, j] = s + eps if i == j else s
    a00, a01, a02, a11, a12, a22 = (sig[0, 0], sig[0, 1], sig[0, 2], sig[1, 1], sig[1, 2], sig[2, 2])
    inv = [
        [a11 * a22 - a12 * a12, a02 * a12 - a01 * a22, a01 * a12 - a02 * a11],
        [None, a00 * a22 - a02 * a02, a01 * a02 - a00 * a12],
        [None, None, a00 * a11 - a01 * a01],
    ]
    for i in range(3):
        for j in range(i):
            inv[i][j] = inv[j][i]
    det = a00 * inv[0][0] + a01 * inv[0][1] + a02 * inv[0][2]
    # Cross-covariance of guide channel k with gain channel c: N,3(c),3(k),h,w.
    cov = box_mean(guide[:, None, :] * p[:, :, None], radius) - mi[:, None, :] * mp[:, :, None]
    a = torch.stack(
        [sum(inv[k][j][:, None] * cov[:, :, j] for j in range(3)) / det[:, None] for k in range(3)],
        dim=2,
    )
    b = mp - (a * mi[:, None, :]).sum(2)
    return GainField(box_mean(a, radius), box_mean(b, radius), floor,
                     p.amin(dim=(-2, -1)), p.amax(dim=(-2, -1)))


def _rows_lerp(n_out: int, n_in: int, device: torch.device):
    """Bilinear (align_corners=False) source rows and weights, as ``F.interpolate`` uses."""
    src = ((torch.arange(n_out, device=device, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5)
    src = src.clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    i1 = (i0 + 1).clamp(max=n_in - 1)
    return i0, i1, (src - i0).float()


def band_rows(width: int, height: int, device: torch.device, band_pixels: int | None = None) -> int:
    """Rows per band of the full-resolution pass."""
    if band_pixels is None:
        band_pixels = BAND_PIXELS_CUDA if device.type == "cuda" else BAND_PIXELS
    return max(1, min(height, band_pixels // max(1, width)))


def apply_gain(
    field: GainField,
    full_in: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
    band_pixels: int | None = None,
) -> torch.Tensor:
    """Evaluate ``field`` on the full-resolution guide ``full_in`` and apply the gain.

    Works band by band; ``out`` may be ``full_in`` itself (in place) to save memory.
    """
    n, _, h_full, w_full = full_in.shape
    packed = field.packed.to(full_in.device, torch.float32)
    h_lo = packed.shape[-2]
    if out is None:
        out = torch.empty_like(full_in)
    i0, i1, wy = _rows_lerp(h_full, h_lo, full_in.device)
    low = high = None
    if field.low is not None and field.high is not None:
        low = field.low.to(full_in.device, torch.float32)[:, :, None, None]
        high = field.high.to(full_in.device, torch.float32)[:, :, None, None]
    rows = band_rows(w_full, h_full, full_in.device, band_pixels)
    in_place = out.data_ptr() == full_in.data_ptr() and out.stride() == full_in.stride()
    for y0 in range(0, h_full, rows):
        y1 = min(h_full, y0 + rows)
        t = wy[y0:y1, None]
        strip = packed[:, :, i0[y0:y1]] * (1 - t) + packed[:, :, i1[y0:y1]] * t
        coef = F.interpolate(strip, size=(y1 - y0, w_full), mode="bilinear", align_corners=False)
        a = coef[:, :9].view(n, 3, 3, y1 - y0, w_full)
        guide = full_in[:, :, y0:y1].float().contiguous()
        gain = coef[:, 9:]
        for k in range(3):  # gain_c += a[c, k] * I_k, in place
            gain.addcmul_(a[:, :, k], guide[:, k:k + 1])
        if low is not None:
            gain.clamp_(min=low, max=high)
        shares = guide.data_ptr() == full_in[:, :, y0:y1].data_ptr()
        lin = _srgb_to_linear_(guide.clone() if shares and not in_place else guide)
        lin.add_(field.floor).mul_(gain).sub_(field.floor)
        out[:, :, y0:y1] = _linear_to_srgb_(lin).to(out.dtype)
    return out


def _srgb_to_linear_(x: torch.Tensor) -> torch.Tensor:
    """:func:`srgb_to_linear`, overwriting ``x`` (fewer full-size temporaries)."""
    x.clamp_(0.0, 1.0)
    low = x < 0.04045
    small = x[low] / 12.92
    x.add_(0.055).div_(1.055).pow_(2.4)
    x[low] = small
    return x


def _linear_to_srgb_(x: torch.Tensor) -> torch.Tensor:
    """:func:`linear_to_srgb`, overwriting ``x``."""
    x.clamp_(0.0, 1.0)
    low = x < 0.0031308
    small = x[low] * 12.92
    x.pow_(1.0 / 2.4).mul_(1.055).sub_(0.055)
    x[low] = small
    return x


def gain_upsample(
    lo_in: torch.Tensor,
    lo_out: torch.Tensor,
    full_in: torch.Tensor,
    *,
    radius: int = RADIUS,
    eps: float = EPS,
    floor: float = FLOOR,
    out: torch.Tensor | None = None,
    band_pixels: int | None = None,
) -> torch.Tensor:
    """Full-resolution version of ``lo_out``: its gain over ``lo_in``, carried onto ``full_in``.

    ``lo_in`` is ``full_in`` downscaled (what the method saw), ``lo_out`` the method's result.
    """
    if lo_in.shape != lo_out.shape:
        raise ValueError(f"lo_in {tuple(lo_in.shape)} and lo_out {tuple(lo_out.shape)} differ")
    if lo_in.shape[:2] != full_in.shape[:2]:
        raise ValueError(f"batch/channels of {tuple(lo_in.shape)} and {tuple(full_in.shape)} differ")
    field = fit_gain(lo_in.to(full_in.device), lo_out.to(full_in.device),
                     radius=radius, eps=eps, floor=floor)
    return apply_gain(field, full_in, out=out, band_pixels=band_pixels)


def working_shape(height: int, width: int, long_side: int) -> tuple[int, int]:
    """The size of a ``height x width`` image scaled so its long side is ``long_side``
    (never enlarged)."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def downscale(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased downscale of ``N x C x H x W`` to ``size`` (the working image).

    Large reductions average whole pixel blocks ("area", fast and exactly what the gain fit
    assumes); small ones use antialiased bilinear filtering.
    """
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    factor = min(image.shape[-2] / size[0], image.shape[-1] / size[1])
    if factor >= 2:
        return F.interpolate(image.float(), size=size, mode="area")
    return F.interpolate(image.float(), size=size, mode="bilinear", antialias=True,
                         align_corners=False).clamp_(0.0, 1.0)


# --- 8-bit images: the photo's own pixels, no full-size float copy --------------------------

_TABLES: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}


def _tables(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(256-entry sRGB -> linear table, ``ENCODE_STEPS + 1``-entry sqrt(linear) -> sRGB
    8-bit table) on ``device``."""
    key = str(device)
    if key not in _TABLES:
        levels = torch.arange(256, dtype=torch.float64) / 255
        decode = srgb_to_linear(levels).float()
        s = torch.linspace(0, 1, ENCODE_STEPS + 1, dtype=torch.float64)
        encode = (linear_to_srgb(s * s) * 255).round().to(torch.uint8)
        _TABLES[key] = decode.to(device), encode.to(device)
    return _TABLES[key]


def _band_spans(i0: torch.Tensor, rows: int) -> list[tuple[int, int]]:
    """Bands of full-resolution rows that share a low-resolution source row, at most
    ``rows`` long."""
    change = (i0[1:] != i0[:-1]).nonzero().flatten().add(1).tolist()
    spans = []
    for a, b in zip([0, *change], [*change, len(i0)], strict=True):
        spans.extend((y, min(b, y + rows)) for y in range(a, b, rows))
    return spans


class _U8Band:
    """Buffers of the 8-bit pass, reused band after band (they stay in cache)."""

    def __init__(self, rows: int, width: int, device: torch.device) -> None:
        size = rows * width
        self.guide = torch.empty(3 * size, device=device)
        self.lin = torch.empty_like(self.guide)
        self.coef = torch.empty(12 * size, device=device)
        self.index = torch.empty(3 * size, dtype=torch.int32, device=device)
        self.decode, self.encode = _tables(device)

    def run(self, src: torch.Tensor, dst: torch.Tensor, row0: torch.Tensor, row1: torch.Tensor,
            t: torch.Tensor, floor: float, low: list[float] | None,
            high: list[float] | None) -> None:
        """Relight ``src`` (3 x r x W, 8-bit) into ``dst``; coefficients ``lerp(row0, row1, t)``."""
        _, r, w = src.shape
        guide, lin, index = (b[:3 * r * w].view(3, r, w) for b in (self.guide, self.lin, self.index))
        coef = self.coef[:12 * r * w].view(12, r, w)
        index.copy_(src)
        torch.index_select(self.decode, 0, index.reshape(-1), out=lin.view(-1))
        guide.copy_(src).mul_(1.0 / 255)
        torch.lerp(row0[:, None], row1[:, None], t[:, None].expand(r, 1), out=coef)
        gain = coef[9:]
        for c in range(3):  # gain_c = b_c + sum_k a[c, k] I_k
            for k in range(3):
                gain[c].addcmul_(coef[3 * c + k], guide[k])
            if low is not None and high is not None:
                gain[c].clamp_(low[c], high[c])
        lin.add_(floor).mul_(gain).sub_(floor)
        lin.clamp_(0.0, 1.0).sqrt_().mul_(ENCODE_STEPS).add_(0.5)
        index.copy_(lin)  # rounds: values are >= 0.5
        for c in range(3):
            if dst[c].is_contiguous():
                torch.index_select(self.encode, 0, index[c].reshape(-1), out=dst[c].view(-1))
            else:
                dst[c].copy_(self.encode[index[c]])


def apply_gain_u8(
    field: GainField,
    image: torch.Tensor,
    *,
    out: torch.Tensor | None = None,
    band_pixels: int | None = None,
) -> torch.Tensor:
    """:func:`apply_gain` for an 8-bit ``N x 3 x H x W`` image (0-255); returns 8-bit.

    ``out`` may be ``image`` (in place). The gain coefficients are interpolated across
    the width once per low-resolution row, then between rows band by band.
    """
    if image.dtype != torch.uint8:
        raise ValueError(f"apply_gain_u8 takes uint8 images, not {image.dtype}")
    n, _, h_full, w_full = image.shape
    dev = image.device
    if out is None:
        out = torch.empty_like(image)
    packed = field.packed.to(dev, torch.float32)
    h_lo, w_lo = packed.shape[-2:]
    rows_lo = packed.transpose(1, 2).reshape(n * h_lo, 12, w_lo)
    wide = F.interpolate(rows_lo, size=w_full, mode="linear", align_corners=False)
    wide = wide.view(n, h_lo, 12, w_full)  # across the width, per low-resolution row
    i0, i1, wy = _rows_lerp(h_full, h_lo, dev)
    low = high = [None] * n
    if field.low is not None and field.high is not None:
        low, high = field.low.double().tolist(), field.high.double().tolist()
    if band_pixels is None:
        band_pixels = BAND_PIXELS_CUDA if dev.type == "cuda" else BAND_PIXELS_U8
    spans = _band_spans(i0, band_rows(w_full, h_full, dev, band_pixels))
    work = _U8Band(max(b - a for a, b in spans), w_full, dev)
    first, second = i0.tolist(), i1.tolist()
    for b in range(n):
        for y0, y1 in spans:
            work.run(image[b, :, y0:y1], out[b, :, y0:y1], wide[b, first[y0]],
                     wide[b, second[y0]], wy[y0:y1], field.floor, low[b], high[b])
    return out


def downscale_u8(image: torch.Tensor, size: tuple[int, int],
                 band_pixels: int = BAND_PIXELS_U8 * 16) -> torch.Tensor:
    """:func:`downscale` of an 8-bit ``N x 3 x H x W`` image (0-255) to a float one in [0, 1].

    Large reductions average in two passes (across, then down; the same box means as
    "area"), converting a band of rows to float at a time.
    """
    h, w = image.shape[-2:]
    if tuple(size) == (h, w) or min(h / size[0], w / size[1]) < 2:
        return downscale(image.float().div_(255), size)
    across = torch.empty(*image.shape[:2], h, size[1], device=image.device)
    rows = band_rows(w, h, image.device, band_pixels)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        band = image[:, :, y0:y1].float()
        across[:, :, y0:y1] = F.adaptive_avg_pool2d(band, (y1 - y0, size[1]))
    return F.adaptive_avg_pool2d(across, tuple(size)).div_(255)


# --- a batch of photos of one size (relight) ---------------------------------------------------

def to_device(images: list[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """Full-resolution photos (3 x H x W) on ``device`` in the form the gain is carried on
    there: 8-bit photos stay 8-bit on the CPU (no full-size float copy); on other devices
    they travel as 8-bit and are relit in float."""
    full = [x.to(device, non_blocking=True) for x in images]
    if device.type != "cpu":
        full = [x.float().div_(255) if x.dtype == torch.uint8 else x for x in full]
    return full


def working_batch(full: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """The photos (:func:`to_device`'s, one size) downscaled to ``size``, as one float
    N x 3 x h x w batch: what the method sees."""
    return torch.stack([(downscale_u8 if x.dtype == torch.uint8 else downscale)(x[None], size)[0]
                        for x in full])


def carry_gain(lo_in: torch.Tensor, lo_out: torch.Tensor, full: list[torch.Tensor],
               dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """The method's gain (``lo_out`` over ``lo_in``) carried onto each full-resolution
    photo of ``full`` in place (no second full image), each on the 8-bit or the float path
    by its own type; the results as ``dtype`` (uint8: 0-255)."""
    field = fit_gain(lo_in, lo_out)
    outs = []
    for i, x in enumerate(full):
        apply = apply_gain_u8 if x.dtype == torch.uint8 else apply_gain
        y = apply(field.select(i), x[None], out=x[None])[0]
        if dtype == torch.uint8 and y.dtype != torch.uint8:
            y = y.mul_(255).round_().to(torch.uint8)
        outs.append(y)
    return outs
