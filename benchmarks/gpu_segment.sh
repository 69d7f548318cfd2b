#!/usr/bin/env bash
# s4.segment at full scale on one CUDA GPU: the default 256 px composite set (600 / 150 /
# 200 scenes), full-width U-Net (base 16) and DeepLabV3+ (base 16, ASPP 64), 1 500 steps of
# 16 scenes each, both architectures also trained with light augmentation (4 models).
# Sized for ≤ 10 minutes on one H200; not run on the 2-core CPU machine this was built on.
#
#   benchmarks/gpu_segment.sh prepare    # here, online: wheels + the two sources into .gpu-segment/
#   benchmarks/gpu_segment.sh [OUT]      # on the GPU machine, offline: writes OUT/s4.segment.json
#   DEVICE=cpu STEPS=20 benchmarks/gpu_segment.sh /tmp/seg   # the same steps on a CPU, shortened
#
# The composite scenes are generated on the GPU machine from the copied sources (seconds);
# Albumentations runs on the CPU cores there, the networks on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu-segment

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx "/$GPU_DIR/" .git/info/exclude 2>/dev/null || echo "/$GPU_DIR/" >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  # what s4.segment imports, and what those need, at the versions installed here; never torch
  pins=$($python - <<'PY'
import importlib.metadata as m
import re
roots = ["albumentations", "albucore", "opencv-python-headless", "hydra-core", "pydantic-settings",
         "matplotlib", "scikit-learn", "psutil", "threadpoolctl", "packaging", "pyyaml"]
skip = {"torch", "antlr4-python3-runtime", "setuptools", "numpy"}
seen, todo = {}, list(roots)
while todo:
    name = re.split(r"[ <>=!;\[~(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
    if name in seen or name in skip:
        continue
    try:
        seen[name] = m.version(name)
    except m.PackageNotFoundError:
        continue
    for req in m.requires(name) or []:
        if "extra ==" not in req and 'python_version < "3.1' not in req:
            todo.append(req)
print(" ".join(f"{n}=={v}" for n, v in sorted(seen.items())))
PY
)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  cp -r "$data_root/tuxpaint-stamps" "$data_root/scene-backgrounds" "$GPU_DIR/data/"
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-segment}}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
if [ -d "$GPU_DIR/wheels" ] && [ -z "${NO_WHEELS:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/roadmap-site "$GPU_DIR"/wheels/*.whl
  export PYTHONPATH="/tmp/roadmap-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$GPU_DIR/data" ]; then
  export ROADMAP_DATA_HOME="$PWD/$GPU_DIR/data"
fi
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

extra=()
[ -n "${STEPS:-}" ] && extra+=("train.steps=$STEPS" "train.eval_every=$STEPS")
started=$SECONDS
rm -rf "${OUT:?}/s4.segment"
if timeout 570 $PY -m benchmarks.direct s4.segment --scale full --out "$OUT/s4.segment" \
    "train.device=$DEVICE" "${extra[@]}" > "$OUT/s4.segment.json" 2> "$OUT/s4.segment.log"; then
  echo "s4.segment: done in $((SECONDS - started)) s"
else
  echo "s4.segment: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/s4.segment.log"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
try:
    r = json.loads((out / "s4.segment.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit("s4.segment did not finish (see s4.segment.log)")
m = r["metrics"]
print(f"device: {r['device'].get('gpu', 'CPU')}; "
      f"checks_failed {m['checks_failed']:.0f}\n")
for key in ("miou", "mdice", "miou_objects", "pixel_accuracy", "aug_delta_miou",
            "unet_miou", "unet_light_miou", "deeplab_miou", "deeplab_light_miou"):
    if key in m:
        print(f"{key}: {m[key]:.4f}")
for key in sorted(k for k in m if k.startswith(("iou_", "dice_", "unet_train", "deeplab_train"))):
    print(f"{key}: {m[key]:.4f}")
PY
