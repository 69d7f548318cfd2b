"""TensorRT FP16: an engine built from the exported ONNX file and run on CUDA memory.

The roadmap's deployment step is "ONNX → TensorRT FP16, 3× faster". TensorRT's builder
parses the ONNX graph, picks a kernel for every layer (FP16 where allowed: the engine's inputs
and outputs stay FP32) for the batch sizes of an optimisation profile, and serialises the
plan. The runner below feeds it from and to pinned PyTorch CUDA tensors, so no extra CUDA
binding package is needed; every call copies the batch host → device and the result back,
as the eager CUDA runner does, so both are timed for the same work.

It needs an NVIDIA GPU, the ``tensorrt`` Python package matching the CUDA driver
(``pip install tensorrt-cu12`` or ``tensorrt-cu13``) and PyTorch with CUDA.
:func:`unavailable` says in one line why a machine cannot run it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

Runner = Callable[[np.ndarray], np.ndarray]
WORKSPACE_BYTES = 1 << 30


def unavailable() -> str | None:
    """``None`` when TensorRT FP16 can run here, else the reason (one line)."""
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU on this machine (TensorRT FP16 needs an NVIDIA GPU)"
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return (
            "the tensorrt package is not installed: `pip install tensorrt-cu12` (or -cu13, "
            "matching the CUDA driver) on the GPU machine"
        )
    return None


def build_engine(onnx_path: Path, sample_shape: tuple[int, ...], max_batch: int) -> bytes:
    """An FP16 engine for batches 1..``max_batch`` of inputs shaped like ``sample_shape``."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch (the only mode in TensorRT 10)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path.name}: {errors}")
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    profile = builder.create_optimization_profile()
    name = network.get_input(0).name
    rest = tuple(sample_shape[1:])
    profile.set_shape(name, (1, *rest), (max_batch, *rest), (max_batch, *rest))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError(f"TensorRT could not build an FP16 engine for {onnx_path.name}")
    return bytes(plan)


def trt_runner(plan: bytes) -> Runner:
    """Run the engine on a NumPy batch: copy in, execute on the current stream, copy out."""
    import tensorrt as trt
    import torch

    logger = trt.Logger(trt.Logger.WARNING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
    outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
    if len(inputs) != 1 or len(outputs) != 1:
        raise RuntimeError(f"expected one input and one output, got {inputs} → {outputs}")

    def run(batch: np.ndarray) -> np.ndarray:
        source = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).cuda()
        context.set_input_shape(inputs[0], tuple(source.shape))
        shape = tuple(context.get_tensor_shape(outputs[0]))
        target = torch.empty(shape, dtype=torch.float32, device="cuda")
        context.set_tensor_address(inputs[0], source.data_ptr())
        context.set_tensor_address(outputs[0], target.data_ptr())
        if not context.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        return target.cpu().numpy()  # synchronises the stream

    return run


def cuda_eager_runner(model: Any) -> Runner:
    """Eager PyTorch FP32 on the GPU, with the same host ↔ device copies as the engine."""
    import torch

    gpu = model.to("cuda").eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = gpu(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).cuda())
        return out.float().cpu().numpy()

    return run
