#!/usr/bin/env bash
# s4.rlhf at `--scale full` on one CUDA GPU, sized for 10 minutes on an H200-class card: SFT of a
# 6-layer GPT-2 (≈ 6 M parameters) on every training 绝句, the reward model on every training
# poem's preference pairs, up to 300 PPO iterations of 128 prompts, 600 DPO steps (TRL), all
# three policies scored on 512 held-out prompts.
#
#   benchmarks/gpu_rlhf.sh prepare    # here, online: wheels + datasets into .gpu-rlhf/
#   benchmarks/gpu_rlhf.sh [OUT]      # on the GPU machine, offline: OUT/s4.rlhf.json, OUT/summary.md
#   SCALE=smoke DEVICE=cpu benchmarks/gpu_rlhf.sh /tmp/out   # the same steps on a CPU
#
# Not yet run on a GPU; docs/rlhf.md gives the CPU figures. See benchmarks/gpu_stage4.sh.
exec "$(dirname "$0")/gpu_stage4.sh" s4.rlhf "$@"
