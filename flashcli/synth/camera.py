"""The camera: primary rays, then what a camera or phone does to every frame it takes.

Frames arrive in absolute units (luminance in cd/m², or luminous exposure in cd s/m² for the
flash). Per frame: lens blur and vignetting, auto-exposure metered on the frame's own
luminance (with a realistic error) and realised as a shutter time and an ISO within the
device's limits (longest hand-held shutter, highest ISO; a dim scene cannot reach the key and
comes out dark), sensor noise at that ISO (shot + read, in linear raw), phone noise reduction,
auto white balance estimated from the frame itself, a tone curve, and 8-bit output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from flashcli.synth.illuminants import locus_table
from flashcli.synth.scene import Camera, CameraModel

_LUMA = (0.2126, 0.7152, 0.0722)


def primary_rays(cam: Camera, width: int, height: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Ray origins and unit directions through the pixel centres, row-major: (H W) x 3 each."""
    f = cam.focal(width)
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=torch.float32),
                            torch.arange(width, device=device, dtype=torch.float32), indexing="ij")
    x = ((xs + 0.5 - width / 2) / f).reshape(-1, 1)
    y = (-(ys + 0.5 - height / 2) / f).reshape(-1, 1)
    r, u, fw = (v.to(device) for v in (cam.right, cam.up, cam.forward))
    d = fw + x * r + y * u
    d = d / d.norm(dim=-1, keepdim=True)
    return cam.position.to(device).expand_as(d), d


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """Relative luminance of linear RGB rows (N x 3) -> N."""
    return rgb @ torch.tensor(_LUMA, device=rgb.device, dtype=rgb.dtype)


def vignette(height: int, width: int, strength: float, device: torch.device) -> torch.Tensor:
    """Radial fall-off, 1 at the centre and 1 - strength in the corners: H x W."""
    ys = torch.linspace(-1, 1, height, device=device).view(-1, 1)
    xs = torch.linspace(-1, 1, width, device=device).view(1, -1)
    return 1 - strength * (xs * xs + ys * ys) / 2


def soften(img: torch.Tensor) -> torch.Tensor:
    """A 3x3 lens blur (also anti-aliases the one-sample-per-pixel render): 3 x H x W."""
    k = torch.tensor([0.2, 0.6, 0.2], device=img.device, dtype=img.dtype)
    kernel = (k.view(-1, 1) * k.view(1, -1)).expand(3, 1, 3, 3)
    return F.conv2d(F.pad(img.unsqueeze(0), (1, 1, 1, 1), mode="replicate"), kernel, groups=3)[0]


def meter(img: torch.Tensor) -> torch.Tensor:
    """What a camera's evaluative metering reads from a linear frame (3 x H x W): a
    centre-weighted blend of the mean and the median luminance (a scalar tensor)."""
    _, h, w = img.shape
    lum = torch.einsum("c,chw->hw", torch.tensor(_LUMA, device=img.device, dtype=img.dtype), img)
    ys = torch.linspace(-1, 1, h, device=img.device).view(-1, 1)
    xs = torch.linspace(-1, 1, w, device=img.device).view(1, -1)
    weight = torch.exp(-(xs * xs + ys * ys) / 0.8)
    mean = (lum * weight).sum() / weight.sum()
    median = lum.flatten().median()
    return (mean.clamp_min(1e-12) ** 1.0 * median.clamp_min(1e-12) ** 0.0)


def auto_exposure(img: torch.Tensor, key: float, error_stops: float, clip_share: float) -> torch.Tensor:
    """The exposure (scalar tensor) that brings the metered level to ``key``, off by
    ``error_stops``; where that would clip more than ``clip_share`` of the pixels, highlight
    protection takes back half of the excess (in stops)."""
    exposure = key * 2.0 ** error_stops / meter(img)
    brightest = img.amax(0).flatten()
    cap = 1.0 / torch.quantile(brightest, 1 - clip_share).clamp_min(1e-12)
    return exposure * torch.minimum(cap / exposure, torch.ones_like(exposure)).sqrt()


def sensor_noise(raw: torch.Tensor, noise: torch.Tensor, iso: float, cam: CameraModel) -> torch.Tensor:
    """Shot and read noise at ``iso`` added to an exposed linear raw frame (before white
    balance); ``noise`` holds standard normal samples of the frame's shape."""
    gain = iso / 100.0
    variance = cam.shot_noise * gain * raw.clamp_min(0) + cam.read_noise * gain * gain
    return raw + variance.sqrt() * noise


