"""Pick the torch device from ``--device auto|cpu|cuda|cuda:N``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flashcli.errors import UsageError
from flashcli.runtime.lazy import lazy_module

if TYPE_CHECKING:
    import torch
else:
    torch = lazy_module("torch")


def check_device_spec(spec: object) -> None:
    """Refuse a device text that can never be valid (without importing torch)."""
    if not isinstance(spec, str):
        return
    text = spec.strip().lower()
    index = text.partition(":")[2]
    if text in ("", "auto", "cpu", "cuda") or (text.startswith("cuda:") and index.isdigit()):
        return
    raise UsageError(f"--device {spec}: unknown device; use auto, cpu, cuda or cuda:N")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``auto`` means CUDA when available, else the CPU."""
    if spec is not None and not isinstance(spec, str):
        return spec  # a torch.device already
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {spec}: CUDA is not available here; use --device cpu or auto")
        index = spec.partition(":")[2]
        if index:
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UsageError(
                    f"--device {spec}: no such GPU (found {torch.cuda.device_count()}); use cuda:0..cuda:{torch.cuda.device_count() - 1}"
                )
        return torch.device(spec)
    raise UsageError(f"--device {spec}: unknown device; use auto, cpu, cuda or cuda:N")
