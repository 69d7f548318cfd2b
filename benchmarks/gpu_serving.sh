#!/usr/bin/env bash
# s5.serving on one CUDA GPU: the same servers, batcher, clients and checks as on the CPU,
# with the models on the GPU (device=cuda), within 10 minutes on an H200-class card.
#
#   benchmarks/gpu_serving.sh prepare    # here, online: wheels + Fashion-MNIST into .gpu-serving/
#   benchmarks/gpu_serving.sh [OUT]      # on the GPU machine, offline: writes OUT/s5.serving.json
#   DEVICE=cpu benchmarks/gpu_serving.sh /tmp/gpu   # the same steps on a CPU
#
# The GPU box has no registry, so the models are full-size stand-ins (×1.0 MobileNetV2 and
# width-64 ResNet-18, the sizes s3.distill and s3.resnet18 train) given a few training steps
# there: the serving figures depend on the architecture, not on what the weights learnt.
# Eager PyTorch runs on CUDA; ONNX Runtime runs on CUDA only where onnxruntime-gpu is
# installed (the result names the provider it used). Equality checks use 1e-4 on the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=.gpu-serving

if [ "${1:-}" = "prepare" ]; then
  python=${PYTHON:-.venv/bin/python}
  grep -qx "/$GPU_DIR/" .git/info/exclude 2>/dev/null || echo "/$GPU_DIR/" >> .git/info/exclude
  rm -rf "$GPU_DIR" && mkdir -p "$GPU_DIR/wheels" "$GPU_DIR/data"
  # what s5.serving imports, and what those need, at the versions installed here; never torch
  pins=$($python benchmarks/wheel_pins.py grpcio grpcio-tools grpcio-health-checking \
    grpcio-reflection protobuf aiohttp litserve fastapi uvicorn httptools prometheus-client onnx \
    onnxscript onnxruntime hydra-core pydantic-settings matplotlib psutil threadpoolctl packaging)
  # shellcheck disable=SC2086
  $python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$GPU_DIR/wheels" $pins
  antlr=$($python -c "import importlib.metadata as m; print(m.version('antlr4-python3-runtime'))")
  $python -m pip wheel -q --no-deps -w "$GPU_DIR/wheels" "antlr4-python3-runtime==$antlr"
  data_root=$($python -c "from ai_roadmap.settings import Settings; print(Settings().data_root)")
  cp -r "$data_root/fashion-mnist" "$GPU_DIR/data/"
  du -sh "$GPU_DIR"
  exit 0
fi

OUT=${1:-${OUT:-benchmarks/results/gpu-serving}}
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
export ROADMAP_HOME="$(mktemp -d)" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1 || true

started=$SECONDS
rm -rf "${OUT:?}/s5.serving"
tolerance=1e-4; [ "$DEVICE" = cpu ] && tolerance=1e-5
if timeout 540 $PY -m benchmarks.direct s5.serving --scale quick --out "$OUT/s5.serving" \
    models.source=stand-in models.stand_in_full_size=true "device=$DEVICE" "tolerance=$tolerance" \
    threads=4 > "$OUT/s5.serving.json" 2> "$OUT/s5.serving.log"; then
  echo "s5.serving: done in $((SECONDS - started)) s"
else
  echo "s5.serving: stopped (exit $?) after $((SECONDS - started)) s; see $OUT/s5.serving.log"
fi

$PY - "$OUT" <<'PY' | tee "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
try:
    r = json.loads((out / "s5.serving.json").read_text())
except (OSError, json.JSONDecodeError):
    sys.exit("s5.serving did not finish (see s5.serving.log)")
m = r["metrics"]
print(f"device: {r['device'].get('gpu', 'CPU')}, torch {r['device'].get('torch')}; "
      f"checks_failed {m['checks_failed']:.0f} of {m['checks']:.0f}\n")
print("| cell | rps | P50 ms | P99 ms | errors |\n|---|---|---|---|---|")
for key in sorted(k[4:] for k in m if k.startswith("rps_")):
    print(f"| {key} | {m['rps_' + key]:.0f} | {m['p50_ms_' + key]:.1f} | "
          f"{m['p99_ms_' + key]:.1f} | {m['errors_' + key]:.0f} |")
for key in sorted(k for k in m if k.startswith(("batching_gain", "onnx_gain", "p99_ratio"))):
    print(f"\n{key}: {m[key]:.2f}", end="")
print()
PY
