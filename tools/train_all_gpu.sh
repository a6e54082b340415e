#!/usr/bin/env bash
# One prepared call on a GPU machine without network (Python 3.12, torch
# with CUDA): install the carried mmengine wheels into a private folder,
# run tools/train_all.py --protocol cross --device cuda within BUDGET
# minutes of training, and copy what should come back (the fp16 weights,
# the plan, the times, the log) into $OUT. VARIANTS names the stage-2
# variants to run too (default both, see tools/train_all.py
# --stage2-variants; empty for none); the best on validation is handed
# on. The TNO-42 scoring runs where the published fusions are
# (tools/train_all.py again, or make_report).
#
#   OUT=/path/back BUDGET=6 bash tools/train_all_gpu.sh
#   (checked on a CPU: OUT=/tmp/back PYTHON=.venv/bin/python DEVICE=cpu
#    EXTRA=--smoke bash tools/train_all_gpu.sh)
#
# Needs in the repository copy: .whl/py312/ (tools/pack_wheels.py) and the
# training data under data/ (roadscene221/{vi,ir}, kaist_sample/images).
# docs/training.md, "One command", has the preparation.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to the folder whose files come back}
BUDGET=${BUDGET:-6}
VARIANTS=${VARIANTS-pull_push_only as_described}
SITE=${SITE:-/tmp/msfam_site}
WORK=${WORK:-work_dirs/train_all/cross_cuda}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target "$SITE" .whl/py312/*.whl
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv || true
set +e
# shellcheck disable=SC2086  # VARIANTS, EXTRA: word lists, split
"$PYTHON" tools/train_all.py --protocol cross --device "$DEVICE" \
    --budget-minutes "$BUDGET" --data-root data/ --work-dir "$WORK" \
    --skip-report --stage2-variants $VARIANTS ${EXTRA:-} 2>&1 \
    | tee "$OUT/train_all.log"
rc=${PIPESTATUS[0]}
set -e
for f in "$WORK/plan.json" "$WORK/summary.json" "$WORK"/export/*.pth; do
    if [ -f "$f" ]; then cp "$f" "$OUT/"; fi
done
exit "$rc"
