"""The 13 convolutions of VGG-16 as an encoder that returns the output of each block.

The layers are those of torchvision's ``vgg16().features`` (VGG-16's configuration, in
the same order), so a torchvision ``vgg16`` state dict loads unchanged at width 1.0. The last max-pool is dropped (no pool after block 5) and
the pools use ``ceil_mode`` so that every odd size decodes back exactly (identical to
torchvision's pools on even sizes; pools hold no weights).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from flashcli.errors import FlashcliError
from flashcli.io.fsutil import is_regular, not_regular_reason
from flashcli.runtime.lazy import lazy_module
from flashcli.weights import is_safetensors, torch_load_untrusted

if TYPE_CHECKING:
    import safetensors.torch as safetensors_torch
    import torchvision.models as torchvision_models
else:  # torchvision takes seconds to import: only to download the ImageNet weights
    safetensors_torch = lazy_module("safetensors.torch")
    torchvision_models = lazy_module("torchvision.models")

#: ImageNet statistics the pretrained VGG-16 expects its input normalised with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1."""
    return max(1, int(round(channels * width)))


def vgg16_channels(width: float = 1.0) -> list[int]:
    """Output channels of the five VGG-16 blocks (64, 128, 256, 512, 512 at width 1.0)."""
    return [scaled(c, width) for c in (64, 128, 256, 512, 512)]


#: VGG-16's configuration ("D"): output channels of each 3x3 convolution, "M" a 2x2 pool.
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M")


def _vgg16_layers(width: float) -> list[nn.Module]:
    """The layers of torchvision's ``vgg16().features`` in the same order (so the same
    state-dict indices), built here: importing torchvision takes seconds."""
    layers: list[nn.Module] = []
    channels = 3
    for c in VGG16_CONFIG:
        if c == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out = scaled(int(c), width)
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = out
    return layers


class VGG16Encoder(nn.Module):
    """VGG-16's convolution stack; ``forward`` returns the 5 block outputs (post-ReLU).

    ``normalize``: subtract the ImageNet mean and divide by its std first (inputs in [0, 1]),
    as the pretrained weights expect. State-dict keys are ``features.<i>.weight/bias`` as in
    torchvision's ``vgg16``.
    """

    def __init__(self, width: float = 1.0, normalize: bool = True) -> None:
        super().__init__()
        if width <= 0:
            raise FlashcliError(f"width={width}: must be positive, e.g. 1.0 or 0.25")
        self.width = width
        self.normalize = normalize
        layers = _vgg16_layers(width)[:-1]  # no pool after block 5
        for layer in layers:
            if isinstance(layer, nn.MaxPool2d):
                layer.ceil_mode = True
            elif isinstance(layer, nn.Conv2d) and not layer.weight.is_meta:
                # torchvision's VGG initialisation (on the meta device it would import
                # torch's compiler, seconds, for tensors that hold nothing)
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)
        self.features = nn.Sequential(*layers)
        self.channels = vgg16_channels(width)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.normalize:
            x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        skips = []
        for layer in self.features:
            if isinstance(layer, nn.MaxPool2d):
                skips.append(x)
            x = layer(x)
        skips.append(x)
        return skips


def _features_only(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keep the ``features`` part of a vgg16 state dict (full model or features only)."""
    out = {}
    for key, value in state.items():
        if key.startswith("features."):
            out[key] = value
        elif key.split(".", 1)[0].isdigit():
            out["features." + key] = value
    return out


def read_vgg16_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a torchvision vgg16 state dict (``.pth``/``.pt`` or ``.safetensors``) safely."""
    p = Path(path).expanduser()
    if not is_regular(p):  # a FIFO would block the reader
        why = not_regular_reason(p) or "not a regular file"
        if why.startswith("no such file"):
            raise FlashcliError(f"{p}: VGG-16 weights file not found; pass an existing file to --opt vgg_weights=FILE, or leave it out")
        raise FlashcliError(f"{p}: {why}")
    hint = "save one with torch.save(torchvision.models.vgg16(...).state_dict(), FILE)"
    if p.suffix == ".safetensors" or is_safetensors(p):  # by content, whatever the name
        try:
            state = safetensors_torch.load_file(str(p))
        except Exception as exc:  # truncated or foreign files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FlashcliError(f"{p}: not a readable vgg16 state dict ({first}); {hint}") from None
    else:  # refuses pickles that would run code; one line for damaged files
        state = torch_load_untrusted(p, "cpu", unreadable_hint=hint)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    feats = _features_only(state) if isinstance(state, dict) else {}
    if not feats:
        raise FlashcliError(f"{p}: no VGG-16 'features.*' weights in this file; "
                            "pass a torchvision vgg16 state dict")
    return feats


def load_imagenet_vgg16() -> dict[str, torch.Tensor]:
    """torchvision's ImageNet VGG-16 weights from the torch hub cache, else downloaded.

    Offline (no cache, no network) this fails at once with a one-line ``FlashcliError``.
    """
    url = torchvision_models.VGG16_Weights.IMAGENET1K_V1.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    fix = "pass --opt vgg_weights=FILE (a torchvision vgg16 state dict on disk) or --no-pretrained"
    if cached.is_file():
        try:
            return _features_only(torch.load(cached, map_location="cpu", weights_only=True))
        except Exception:
            raise FlashcliError(f"{cached}: unreadable cached VGG-16 weights; delete it, or {fix}") from None
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False, check_hash=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FlashcliError(f"ImageNet VGG-16 weights are not available offline (download failed: "
                            f"{first}): {fix}") from None
    finally:
        socket.setdefaulttimeout(old)
    return _features_only(state)


def init_vgg16_encoder(encoder: VGG16Encoder, pretrained: bool | None = None,
                       vgg_weights: str | Path | None = None) -> str:
    """Initialise ``encoder`` for training; return where its weights came from.

    ``vgg_weights`` (a file) wins; else ``pretrained`` True loads ImageNet weights, False
    keeps the random initialisation and None (auto) means pretrained at width 1.0 only.
    Pretrained weights exist only at width 1.0: asking for them narrower is an error.
    """
    if vgg_weights is None and pretrained is False:
        return "scratch"
    if vgg_weights is None and pretrained is None and encoder.width != 1.0:
        return "scratch"
    if encoder.width != 1.0:
        raise FlashcliError(f"pretrained VGG-16 weights exist only at width 1.0 (this encoder has width "
                            f"{encoder.width}); use --no-pretrained or --opt width=1.0")
    if vgg_weights is not None:
        state, source = read_vgg16_file(vgg_weights), f"file:{vgg_weights}"
    else:
        state, source = load_imagenet_vgg16(), "imagenet"
    try:
        encoder.load_state_dict(state)
    except RuntimeError as exc:
        where = vgg_weights or "ImageNet weights"
        first = str(exc).strip().splitlines()[0]
        raise FlashcliError(f"{where}: does not fit VGG-16's convolutions ({first}); "
                            "pass a torchvision vgg16 state dict") from None
    return source
