#!/usr/bin/env bash
# s4.deploy on one CUDA GPU: the registered s4.detect and s4.segment models (copied by
# `prepare`) exported to ONNX, then eager PyTorch FP32 on the GPU vs a TensorRT FP16 engine,
# side by side at batch 1 and 8, and the accuracy of the engine's outputs; ≤ 10 minutes.
#
#   benchmarks/gpu_deploy.sh prepare    # here: wheels, datasets and the two model folders
#   benchmarks/gpu_deploy.sh [OUT]      # on the GPU machine: OUT/s4.deploy.json, summary.md
#
# TensorRT itself is not carried: the GPU machine needs the `tensorrt` package matching its
# CUDA driver (`pip install tensorrt-cu12` or `tensorrt-cu13`, about 1 GB with its libraries).
# Without it the run still times ONNX Runtime and reports the TensorRT figure as not measured,
# with the reason. Not yet run on a GPU with TensorRT.
SCALE=${SCALE:-quick} exec "$(dirname "$0")/gpu_stage4.sh" s4.deploy "$@"
