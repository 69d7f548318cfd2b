#!/usr/bin/env bash
# s4.mlm at `--scale full` on one CUDA GPU, within 10 minutes on an H100/H200-class card:
# the whole offline corpus (24 M classical + 4.1 M news/review characters), a 20 M-parameter
# RoBERTa (d 512, 6 layers, blocks of 256) in bf16, phase caps 300 s + 150 s.
#
#   benchmarks/gpu_mlm.sh prepare    # here, online: wheels + datasets into .gpu-mlm/
#   benchmarks/gpu_mlm.sh [OUT]      # on the GPU machine, offline: OUT/s4.mlm.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_mlm.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/*.md give the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.mlm "$@"