def auto_white_balance(raw: torch.Tensor, keep_warmth: float, error: torch.Tensor) -> torch.Tensor:
    """Per-channel gains (3, green = 1) a camera applies to ``raw`` (3 x H x W).

    The light is estimated shades-of-grey style (p = 4) over unclipped pixels, then snapped to
    the nearest colour on the black-body / daylight locus; low colour temperatures are only
    partly corrected (up to ``keep_warmth`` of the cast is kept, as phones do for tungsten), and
    ``error`` (2: log gains of red and blue) is the estimate's residual error.
    """
    x = raw.clamp_min(0).flatten(1)
    ok = x.amax(0) < 0.95
    x = x[:, ok] if int(ok.sum()) > 16 else x
    est = (x**4).mean(1).clamp_min(1e-16) ** 0.25
    chroma = torch.stack([(est[0] / est[1]).log(), (est[2] / est[1]).log()]).cpu().float()
    ccts, table = locus_table()
    i = int(((table - chroma) ** 2).sum(-1).argmin())
    cct = float(ccts[i])
    keep = keep_warmth * min(max((4500.0 - cct) / 1800.0, 0.0), 1.0)
    log_gain = -(1.0 - keep) * table[i] + error.cpu().float()
    return torch.stack([log_gain[0].exp(), torch.tensor(1.0), log_gain[1].exp()]).to(raw.device, raw.dtype)


def tone_curve(x: torch.Tensor, contrast: float) -> torch.Tensor:
    """Camera rendering: clip, sRGB transfer, then a gentle S-curve (monotonic for contrast < 1)."""
    x = x.clamp(0, 1)
    s = torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)
    return (s - contrast * torch.sin(2 * math.pi * s) / (2 * math.pi)).clamp(0, 1)


