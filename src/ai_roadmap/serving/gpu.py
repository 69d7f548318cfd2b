"""GPU utilisation through NVML, reported as absent where there is no GPU — never made up.

NVML (``pynvml``, from the ``nvidia-ml-py`` package) is the library ``nvidia-smi``
reads. ``utilization.gpu`` is the share of the last sample period (1/6 s to 1 s,
depending on the product) during which a kernel was running on the device: a busy
share, not a measure of how much of the chip each kernel used.

The gauges: ``roadmap_gpu_present`` (1 when NVML initialised and saw at least one
device, else 0), and per device ``roadmap_gpu_utilization_ratio{gpu}`` (0–1) and
``roadmap_gpu_memory_used_bytes{gpu}``, which exist only when a GPU does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class GpuSample:
    """What NVML said: whether a GPU is present, why not, and per device (util, memory used)."""

    present: bool
    reason: str  # why absent, or the driver version
    devices: dict[str, tuple[float, int]] = field(default_factory=dict)


def _nvml() -> tuple[Any, str]:
    """The initialised pynvml module (or None) and the reason; NVML is initialised once."""
    if "nvml" not in _STATE:
        try:
            import pynvml

            pynvml.nvmlInit()
            driver = pynvml.nvmlSystemGetDriverVersion()
            _STATE["nvml"] = (pynvml, f"NVIDIA driver {driver}")
        except ImportError:
            _STATE["nvml"] = (None, "pynvml (nvidia-ml-py) is not installed")
        except Exception as exc:  # pynvml.NVMLError_*: no driver, no device
            _STATE["nvml"] = (None, f"NVML did not initialise: {exc}")
    return _STATE["nvml"]


def sample_gpus() -> GpuSample:
    """Utilisation (0–1) and memory used (bytes) of every device NVML sees."""
    nvml, reason = _nvml()
    if nvml is None:
        return GpuSample(False, reason)
    devices = {}
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        devices[str(index)] = (rates.gpu / 100.0, int(memory.used))
    if not devices:
        return GpuSample(False, f"{reason}, but no device")
    return GpuSample(True, reason, devices)


def gpu_gauges() -> dict[str, Any]:
    if "gauges" not in _STATE:
        from prometheus_client import Gauge

        _STATE["gauges"] = {
            "present": Gauge(
                "roadmap_gpu_present",
                "1 when NVML sees a GPU, 0 when there is none (no utilisation is reported then).",
                multiprocess_mode="max",
            ),
            "util": Gauge(
                "roadmap_gpu_utilization_ratio",
                "Share of the last NVML sample period a kernel ran on the GPU.",
                ["gpu"],
                multiprocess_mode="mostrecent",
            ),
            "memory": Gauge(
                "roadmap_gpu_memory_used_bytes",
                "GPU memory in use.",
                ["gpu"],
                multiprocess_mode="mostrecent",
            ),
        }
    return _STATE["gauges"]


def publish_gpu() -> GpuSample:
    """Sample NVML into the gauges (called when ``/metrics`` is scraped)."""
    sample = sample_gpus()
    metrics = gpu_gauges()
    metrics["present"].set(1.0 if sample.present else 0.0)
    for index, (util, used) in sample.devices.items():
        metrics["util"].labels(index).set(util)
        metrics["memory"].labels(index).set(used)
    return sample
