"""Run-folder files: inference weights (safetensors + JSON sidecar) and the resumable
training state (plain tensors and containers only, read back with ``weights_only=True``)."""

from __future__ import annotations

import io
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from flashcli import __version__
from flashcli.errors import FlashcliError
from flashcli.io.fsutil import atomic_write_bytes
from flashcli.runtime.lazy import lazy_module
from flashcli.weights import save_weights, torch_load_untrusted

if TYPE_CHECKING:
    import torchvision
else:  # only its version is read, and importing it takes seconds
    torchvision = lazy_module("torchvision")

STATE = "state.pt"
LAST = "last"
BEST = "best"


def versions() -> dict[str, str]:
    """Versions recorded with every checkpoint."""
    return {"flashcli": __version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version()}


def save_inference(run: Path, name: str, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """``run/<name>.safetensors`` + ``run/<name>.json`` (loadable by ``--weights RUN``)."""
    return save_weights(run / f"{name}.safetensors", state, meta)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _rng_problem(state: Any) -> str | None:
    """Why ``state`` is not an RNG state this torch can restore (None when it is)."""
    if not isinstance(state, dict):
        return "rng"
    cpu = state.get("cpu")
    ref = torch.get_rng_state()
    if not isinstance(cpu, torch.Tensor) or cpu.dtype != torch.uint8 or cpu.shape != ref.shape:
        return "rng.cpu"
    cuda = state.get("cuda")
    if cuda is not None and not (isinstance(cuda, (list, tuple)) and all(
            isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.ndim == 1 for t in cuda)):
        return "rng.cuda"
    return None


def set_rng_state(state: dict[str, Any]) -> None:
    bad = _rng_problem(state)
    if bad:
        raise FlashcliError(f"the saved random state is malformed ({bad}); start a new run")
    try:
        torch.set_rng_state(state["cpu"])
        cuda = state.get("cuda")
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise FlashcliError(f"the saved random state cannot be restored ({exc}); start a new run") from None


def save_state(run: Path, state: dict[str, Any]) -> Path:
    """Write the resumable training state atomically (``run/state.pt``)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(run / STATE, buf.getvalue())
    return run / STATE


def load_state(run: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read ``RUN/state.pt`` safely (tensors and plain containers only); a one-line error
    when it is missing, damaged, malformed or would run code."""
    path = Path(run).expanduser()
    path = path / STATE if path.is_dir() else path
    if not path.is_file():
        raise FlashcliError(f"{path}: no training state here; --resume takes a run folder written by flashcli train")
    state = torch_load_untrusted(path, map_location,
                                 unreadable_hint="resume from a run whose state.pt is intact")
    expected = {"config": dict, "modules": dict, "optimizers": dict, "rng": dict,
                "epoch": int, "step": int, "batch_in_epoch": int}
    bad = [k for k, kind in expected.items() if not isinstance(state, dict) or not isinstance(state.get(k), kind)]
    if not bad and not all(isinstance(v, dict) for v in state["modules"].values()):
        bad = ["modules"]
    if not bad and _rng_problem(state["rng"]):
        bad = [_rng_problem(state["rng"])]
    if not bad and min(state["epoch"], state["step"], state["batch_in_epoch"]) < 0:
        bad = ["epoch/step"]
    if bad:
        raise FlashcliError(f"{path}: not a flashcli training state (missing or malformed: "
                            f"{', '.join(bad)}); resume from a run folder written by flashcli train")
    return state