def local_contrast(img: torch.Tensor, amount: float) -> torch.Tensor:
    """Phone-style detail boost: the luminance's difference from a coarse blur of itself,
    ``amount`` times, added to every channel (3 x H x W, display-encoded)."""
    if amount <= 0:
        return img
    lum = img.mean(0, keepdim=True).unsqueeze(0)
    _, _, h, w = lum.shape
    k = max(2, min(h, w) // 16)
    base = F.interpolate(F.avg_pool2d(lum, k, ceil_mode=True), size=(h, w), mode="bilinear", align_corners=False)
    return (img + amount * (lum - base)[0]).clamp(0, 1)


def render_output(raw: torch.Tensor, gains: torch.Tensor, cam: CameraModel) -> torch.Tensor:
    """White-balanced raw (3 x H x W) -> uint8 sRGB: highlight shoulder (phones), tone curve,
    local contrast."""
    x = (raw * gains.view(3, 1, 1)).clamp(0, 1)
    if cam.shoulder > 0:
        x = (1 + cam.shoulder) * x / (1 + cam.shoulder * x)
    y = local_contrast(tone_curve(x, cam.contrast), cam.local_contrast)
    return (y * 255).round().to(torch.uint8)


#: Raw level per unit luminous exposure (cd s/m²) at ISO 100 and f/1: the reflected-light
#: meter equation N²/t = L S / K (K = 12.5) puts a luminance L at middle grey, 0.18 = 12.5 C.
RAW_PER_EXPOSURE = 0.18 / 12.5 * 100
SHORTEST_SHUTTER = 1 / 8000
_EV_DIM = 6.0  # scene brightness (EV at ISO 100) below which phones lower their key


def raw_gain(iso: float, f_number: float) -> float:
    """Linear raw level per unit luminous exposure (cd s/m²) at ``iso`` and ``f_number``."""
    return RAW_PER_EXPOSURE * iso / 100.0 / (f_number * f_number)


def scene_ev(level: float) -> float:
    """EV at ISO 100 of a metered luminance (cd/m²): log2(L S / K)."""
    return math.log2(max(level, 1e-9) * 100 / 12.5)


def program(product: float, cam: CameraModel) -> tuple[float, float, bool]:
    """Shutter (s) and ISO realising an exposure ``product`` = shutter x ISO, the way a camera's
    programme does: base ISO up to a safe shutter (1/60 camera, 1/30 phone), then ISO up to 800,
    then the shutter up to the longest hand-held time, then ISO up to its maximum. Returns
    (shutter, ISO, limited); ``limited``: the product was out of reach (the frame comes out dark).
    """
    safe = min(1 / 30 if cam.style == "phone" else 1 / 60, cam.shutter_max)
    knee = min(max(800.0, cam.iso_base), cam.iso_max)
    base = cam.iso_base
    if product <= base * safe:
        return max(product / base, SHORTEST_SHUTTER), base, False
    if product <= knee * safe:
        return safe, product / safe, False
    if product <= knee * cam.shutter_max:
        return product / knee, knee, False
    if product <= cam.iso_max * cam.shutter_max:
        return cam.shutter_max, product / cam.shutter_max, False
    return cam.shutter_max, cam.iso_max, True


def expose_ambient(img: torch.Tensor, cam: CameraModel, error: float) -> tuple[float, dict]:
    """Auto-exposure of a frame lit by the ambient light alone (``img``: luminance, cd/m²,
    3 x H x W), within the device's limits. Phones lower their key in dim scenes (a dim room
    should look dim). Returns the raw level per cd/m² and the camera's choices."""
    level = float(meter(img))
    ev = scene_ev(level)
    key = cam.key * 2.0 ** (-cam.dim_key * min(max(_EV_DIM - ev, 0.0), 5.0))
    wanted = float(auto_exposure(img, key, error, cam.clip_share))
    per_product = raw_gain(1.0, cam.f_number)  # raw per cd/m² per (s x ISO)
    shutter, iso, limited = program(wanted / per_product, cam)
    exposure = shutter * iso * per_product
    return exposure, {"shutter": shutter, "iso": iso, "limited": limited, "ev": ev, "key": key,
                      "under_stops": math.log2(wanted / exposure) if limited else 0.0}


def expose_flash_photo(amb: torch.Tensor, fl: torch.Tensor, cam: CameraModel, error: float) -> tuple[torch.Tensor, dict]:
    """The flash photograph a photographer takes: ambient luminance ``amb`` (cd/m²) and flash
    luminous exposure per unit flash output ``fl`` (cd s/m² per cd s), both 3 x H x W, in one
    frame at the flash shutter. Cameras set the ISO (auto, up to ``iso_flash_max``) to expose
    the ambient part ``flash_ambient`` stops under the key in dim light (a quarter stop in
    bright light, where the flash only fills), then meter the flash power (TTL,
    1/64 to full) so that the frame reaches the key; phones fire the LED at full power and set
    the ISO (and, in bright light, the shutter) for the whole. Returns the exposed linear frame
    and the choices."""
    target = cam.key * 2.0**error
    shutter = cam.shutter_flash
    full = 2.5 * cam.flash_gn**2  # cd s: the guide number's E t = 2.5 N² lux s at ISO 100
    per = raw_gain(1.0, cam.f_number)  # raw per cd s/m² per ISO
    ma, mf = float(meter(amb)), float(meter(fl))
    if cam.ttl:
        # dim: the ambient part ``flash_ambient`` stops under (the flash is the main light);
        # bright (EV 8 and up): the ambient part near the key, the flash a little fill
        under = max(cam.flash_ambient * min(max((8.0 - scene_ev(ma)) / 2.0, 0.0), 1.0), 0.25)
        iso = target * 2.0 ** (-under) / max(ma * shutter * per, 1e-12)
        if iso < cam.iso_base:  # bright room: base ISO, a shorter shutter (down to sync 1/250)
            shutter = max(shutter * iso / cam.iso_base, 1 / 250)
            iso = cam.iso_base
        iso = min(iso, cam.iso_flash_max)
        reach = (ma * shutter + full * mf) * per * iso
        if reach < target:  # the flash cannot light the scene at this ISO: raise it
            iso = min(iso * target / max(reach, 1e-12), cam.iso_flash_max)
        least = (ma * shutter + full / 64 * mf) * per * iso
        if least > target:  # even the least flash is too much at this ISO: lower it
            iso = max(iso * target / least, cam.iso_base)
        a, f1 = ma * shutter * per * iso, mf * per * iso
        power = min(max((target - a) / max(f1, 1e-12), full / 64), full)
    else:
        power = full
        product = target / max((ma * shutter + full * mf) * per, 1e-12)  # ISO at the flash shutter
        iso = min(max(product, cam.iso_base), cam.iso_flash_max)
        if product < cam.iso_base:  # an LED burns as long as the shutter is open: both parts scale
            shutter *= product / cam.iso_base
            power *= product / cam.iso_base
    frame = (amb * shutter + power * fl) * per * iso
    q = float(torch.quantile(frame.amax(0).flatten(), 1 - cam.clip_share))
    if q > 1:  # highlight protection: the pre-flash saw the hot spot (half the excess, in stops)
        shrink = q**-0.5
        if cam.ttl:
            new = max(power * shrink, full / 64)
            frame = frame + (new - power) * fl * per * iso
            power = new
        else:
            new_iso = max(iso * shrink, cam.iso_base)
            frame, iso = frame * new_iso / iso, new_iso
    limited = power >= full * 0.999 and iso >= cam.iso_flash_max * 0.999
    return frame, {"flash_part": power * fl * per * iso, "shutter": shutter, "iso": iso, "flash_power": power / full, "limited": limited,
                   "ambient_share": float(meter(amb * shutter * per * iso) / meter(frame).clamp_min(1e-12))}


def expose_flash_only(fl: torch.Tensor, cam: CameraModel, error: float) -> tuple[torch.Tensor, float, dict]:
    """A FAID-style flash-only frame (the flash's light alone, the ambient removed), auto-exposed
    on its own: the LED at full power, ISO up to ``iso_flash_max`` at the flash shutter, the rest
    as digital gain. Returns the exposed frame, that digital gain, and the choices."""
    full = 2.5 * cam.flash_gn**2
    per = raw_gain(1.0, cam.f_number)
    wanted = float(auto_exposure(fl * full, cam.key, error, cam.clip_share))  # raw per cd s/m²
    iso = min(max(wanted / per, cam.iso_base), cam.iso_flash_max)
    gain = max(wanted / (per * iso), 1.0)
    shutter = cam.shutter_flash * min(wanted / (per * iso), 1.0)  # a near subject: a shorter LED burst
    return fl * full * wanted, gain, {"shutter": shutter, "iso": iso, "digital_gain": gain,
                                      "flash_power": 1.0, "limited": gain > 1.001}


def ambient_warmth(cam: CameraModel, ev: float) -> float:
    """Share of a warm cast the ambient frame's white balance keeps at scene brightness ``ev``:
    ``keep_warmth`` in a bright room (EV 6.5 and up), plus up to ``keep_warmth_dim`` as the room
    gets dim (EV 2 and below), as phones keep dim lamp light warm."""
    return cam.keep_warmth + cam.keep_warmth_dim * min(max((6.5 - ev) / 4.5, 0.0), 1.0)


def denoise(raw: torch.Tensor, cam: CameraModel, iso: float) -> torch.Tensor:
    """Phone noise reduction: a blend towards a 3x3 blur of the raw frame, stronger at high ISO
    (``cam.denoise`` at ISO 3200), more for colour than for luminance."""
    amount = cam.denoise * min(max(math.log2(iso / 100) / 5, 0.0), 1.0)
    if amount <= 0:
        return raw
    smooth = soften(soften(raw))
    lum = raw.mean(0, keepdim=True)
    smooth_lum = smooth.mean(0, keepdim=True)
    chroma = (raw - lum) + amount * ((smooth - smooth_lum) - (raw - lum))
    return lum + 0.6 * amount * (smooth_lum - lum) + chroma


def develop(exposed: torch.Tensor, noise: torch.Tensor, iso: float, keep_warmth: float, awb_error: torch.Tensor,
            cam: CameraModel, digital_gain: float = 1.0, wb_source: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """One exposed frame (linear raw, 3 x H x W, noise-free) -> uint8 sRGB: sensor noise at
    ``iso`` (before any ``digital_gain``), phone noise reduction, auto white balance (estimated
    from ``wb_source``, by default the frame), tone curve. Returns the image and the
    white-balance gains and noisy raw."""
    raw = sensor_noise(exposed / digital_gain, noise, iso, cam) * digital_gain
    if cam.style == "phone":
        raw = denoise(raw, cam, iso * digital_gain)
    gains = auto_white_balance(exposed if wb_source is None else wb_source, keep_warmth, awb_error)
    return render_output(raw, gains, cam), {"wb_gains": gains, "raw": raw}
