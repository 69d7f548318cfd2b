#!/usr/bin/env bash
# s4.segment at `--scale full` on one CUDA GPU: 256 px composite scenes, full-width U-Net and
# DeepLabV3+, 1 500 steps of 16 scenes, strong and light augmentation (4 models); ≤ 10 minutes
# on one H200 (STEPS=20 shortens it for a CPU check).
#
#   benchmarks/gpu_segment.sh prepare    # here, online: wheels + datasets into .gpu-segment/
#   benchmarks/gpu_segment.sh [OUT]      # on the GPU machine, offline: OUT/s4.segment.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_segment.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/*.md give the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.segment "$@"
