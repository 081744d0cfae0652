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
- ``quantize``: round to the 256 levels of an 8-bit image, as the authors saved outputs.

``METRICS`` is the table every consumer iterates (evaluation, reports, the eval command, the
trainer): a new metric is one function here plus one row in the table.

Sums are computed in float64 (float32 where the device has no float64, e.g. Apple MPS), so
the numbers agree with scikit-image to ~1e-6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flashcli.errors import FlashcliError, UsageError
from flashcli.lazy import lazy_module

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")

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


def _pair(a: torch.Tensor, b: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Check shapes, add a batch axis to single images, and pick the working dtype."""
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
    b = b.to(a.device)
    dtype = _work_dtype(a.device)
    return a.to(dtype), b.to(dtype)


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
    from scipy.ndimage import correlate1d

    r = (kernel.numel() - 1) // 2
    k = kernel.numpy()
    y = correlate1d(x.numpy(), k, axis=-1, mode="reflect")[..., r:-r]
    y = correlate1d(y, k, axis=-2, mode="reflect")[..., r:-r, :]
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

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` beats ``b``."""
        return a > b if self.higher_is_better else a < b


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("psnr", psnr, True, 2, "PSNR", "dB"),
    Metric("ssim", ssim, True, 3, "SSIM"),
    Metric("loe", loe, False, 1, "LOE"),
)}
#: What ``flashcli eval`` scores by default (the paper's Table 1).
DEFAULT_METRICS = ("psnr", "ssim", "loe")
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
