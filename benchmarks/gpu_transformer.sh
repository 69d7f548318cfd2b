#!/usr/bin/env bash
# s4.transformer at `--scale full` on one CUDA GPU, within 10 minutes on an H200-class card:
# the reference checks, then a 6-block decoder (≈ 10 M parameters) and the s3.poetry LSTM
# (full recipe, trained in the run: no registry there) on every cleaned Tang poem, both
# scored on the same held-out poems.
#
#   benchmarks/gpu_transformer.sh prepare    # here, online: wheels + datasets into .gpu-transformer/
#   benchmarks/gpu_transformer.sh [OUT]      # on the GPU machine, offline: OUT/s4.transformer.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_transformer.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/*.md give the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.transformer "$@"
