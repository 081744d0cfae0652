"""Shared test setup for tests/ and every plugin's tests/: CPU by default, GPU tests
skipped without CUDA, no network, a fresh plugin registry per test. Helpers in tests/
(photo factories, the SciPy stencil reference) are importable from every test folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

_TESTS = str(Path(__file__).parent / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


def pytest_addoption(parser):
    parser.addoption("--device", default=os.environ.get("FLASHCLI_TEST_DEVICE", "cpu"),
                     help="device for tests that take the `device` fixture: cpu, cuda or cuda:N "
                          "(default: $FLASHCLI_TEST_DEVICE, else cpu)")


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    """The device chosen with --device (or FLASHCLI_TEST_DEVICE); skips when CUDA is absent."""
    dev = torch.device(request.config.getoption("--device"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.skip(f"--device {dev}: no CUDA here")
    return dev


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Test tensors are tiny: one thread is as fast, and steady on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _no_download(monkeypatch):
    """Fail loudly if anything tries to fetch model weights during tests."""
    import torch.hub

    def refuse(*args, **kwargs):
        raise RuntimeError("tests must not download anything")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture(autouse=True)
def _fresh_registry():
    """Every test sees the plugin registry loaded from the current environment."""
    from flashcli import plugins

    plugins.reset()
    yield
    plugins.reset()
