"""Shared by the benchmark scripts: a device label and the JSON report writer."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch


def device_label(device: torch.device | str) -> str:
    """The GPU's name, or the CPU's."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def emit(report: Any, out: str | Path | None = None) -> None:
    """Write ``report`` as JSON to ``out`` (atomically via rename) or to stdout."""
    text = json.dumps(report, indent=2, default=str) + "\n"
    if out:
        out = Path(out)
        tmp = out.with_name(f".{out.name}.part")
        tmp.write_text(text)
        tmp.replace(out)
    else:
        sys.stdout.write(text)
