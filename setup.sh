#!/usr/bin/env bash
# One-command setup: creates .venv/ and installs msfam_mm with its full
# OpenMMLab stack on a CPU machine (Python 3.11): the fusion core and the
# detection layer (mmdet, compiled mmcv), which the tests need. Fusion only:
# pip install -e . (README).
#   bash setup.sh
# Environment knobs:
#   VENV=path           where to create the virtual environment (default .venv)
#   PYTHON=python3.11   interpreter used to create it
#   TORCH_INDEX_URL=... a PyTorch wheel index for a CUDA build, e.g.
#                       https://download.pytorch.org/whl/cu126 (GPU machines)
#   FORCE_CUDA=1        compile mmcv's CUDA ops too (GPU machines, needs nvcc)
# The first run compiles mmcv 2.1.0 (13 min 47 s measured on 2 idle cores);
# pip caches the wheel, so later runs take a few minutes.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# 1. torch first (CPU wheel) plus what mmcv's build needs; setuptools>=81 has
#    no pkg_resources, which mmcv's setup.py imports.
$PIP install -q "torch==2.13.0" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
$PIP install -q "setuptools<81" wheel ninja
# 2. mmcv with compiled ops, built against that torch (mmdet imports mmcv._ext).
#    A flat constraints file: pip reads "-r" lines inside a "-c" file as
#    requirements, so requirements.txt (which includes requirements/) is not.
if ! "$VENV/bin/python" -c "import mmcv, mmcv._ext" 2>/dev/null; then
    MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
        $PIP install --no-build-isolation "mmcv==2.1.0" \
        -c requirements/detection.txt
fi
# 3. everything else (requirements.txt: the fusion core and the detection
#    layer, requirements/), then the package itself (editable).
$PIP install -q -r requirements.txt -r requirements-test.txt
$PIP install -q --no-build-isolation --no-deps -e .
"$VENV/bin/python" -c "import msfam_mm, mmdet, mmcv._ext; print('msfam_mm', msfam_mm.__version__, '| mmdet', mmdet.__version__, '| mmcv ops OK')"
