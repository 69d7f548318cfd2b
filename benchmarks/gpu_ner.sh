#!/usr/bin/env bash
# s4.ner at full scale on one CUDA GPU, within 10 minutes on an H200-class card: skip-gram
# tables on the GPU (≤ 2 × 60 s), then three BiLSTM-CRFs (pretrained / random / characters
# only) of ≤ 130 s each, every train sentence, early stopping on dev F1, all test sentences
# scored on the GPU.
#
#   benchmarks/gpu_ner.sh prepare    # here, online: the pulled dataset into .gpu-ner/data
#   benchmarks/gpu_ner.sh [OUT]      # on the GPU machine, offline: writes OUT/s4.ner.json
#   DEVICE=cpu benchmarks/gpu_ner.sh /tmp/ner   # the same steps on a CPU (slow)
#
# The GPU box needs torch, numpy, omegaconf/hydra-core, pydantic-settings, matplotlib and
# seqeval (the scorer check); no MLflow: benchmarks.direct runs the milestone without the
# tracking store and leaves the model folder under OUT (register it here with
# `roadmap run s4.ner --scale full` if you want `roadmap ner` to use it).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu-ner

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx "/$GPU_DIR/" .git/info/exclude 2>/dev/null || echo "/$GPU_DIR/" >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/data"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  [ -d "$data_root/people-daily-ner" ] || $python -m ai_roadmap data pull people-daily-ner
  cp -r "$data_root/people-daily-ner" "$GPU_DIR/data/"
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-ner}}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
[ -d "$GPU_DIR/data" ] && export ROADMAP_DATA_HOME="$PWD/$GPU_DIR/data"
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

started=$SECONDS
rm -rf "${OUT:?}/s4.ner"
if timeout 570 $PY -m benchmarks.direct s4.ner --scale full --out "$OUT/s4.ner" \
    "train.device=$DEVICE" > "$OUT/s4.ner.json" 2> "$OUT/s4.ner.log"; then
  echo "s4.ner: done in $((SECONDS - started)) s"
else
  echo "s4.ner: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/s4.ner.log"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
try:
    r = json.loads((out / "s4.ner.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit("s4.ner did not finish (see s4.ner.log)")
m = r["metrics"]
print(f"device: {r['device'].get('gpu', 'CPU')}; f1 {m['f1']:.4f} (bar > 0.92); "
      f"checks_failed {m['checks_failed']:.0f}\n")
print("| model | dev F1 | test P | test R | test F1 | PER F1 | LOC F1 | ORG F1 |")
print("|---|---|---|---|---|---|---|---|")
for name in sorted({k[: -len('_dev_f1')] for k in m if k.endswith("_dev_f1") and k != "dev_f1"}):
    t = f"{name}_test_"
    print(f"| {name} | {m[name + '_dev_f1']:.4f} | {m[t + 'precision']:.4f} | "
          f"{m[t + 'recall']:.4f} | {m[t + 'f1']:.4f} | "
          + " | ".join(f"{m.get(t + k + '_f1', 0.0):.4f}" for k in ("PER", "LOC", "ORG")) + " |")
PY
