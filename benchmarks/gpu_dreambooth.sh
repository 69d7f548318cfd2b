#!/usr/bin/env bash
# s4.dreambooth at `--scale full` on one CUDA GPU: a 4-level U-Net (64–256 channels) trained
# for 8 000 steps of 128 stamps at 32 px, DreamBooth 2 × 1 000 steps with 200 prior images,
# 256 images per set sampled with DDPM in 100 steps; sized for ≤ 10 minutes on one H200
# (STEPS=20 shortens both trainings for a CPU check). With no s4.clip model on the GPU
# machine (no registry there) the CLIP figures are "not measured"; the rest is measured.
#
#   benchmarks/gpu_dreambooth.sh prepare    # here, online: wheels + datasets into .gpu-dreambooth/
#   benchmarks/gpu_dreambooth.sh [OUT]      # on the GPU machine, offline: OUT/s4.dreambooth.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_dreambooth.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/dreambooth.md gives the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.dreambooth "$@"
