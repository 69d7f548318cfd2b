#!/usr/bin/env bash
# Full-scale evidence for stage 3 on one CUDA GPU: s3.resnet18, s3.distill (taught by that
# ResNet-18) and s3.poetry at `--scale full`, within 10 minutes on an H200-class card
# (bf16 autocast, channels-last and torch.compile switch on by themselves on CUDA).
#
#   benchmarks/gpu_stage3.sh prepare    # here, online: wheels + datasets into .gpu/ (ignored by git)
#   benchmarks/gpu_stage3.sh [OUT]      # on the GPU machine, offline: runs and writes OUT/*.json
#   SCALE=smoke benchmarks/gpu_stage3.sh /tmp/gpu   # the same steps on a CPU in a few minutes
#
# Each milestone runs through `python -m benchmarks.direct` (no MLflow needed there) with its
# own time limit, so one that overruns still leaves the others' figures. OUT/summary.md is
# the table to quote; OUT/<id>.json has every figure, OUT/<id>.log what the run printed.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu
# the packages the milestones import that a CUDA image with PyTorch may lack, at the versions
# installed here (`make install`); antlr4 4.9 (omegaconf's parser) has no wheel: built here
WHEELS="hydra-core omegaconf pydantic pydantic-core pydantic-settings python-dotenv typing-inspection
annotated-types opencc-python-reimplemented"

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  pins=$(for name in $WHEELS; do echo "$name==$($python -c "import importlib.metadata as m; print(m.version('$name'))")"; done)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  for name in fashion-mnist tang-poems; do cp -r "$data_root/$name" "$GPU_DIR/data/"; done
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu}}
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
else  # the datasets `roadmap data pull` put on this machine
  ROADMAP_DATA_HOME=$($PY -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  export ROADMAP_DATA_HOME
fi
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1  # nothing of these runs is kept there
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

run() {  # run ID SECONDS [overrides...]
  local id=$1 limit=$2; shift 2
  local started=$SECONDS
  rm -rf "${OUT:?}/$id"  # a fresh run, not a resume of an earlier one
  if timeout "$limit" $PY -m benchmarks.direct "$id" --scale "$SCALE" --out "$OUT/$id" "$@" \
      > "$OUT/$id.json" 2> "$OUT/$id.log"; then
    echo "$id: done in $((SECONDS - started)) s"
  else
    echo "$id: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/$id.log"
  fi
}

# ≈ 2.4 M image-steps each for the teacher and both students; the poetry model stops early
# on its validation loss. The limits add up to 9 minutes.
run s3.resnet18 150
teacher=()
[ -f "$OUT/s3.resnet18/model/model_card.json" ] && teacher=("teacher.model_dir=$OUT/s3.resnet18/model")
run s3.distill 210 "${teacher[@]}" "export.formats=[onnx]"
run s3.poetry 180

$PY - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
keys = {"s3.resnet18": ["test_accuracy", "test_accuracy_tta", "train_images_per_second"],
        "s3.distill": ["teacher_accuracy", "student_accuracy", "plain_student_accuracy",
                       "accuracy_drop_points", "distillation_gain_points"],
        "s3.poetry": ["bleu3", "bleu3_strict", "val_perplexity", "form_correct_rate"]}
print("| id | scale | figures | target | verdict | wall s | device |\n|---|---|---|---|---|---|---|")
for item, names in keys.items():
    path = out / f"{item}.json"
    try:
        r = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        print(f"| {item} | — | did not finish (see {item}.log) | | | | |")
        continue
    m = r["metrics"]
    figures = ", ".join(f"{k} {m[k]:.4g}" for k in names if k in m)
    device = r["device"].get("gpu", "CPU") + f", torch {r['device'].get('torch')}"
    v = r["verdict"]
    print(f"| {item} | {r['scale']} | {figures} | {r['target']} | {v['verdict']} | {r['duration_s']} | {device} |")
EOF
