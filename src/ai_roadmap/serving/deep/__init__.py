"""Serving the stage-3 image models: dynamic batching, REST and gRPC, eager PyTorch or ONNX Runtime.

:mod:`batcher` groups single requests into batches (Triton's ``max_batch_size`` and
``max_queue_delay_ms``), :mod:`runtime` runs a model folder in eager PyTorch or ONNX
Runtime, :mod:`server` serves both protocols from one process, :mod:`client` and
:mod:`bench` drive it, and :mod:`litserve_app` serves the same model with LitServe
for comparison. ``roadmap run s5.serving`` measures all of it.
"""
