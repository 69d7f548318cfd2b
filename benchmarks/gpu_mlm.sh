#!/usr/bin/env bash
# s4.mlm at `--scale full` on one CUDA GPU, within 10 minutes on an H100/H200-class card:
# the whole offline corpus (24 M classical + 4.1 M news/review characters), a 20 M-parameter
# RoBERTa (d 512, 6 layers, blocks of 256) in bf16, phase caps 300 s + 150 s.
#
#   benchmarks/gpu_mlm.sh prepare    # here, online: wheels + datasets into .gpu-mlm/ (≈ 70 MB)
#   benchmarks/gpu_mlm.sh [OUT]      # on the GPU machine, offline: writes OUT/s4.mlm.json
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_mlm.sh /tmp/mlm   # the same steps on a CPU
#
# The run goes through `python -m benchmarks.direct` (no MLflow there); the encoder folder
# (HF `save_pretrained` + model card) stays in OUT/s4.mlm/model. OUT/summary.md is the table
# to quote. Not run yet: no GPU was lent when this script was written.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu-mlm
# what s4.mlm imports that a CUDA image with PyTorch may lack, at the versions installed here
WHEELS="hydra-core omegaconf pydantic pydantic-core pydantic-settings python-dotenv typing-inspection
annotated-types transformers tokenizers accelerate safetensors huggingface-hub hf-xet regex
pyyaml tqdm filelock fsspec packaging psutil typer click rich shellingham"

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx "/$GPU_DIR/" .git/info/exclude 2>/dev/null || echo "/$GPU_DIR/" >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  pins=$(for name in $WHEELS; do
    v=$($python -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null) && echo "$name==$v"
  done)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  for name in classical-corpus modern-news; do cp -r "$data_root/$name" "$GPU_DIR/data/"; done
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-mlm}}
SCALE=${SCALE:-full}
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python3}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
if [ -d "$GPU_DIR/wheels" ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/roadmap-site "$GPU_DIR"/wheels/*.whl
  export PYTHONPATH="/tmp/roadmap-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$GPU_DIR/data" ]; then
  export ROADMAP_DATA_HOME="$PWD/$GPU_DIR/data"
else  # the datasets `roadmap data pull` put on this machine
  ROADMAP_DATA_HOME=$($PY -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  export ROADMAP_DATA_HOME
fi
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

started=$SECONDS
rm -rf "${OUT:?}/s4.mlm"
if timeout 570 $PY -m benchmarks.direct s4.mlm --scale "$SCALE" --out "$OUT/s4.mlm" \
    "device=$DEVICE" > "$OUT/s4.mlm.json" 2> "$OUT/s4.mlm.log"; then
  echo "s4.mlm: done in $((SECONDS - started)) s"
else
  echo "s4.mlm: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/s4.mlm.log"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
try:
    r = json.loads((out / "s4.mlm.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit("s4.mlm did not finish (see s4.mlm.log)")
m = r["metrics"]
print(f"device: {r['device'].get('gpu', 'CPU')}, torch {r['device'].get('torch')}; "
      f"scale {r['scale']}; checks_failed {m['checks_failed']:.0f}; wall {r['duration_s']} s\n")
print("| figure | value |\n|---|---|")
for k in ("mlm_loss", "mlm_perplexity", "news_loss_before", "news_loss_gain",
          "classical_loss_phase1", "classical_loss_final", "tokens_seen_classical",
          "tokens_seen_news", "steps_classical", "steps_news", "train_seconds_classical",
          "train_seconds_news", "chars_classical_train", "chars_news_train", "parameters"):
    if k in m:
        print(f"| {k} | {m[k]:.4g} |")
print(f"\nverdict: {r['verdict']['verdict']} ({r['verdict'].get('reason', '')})")
PY
