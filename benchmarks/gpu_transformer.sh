#!/usr/bin/env bash
# s4.transformer at `--scale full` on one CUDA GPU, within 10 minutes on an H200-class card:
# the reference checks, then a 6-block decoder (≈ 10 M parameters) and the s3.poetry LSTM
# (full recipe) each trained for 3 minutes on every cleaned Tang poem, and every held-out
# regulated poem continued by both and scored (BLEU-3 both protocols, form, copying).
#
#   benchmarks/gpu_transformer.sh prepare    # here, online: wheels + tang-poems into .gpu/
#   benchmarks/gpu_transformer.sh [OUT]      # on the GPU machine, offline: writes OUT/s4.transformer.json
#   SCALE=smoke benchmarks/gpu_transformer.sh /tmp/gpu   # the same steps on a CPU in a minute
#
# The run goes through `python -m benchmarks.direct` (no MLflow there), so the LSTM is
# trained in the run (lstm.source=train) rather than taken from a registry.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu
WHEELS="hydra-core omegaconf pydantic pydantic-core pydantic-settings python-dotenv typing-inspection
annotated-types opencc-python-reimplemented"

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
  mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  pins=$(for name in $WHEELS; do echo "$name==$($python -c "import importlib.metadata as m; print(m.version('$name'))")"; done)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  rm -rf "$GPU_DIR/data/tang-poems" && cp -r "$data_root/tang-poems" "$GPU_DIR/data/"
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-transformer}}
SCALE=${SCALE:-full}
PY=${PYTHON:-python3}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
if [ -d "$GPU_DIR/wheels" ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/roadmap-site "$GPU_DIR"/wheels/*.whl
  export PYTHONPATH="/tmp/roadmap-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$GPU_DIR/data" ]; then
  export ROADMAP_DATA_HOME="$PWD/$GPU_DIR/data"
else
  ROADMAP_DATA_HOME=$($PY -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  export ROADMAP_DATA_HOME
fi
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

started=$SECONDS
id=s4.transformer
rm -rf "${OUT:?}/$id"
# 2 × 180 s of training, the corpus cache (first run: ≈ 1 minute of OpenCC) and the
# scoring of ≈ 1 800 held-out poems per model fit in the 570 s limit
if timeout 570 $PY -m benchmarks.direct "$id" --scale "$SCALE" --out "$OUT/$id" \
    lstm.source=train > "$OUT/$id.json" 2> "$OUT/$id.log"; then
  echo "$id: done in $((SECONDS - started)) s"
else
  echo "$id: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/$id.log"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
try:
    r = json.loads((out / "s4.transformer.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit("s4.transformer did not finish (see s4.transformer.log)")
m = r["metrics"]
print(f"device: {r.get('device', {}).get('gpu', 'CPU')}; checks_failed {m['checks_failed']:.0f}\n")
print("| figure | transformer | lstm |\n|---|---|---|")
for k in ("val_perplexity", "test_perplexity", "bleu3", "bleu3_strict", "form_correct_rate",
          "copied_line_fraction", "distinct_2", "parameters", "train_seconds", "train_epochs"):
    print(f"| {k} | {m['transformer_' + k]:.4g} | {m['lstm_' + k]:.4g} |")
PY
