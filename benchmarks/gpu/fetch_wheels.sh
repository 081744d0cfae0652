#!/usr/bin/env bash
# Download, here (with network), the wheels the GPU machine lacks into .whl/ (gitignored).
# That machine: x86-64, CPython 3.12, no network; torch and numpy are already there.
# Carry .whl along with the working tree; benchmarks/gpu/run.sh installs from it offline.
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${PYTHON:-python3}"
platforms=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)
args=(--no-deps --only-binary=:all: --python-version "${PYVER:-3.12}" --implementation cp -d .whl)
for p in "${platforms[@]}"; do args+=(--platform "$p"); done
# rawpy needs numpy (present there); exifread needs nothing.
"$python" -m pip download -q "${args[@]}" "rawpy>=0.19" "exifread>=3.0"
ls -l .whl/
