"""The mutation check (.ci/mutation.py) stays runnable: every mutation's text is still in its
file, once, so a refactor cannot silently retire one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_mutation_still_applies():
    r = subprocess.run([sys.executable, str(ROOT / ".ci" / "mutation.py"), "--check"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mutations apply" in r.stdout
