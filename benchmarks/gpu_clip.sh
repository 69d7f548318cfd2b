#!/usr/bin/env bash
# s4.clip at `--scale full` on one CUDA GPU: 96 px image towers (widths 64–512, two blocks per
# stage), 400 epochs for each of the two text towers (ours and frozen MiniLM); sized for
# ≤ 10 minutes on one H200 (EPOCHS=2 shortens it for a CPU check).
#
#   benchmarks/gpu_clip.sh prepare    # here, online: wheels + the stamps into .gpu-clip/
#   benchmarks/gpu_clip.sh [OUT]      # on the GPU machine, offline: OUT/s4.clip.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_clip.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/clip.md gives the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.clip "$@"
