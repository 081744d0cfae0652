"""Image quality metrics as the paper's authors computed them (docs/method.md, "Metrics").

All functions take batches ``N x 3 x H x W`` (a single ``3 x H x W`` image is accepted too)
of floats in [0, 1] on any device and return one value per image as a float tensor of
length N on the same device.

- ``psnr``: ``10 * log10(1 / MSE)`` over all pixels and channels (inf for identical images).
- ``ssim``: scikit-image's ``structural_similarity(a, b, channel_axis=-1,
  gaussian_weights=True, use_sample_covariance=False, data_range=255)`` on the images scaled
  to 0..255: Gaussian window sigma 1.5 truncated at 3.5 sigma (11 x 11), K1 = 0.01,
  K2 = 0.03, mean over the region where the whole window fits (scikit-image crops a 5 px
  border) and over channels.
- ``loe``: lightness order error on the max-over-RGB lightness, downsampled so the short
  side is 50 px.
- ``de2000``: mean CIEDE2000 colour difference (Sharma, Wu and Dalal 2005) over pixels,
  both images taken sRGB -> linear -> XYZ -> CIELAB (D65) with scikit-image's constants, so
  it equals ``deltaE_ciede2000(rgb2lab(a), rgb2lab(b)).mean()`` (lower is better).
- ``psnr_wb``: PSNR after the output is given the one gain per channel, in linear light, that
  fits it best to the reference (least squares), then re-encoded to sRGB, clipped and rounded
  to 8 bit: what is left is the error a global exposure / white balance cannot fix.
- ``quantize``: round to the 256 levels of an 8-bit image, as the authors saved outputs.

``METRICS`` is the table every consumer iterates (evaluation, reports, the eval command, the
trainer): a new metric is one function here plus one row in the table.

Sums are computed in float64 (float32 where the device has no float64, e.g. Apple MPS), so
the numbers agree with scikit-image to ~1e-6.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flashcli.errors import FlashcliError, UsageError
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F
    from scipy import ndimage
else:
    torch = lazy_module("torch")
    F = lazy_module("torch.nn.functional")
    ndimage = lazy_module("scipy.ndimage")

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: Window radius as scipy.ndimage computes it: int(truncate * sigma + 0.5) = 5.
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
LOE_SHORT_SIDE = 50
_BAND_MAX = 1024
_PIXELS_PER_CHUNK_CPU = 1 << 17
_PIXELS_PER_CHUNK_GPU = 1 << 25
#: Pixels per step of the CIEDE2000 pass (its ~30 temporaries stay small on the CPU).
_DE_PIXELS_CPU = 1 << 16
_DE_PIXELS_GPU = 1 << 23

#: sRGB (linear) -> CIE XYZ and the D65 2-degree white point, as scikit-image's ``rgb2lab``
#: uses them (so de2000 agrees with it to ~1e-9 on the same inputs).
XYZ_FROM_RGB = ((0.412453, 0.357580, 0.180423),
                (0.212671, 0.715160, 0.072169),
                (0.019334, 0.119193, 0.950227))
WHITE_D65 = (0.95047, 1.0, 1.08883)
#: The CIELAB cube-root threshold and the slope of the linear part below it.
LAB_EPSILON = 0.008856
LAB_KAPPA = 7.787


def _pair(a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check shapes, add a batch axis to single images, and pick the working dtype."""
    a, b = _checked(a, b, what)
    dtype = _work_dtype(a.device)
    return a.to(dtype), b.to(dtype)


