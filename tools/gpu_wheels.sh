#!/usr/bin/env bash
# Wheels for tools/gpu_job.sh: the model library's dependencies that a CUDA image with torch, timm, numpy,
# OpenCV and PyYAML lacks, for CPython 3.12 on x86-64 Linux, into .whl/ (git-ignored; carried with the tree).
#
#   bash tools/gpu_wheels.sh [PYTHON_VERSION]      # default 3.12
#
# Run where pip reaches a registry. POT's wheel is 33 MB, almost all of it the compiled `ot.bsp` solver that
# mm_tracker never calls; the wheel is rewritten without it (its import then raises on use), so that the tree,
# these wheels and one training pack fit the 64 MiB that travels to a GPU machine (about 9 MB of wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-3.12}
rm -rf .whl && mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$VERSION" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl \
  pot==0.9.7.post1 rosbags==0.11.9 mcap==1.6.0 lz4==4.4.5 zstandard==0.25.0 ruamel.yaml==0.19.1 \
  backports.zstd==1.8.0 apsw==3.54.1.0 safetensors==0.8.0
python3 - <<'EOF'
import pathlib
import zipfile

STUB = b'''"""Stripped from this wheel by mm_tracker's tools/gpu_wheels.sh (the compiled solver is not used)."""


def compute_bspot_bijection(*args, **kwargs):
    raise ImportError("ot.bsp was stripped from this POT wheel (tools/gpu_wheels.sh)")


merge_bijections = compute_bspot_bijection
__all__ = ["compute_bspot_bijection", "merge_bijections"]
'''
(wheel,) = pathlib.Path(".whl").glob("pot-*.whl")
trimmed = wheel.with_suffix(".trimmed")
with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as target:
    for item in source.infolist():
        if item.filename.startswith("ot/bsp/") and item.filename != "ot/bsp/__init__.py":
            continue
        data = STUB if item.filename == "ot/bsp/__init__.py" else source.read(item)
        target.writestr(item, data)
trimmed.replace(wheel)
print(f"{wheel.name}: ot.bsp stripped, {wheel.stat().st_size / 2**20:.1f} MiB")
EOF
du -ch .whl/*.whl | tail -1
