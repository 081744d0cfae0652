"""Shared by the benchmark scripts: a device label and the JSON report writer."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any


def device_label(device: Any) -> str:
    """The GPU's name, or the CPU's."""
    import torch  # here: peak.py imports this module and must not import torch itself

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def peak_rss_mib() -> float:
    """This process's own peak resident memory, MiB.

    ``VmHWM`` (Linux) is the high-water mark of the process's address space, which ``exec``
    starts afresh. ``ru_maxrss`` is not: a child keeps the RSS its parent had at ``fork``
    (a parent that imported torch adds about 0.5 GB to every child it starts), so it is only
    the fallback where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


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