def _checked(a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``_pair`` without the change of dtype (``b`` moved to ``a``'s device)."""
    if a.ndim == 3:
        a = a.unsqueeze(0)
    if b.ndim == 3:
        b = b.unsqueeze(0)
    if a.ndim != 4 or a.shape[1] != 3:
        raise FlashcliError(f"{what}: expected N x 3 x H x W images, got {tuple(a.shape)}")
    if a.shape != b.shape:
        raise FlashcliError(
            f"{what}: image sizes differ ({tuple(a.shape)} vs {tuple(b.shape)}); "
            "compare images of the same size"
        )
    return a, b.to(a.device)


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round ``x`` (floats in [0, 1]) to 8-bit levels, clipping to [0, 1]; same dtype."""
    return torch.round(x.clamp(0.0, 1.0) * 255.0) / 255.0


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB with peak 1: ``10 * log10(1 / MSE)``; inf where MSE is 0."""
    a, b = _pair(a, b, "psnr")
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(1.0 / mse)


def _gaussian_kernel(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The normalised 1-D Gaussian scipy.ndimage uses (sigma 1.5, radius 5)."""
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return (k / k.sum()).to(device=device, dtype=dtype)


def _band(n: int, kernel: torch.Tensor) -> torch.Tensor:
    """An n x (n - 2r) matrix whose columns are the kernel shifted by one: x @ band filters x."""
    k = kernel.numel()
    out = torch.zeros(n, n - k + 1, dtype=kernel.dtype, device=kernel.device)
    cols = torch.arange(n - k + 1, device=kernel.device)
    rows = cols[None, :] + torch.arange(k, device=kernel.device)[:, None]
    out[rows, cols.expand(k, -1)] = kernel[:, None].expand(-1, n - k + 1)
    return out


def _shift_add(x: torch.Tensor, kernel: torch.Tensor, dim: int) -> torch.Tensor:
    """Filter along ``dim`` (valid region) as a sum of shifted, weighted copies."""
    n = x.shape[dim] - kernel.numel() + 1
    out = x.narrow(dim, 0, n) * kernel[0]
    for i in range(1, kernel.numel()):
        out.add_(x.narrow(dim, i, n), alpha=float(kernel[i]))
    return out


def _correlate_cpu(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """The CPU filter: scipy.ndimage line by line (cache-friendly), then the valid crop."""
    r = (kernel.numel() - 1) // 2
    k = kernel.numpy()
    y = ndimage.correlate1d(x.numpy(), k, axis=-1, mode="reflect")[..., r:-r]
    y = ndimage.correlate1d(y, k, axis=-2, mode="reflect")[..., r:-r, :]
    return torch.from_numpy(y)


def _filter_valid(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter of every channel of ``x`` (B x C x H x W), valid region only.

    On the CPU this is scipy.ndimage's 1-D correlation (what scikit-image runs). On GPUs,
    up to 1024 px a side, two products with banded matrices (float64 matrix speed); larger
    images use 2 x 11 shifted multiply-adds.
    """
    h, w = x.shape[-2:]
    if x.device.type == "cpu":
        return _correlate_cpu(x, kernel)
    if max(h, w) <= _BAND_MAX:
        return _band(h, kernel).T @ (x @ _band(w, kernel))
    return _shift_add(_shift_add(x, kernel, -1), kernel, -2)


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The SSIM map (N x 3 x (H-10) x (W-10)) over the region scikit-image averages."""
    a, b = _pair(a, b, "ssim")
    side = 2 * SSIM_RADIUS + 1
    if min(a.shape[-2:]) < side:
        raise FlashcliError(
            f"ssim: images of {a.shape[-1]}x{a.shape[-2]} px are too small; "
            f"SSIM needs at least {side}x{side} px"
        )
    kernel = _gaussian_kernel(a.dtype, a.device)
    # Bounded memory: a few images at a time on the CPU, more on a GPU.
    budget = _PIXELS_PER_CHUNK_CPU if a.device.type == "cpu" else _PIXELS_PER_CHUNK_GPU
    step = max(1, budget // (a.shape[-1] * a.shape[-2]))
    parts = [_ssim_map(a[i:i + step], b[i:i + step], kernel) for i in range(0, a.shape[0], step)]
    return torch.cat(parts)


def _ssim_map(a: torch.Tensor, b: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    # One filter pass over the five moments x, y, x*x, y*y, x*y (0..255 scale); the
    # arithmetic below is in place to keep memory traffic low.
    n, c, h, w = a.shape
    stack = torch.empty(n, 5 * c, h, w, dtype=a.dtype, device=a.device)
    x, y = stack[:, :c], stack[:, c:2 * c]
    torch.mul(a, 255.0, out=x)
    torch.mul(b, 255.0, out=y)
    torch.mul(x, x, out=stack[:, 2 * c:3 * c])
    torch.mul(y, y, out=stack[:, 3 * c:4 * c])
    torch.mul(x, y, out=stack[:, 4 * c:])
    ux, uy, uxx, uyy, uxy = _filter_valid(stack, kernel).split(c, dim=1)
    ux2, uy2, uxuy = ux * ux, uy * uy, ux * uy
    vx, vy, vxy = uxx.sub_(ux2), uyy.sub_(uy2), uxy.sub_(uxuy)
    c1 = (SSIM_K1 * 255.0) ** 2
    c2 = (SSIM_K2 * 255.0) ** 2
    num = uxuy.mul_(2.0).add_(c1).mul_(vxy.mul_(2.0).add_(c2))
    den = ux2.add_(uy2).add_(c1).mul_(vx.add_(vy).add_(c2))
    return num.div_(den)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM, equal to scikit-image's Gaussian SSIM on the 0..255 images."""
    return ssim_map(a, b).flatten(1).mean(dim=1)


def _lightness_small(x: torch.Tensor) -> torch.Tensor:
    """Max-over-RGB lightness resized so the short side is 50 px, flattened to N x P."""
    light = x.amax(dim=1, keepdim=True)
    h, w = light.shape[-2:]
    r = LOE_SHORT_SIDE / min(h, w)
    size = (max(1, round(h * r)), max(1, round(w * r)))
    if size != (h, w):
        light = F.interpolate(light, size=size, mode="bilinear", align_corners=False,
                              antialias=size[0] < h)
    return light.flatten(1)


def loe(a: torch.Tensor, b: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Per-image lightness order error of ``a`` against the reference ``b``.

    For every pixel i of the downsampled lightness maps, count the pixels j for which
    ``L_a(i) >= L_a(j)`` and ``L_b(i) >= L_b(j)`` disagree; LOE is the mean count per pixel
    (0 for images with the same lightness order). ``chunk`` bounds the memory used by the
    pairwise comparison (N x chunk x P booleans).
    """
    a, b = _pair(a, b, "loe")
    la = _lightness_small(a)
    lb = _lightness_small(b)
    n, p = la.shape
    total = torch.zeros(n, dtype=torch.float64, device=la.device)
    for start in range(0, p, chunk):
        stop = min(start + chunk, p)
        oa = la[:, start:stop, None] >= la[:, None, :]
        ob = lb[:, start:stop, None] >= lb[:, None, :]
        total += (oa ^ ob).flatten(1).sum(dim=1).to(torch.float64)
    return (total / p).to(la.dtype)


# --- colour: CIELAB, CIEDE2000 and the white-balance-invariant PSNR -------------------------

# Powers are taken as exp(p * log(x)): equal to pow to ~1e-15 at half its cost on the CPU.

def _srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """Decode sRGB values in [0, 1] to linear light (IEC 61966-2-1); same dtype."""
    x = x.clamp(0.0, 1.0)
    high = x.add(0.055).div_(1.055).log_().mul_(2.4).exp_()
    return torch.where(x <= 0.04045, x / 12.92, high)


def _linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Encode linear light in [0, 1] as sRGB values in [0, 1]; same dtype."""
    x = x.clamp(0.0, 1.0)
    high = x.clamp_min(1e-12).log_().div_(2.4).exp_().mul_(1.055).sub_(0.055)
    return torch.where(x <= 0.0031308, x * 12.92, high)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (channels on dim 1: ``N x 3 x ...``) -> CIELAB (L, a, b on dim 1).

    sRGB -> linear -> XYZ (D65) -> L*a*b* relative to the D65 white, with the constants of
    scikit-image's ``rgb2lab``.
    """
    lin = _srgb_to_linear(x)
    m = torch.tensor(XYZ_FROM_RGB, dtype=x.dtype, device=x.device)
    white = torch.tensor(WHITE_D65, dtype=x.dtype, device=x.device)
    xyz = torch.einsum("ij,nj...->ni...", m / white[:, None], lin)
    cube_root = xyz.clamp_min(LAB_EPSILON).log_().div_(3.0).exp_()
    f = torch.where(xyz > LAB_EPSILON, cube_root, LAB_KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(1)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)


def _hue(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """atan2(b, a) in [0, 2 pi); 0 where a = b = 0 (as Sharma et al. specify)."""
    h = torch.atan2(b, a)
    return torch.where(h < 0, h + 2 * math.pi, h)


def ciede2000(lab1: torch.Tensor, lab2: torch.Tensor) -> torch.Tensor:
    """The CIEDE2000 colour difference (kL = kC = kH = 1) of CIELAB colours with L, a, b on
    dim 1 (``N x 3 x ...`` -> ``N x ...``), following Sharma, Wu and Dalal (2005), "The
    CIEDE2000 color-difference formula: implementation notes, supplementary test data, and
    mathematical observations", equations 1-22 (hue angles in radians)."""
    l1, a1, b1 = lab1.unbind(1)
    l2, a2, b2 = lab2.unbind(1)
    # a' : a stretched by 1 + G, G from the mean chroma (eqs. 2-5)
    c_mean = 0.5 * (torch.hypot(a1, b1) + torch.hypot(a2, b2))
    c7 = c_mean.pow(7)
    g1 = 1.5 - 0.5 * torch.sqrt(c7 / (c7 + 25.0 ** 7))
    a1p, a2p = a1 * g1, a2 * g1
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p, h2p = _hue(b1, a1p), _hue(b2, a2p)
    # differences (eqs. 8-11)
    cc = c1p * c2p
    grey = cc == 0
    dh = h2p - h1p
    dh = torch.where(dh > math.pi, dh - 2 * math.pi, torch.where(dh < -math.pi, dh + 2 * math.pi, dh))
    dh = torch.where(grey, torch.zeros_like(dh), dh)
    d_big_h = 2.0 * torch.sqrt(cc) * torch.sin(0.5 * dh)
    # means (eqs. 12-14): the mean hue goes the short way round the circle
    l_mean = 0.5 * (l1 + l2)
    cp_mean = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    far = (h1p - h2p).abs() > math.pi
    h_mean = torch.where(far, torch.where(h_sum < 2 * math.pi, h_sum + 2 * math.pi,
                                          h_sum - 2 * math.pi), h_sum)
    h_mean = torch.where(grey, h_sum, 0.5 * h_mean)
    # weights (eqs. 15-21)
    deg = math.pi / 180.0
    t = (1.0 - 0.17 * torch.cos(h_mean - 30 * deg) + 0.24 * torch.cos(2 * h_mean)
         + 0.32 * torch.cos(3 * h_mean + 6 * deg) - 0.20 * torch.cos(4 * h_mean - 63 * deg))
    d_theta = 30 * deg * torch.exp(-((h_mean / deg - 275.0) / 25.0).pow(2))
    cp7 = cp_mean.pow(7)
    r_c = 2.0 * torch.sqrt(cp7 / (cp7 + 25.0 ** 7))
    lm50 = (l_mean - 50.0).pow(2)
    s_l = 1.0 + 0.015 * lm50 / torch.sqrt(20.0 + lm50)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    r_t = -torch.sin(2.0 * d_theta) * r_c
    # eq. 22
    tl = (l2 - l1) / s_l
    tc = (c2p - c1p) / s_c
    th = d_big_h / s_h
    return torch.sqrt((tl * tl + tc * tc + th * th + r_t * tc * th).clamp_min(0.0))


def _slices(a: torch.Tensor) -> tuple[int, list[slice]]:
    """The pixel count of ``a`` (N x 3 x H x W) and slices of its flattened pixels small
    enough that the colour metrics' temporaries stay in the cache (CPU) or bounded (GPU)."""
    n, p = a.shape[0], a.shape[-1] * a.shape[-2]
    budget = _DE_PIXELS_CPU if a.device.type == "cpu" else _DE_PIXELS_GPU
    step = max(1024, budget // n)
    return p, [slice(i, min(i + step, p)) for i in range(0, p, step)]


def de2000(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image mean CIEDE2000 difference of ``a`` from the reference ``b`` (sRGB images)."""
    a, b = _checked(a, b, "de2000")
    dtype = _work_dtype(a.device)
    p, parts = _slices(a)
    a, b = a.flatten(2), b.flatten(2)
    total = torch.zeros(a.shape[0], dtype=dtype, device=a.device)
    for part in parts:  # a slice of the pixels of every image at a time
        lab_a = rgb_to_lab(a[..., part].to(dtype))
        lab_b = rgb_to_lab(b[..., part].to(dtype))
        total += ciede2000(lab_a, lab_b).sum(dim=1)
    return total / p


def _gains(la: torch.Tensor, lb: torch.Tensor) -> torch.Tensor:
    """Least-squares gains (N x 3) of linear images: ``sum(la * lb) / sum(la * la)``."""
    num = torch.einsum("ncp,ncp->nc", la.flatten(2), lb.flatten(2))
    den = torch.einsum("ncp,ncp->nc", la.flatten(2), la.flatten(2))
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.ones_like(den))


def white_balance_gains(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The gain per image and channel (N x 3) that best fits ``a`` to the reference ``b`` in
    linear light: ``sum(a * b) / sum(a * a)`` (least squares); 1 for a black channel."""
    a, b = _pair(a, b, "psnr_wb")
    return _gains(_srgb_to_linear(a), _srgb_to_linear(b))


def psnr_wb(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR of ``a`` against ``b`` after the best gain per channel (in linear light)
    is applied to ``a`` and the result is re-encoded, clipped and rounded to 8 bit."""
    a, b = _checked(a, b, "psnr_wb")
    dtype = _work_dtype(a.device)
    p, parts = _slices(a)
    a, b = a.flatten(2), b.flatten(2)
    # Two passes over slices of the pixels: the sums of the least-squares fit, then the
    # squared error of the re-balanced output.
    num = torch.zeros(a.shape[:2], dtype=dtype, device=a.device)
    den = torch.zeros_like(num)
    for part in parts:
        la = _srgb_to_linear(a[..., part].to(dtype))
        num += torch.einsum("ncp,ncp->nc", la, _srgb_to_linear(b[..., part].to(dtype)))
        den += torch.einsum("ncp,ncp->nc", la, la)
    gains = torch.where(den > 0, num / den.clamp_min(1e-300), torch.ones_like(den))[..., None]
    sse = torch.zeros(a.shape[0], dtype=dtype, device=a.device)
    for part in parts:
        out = quantize(_linear_to_srgb(_srgb_to_linear(a[..., part].to(dtype)) * gains))
        # Back through the given images' dtype, so the 8-bit levels are the same numbers as
        # the reference's (float32 k / 255 is not float64 k / 255).
        if a.is_floating_point():
            out = out.to(a.dtype).to(dtype)
        sse += (out - b[..., part].to(dtype)).pow(2).sum(dim=(1, 2))
    return 10.0 * torch.log10(3 * p / sse)


@dataclass(frozen=True)
class Metric:
    """One row of the metric table: how to compute, compare and print a metric."""

    name: str
    #: ``function(output, reference)`` -> one value per image (see the module doc).
    function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    higher_is_better: bool
    #: Digits after the point in tables.
    digits: int
    #: Column title in tables.
    label: str
    unit: str = ""

    @property
    def heading(self) -> str:
        """``label (unit)``, e.g. ``PSNR (dB)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def format(self, value: float | None) -> str:
        """The value with the metric's digits and unit (``-`` when missing)."""
        if value is None or value != value:
            return "-"
        text = "inf" if value in (float("inf"), float("-inf")) else f"{value:.{self.digits}f}"
        return f"{text} {self.unit}".strip()

    @property
    def diff_heading(self) -> str:
        """The heading of the difference column: ``ΔPSNR (dB)``, ``Δ(ΔE00)``."""
        label = f"({self.label})" if self.label.startswith("Δ") else self.label
        return f"Δ{label} ({self.unit})" if self.unit else f"Δ{label}"

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` beats ``b``."""
        return a > b if self.higher_is_better else a < b


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("psnr", psnr, True, 2, "PSNR", "dB"),
    Metric("ssim", ssim, True, 3, "SSIM"),
    Metric("loe", loe, False, 1, "LOE"),
    Metric("de2000", de2000, False, 2, "ΔE00"),
    Metric("psnr_wb", psnr_wb, True, 2, "PSNR-WB", "dB"),
)}
#: What ``flashcli eval`` scores by default: the paper's Table 1 and the colour metrics.
DEFAULT_METRICS = ("psnr", "ssim", "loe", "de2000", "psnr_wb")
#: What the trainer reports on the test split (cheap enough for every few epochs); the
#: first one picks the ``best`` weights.
TRAINING_METRICS = ("psnr", "ssim")


def select(names: str | Sequence[str] | None = None) -> list[Metric]:
    """The metrics named by ``names`` (``"psnr,ssim"`` or a list; None: the default set), in
    the table's order."""
    if names is None:
        names = DEFAULT_METRICS
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    wanted = {n.strip().lower() for n in names if n.strip()}
    unknown = sorted(wanted - set(METRICS))
    if unknown or not wanted:
        valid = ",".join(METRICS)
        given = ", ".join(unknown) if unknown else "(none)"
        raise UsageError(f"--metrics: unknown metric {given}; choose from {valid}")
    return [m for m in METRICS.values() if m.name in wanted]
