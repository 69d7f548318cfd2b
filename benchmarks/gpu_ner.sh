#!/usr/bin/env bash
# s4.ner at `--scale full` on one CUDA GPU, within 10 minutes on an H100/H200-class card:
# skip-gram tables, three BiLSTM-CRF variants (pretrained, random, characters only) and,
# when the machine has an s4.mlm encoder folder (encoder.source=PATH), its full and LoRA
# fine-tuning with the GPU memory sweep.
#
#   benchmarks/gpu_ner.sh prepare    # here, online: wheels + datasets into .gpu-ner/
#   benchmarks/gpu_ner.sh [OUT]      # on the GPU machine, offline: OUT/s4.ner.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_ner.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/*.md give the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.ner "$@"
