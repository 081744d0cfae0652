"""Run ``python -m MODULE ARGS...`` in this process and write its peak RSS (MiB) to a file.

    python benchmarks/peak.py PEAK_FILE -m flashcli relight DIR -o OUT --json

The parent's ``os.wait4`` usage would report ``ru_maxrss``, which a child inherits from its
parent's RSS at fork; this reads the child's own high-water mark instead (see
``common.peak_rss_mib``). Written at exit, so ``sys.exit`` and errors are covered.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

from common import peak_rss_mib  # benchmarks/ is sys.path[0] when run as a script


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit("usage: peak.py PEAK_FILE -m MODULE [ARGS...]")
    out, module = Path(sys.argv[1]), sys.argv[3]
    atexit.register(lambda: out.write_text(f"{peak_rss_mib():.1f}\n"))
    sys.argv = [module, *sys.argv[4:]]
    sys.path[0] = os.getcwd()  # the module sees the path it would see under `python -m`
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
