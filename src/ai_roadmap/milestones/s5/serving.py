"""s5.serving — the stage-3 image models behind dynamic batching, REST and gRPC, eager and ORT.

TorchServe is archived and Triton needs a GPU server, so the mechanism is built
here (:mod:`ai_roadmap.serving.deep`): Triton's two batching knobs, a bounded
queue, per-request timeouts, REST and gRPC from one process, eager PyTorch or
ONNX Runtime behind them; LitServe serves the same model for comparison.

1. The models: the registry's ``@champion`` of each item in ``models.items``
   (``s3.distill``'s MobileNetV2 and ``s3.resnet18``), or, with
   ``models.source=stand-in`` (smoke), small stand-ins of the same architectures
   briefly trained here, named as such.
2. Reference answers: each check image through the eager model in this process,
   one at a time. ONNX Runtime against eager at batch 1, in-process (the bar).
3. For each runtime, an unbatched server (``max_batch_size`` 1) and a batched one,
   each driven by closed-loop clients over REST and gRPC at every concurrency;
   then LitServe. Every server is a real child process on 127.0.0.1.
4. The checks (``checks_failed`` is the target): batched = unbatched = reference,
   every client its own answer with 64 in flight, gRPC = REST, ORT = eager,
   LitServe = reference, hostile REST and gRPC requests, health + reflection, a
   full queue refused with 503 / ``RESOURCE_EXHAUSTED``, a cancelled client, a
   request timeout. The issue's bars are reported beside them.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.result import Result
from ai_roadmap.serving.deep.batcher import BatchingOptions

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ai_roadmap.serving.deep.bench import Cell
    from ai_roadmap.serving.deep.checks import Check

ARCHITECTURES = {"s3.distill": "MobileNetV2", "s3.resnet18": "ResNet"}


@dataclass(frozen=True)
class Models:
    source: str = "registry"  # registry | stand-in
    items: list[str] = field(default_factory=lambda: ["s3.distill", "s3.resnet18"])
    stand_in_steps: int = 30  # Adam steps a stand-in gets on the proxy training images
    stand_in_full_size: bool = False  # ×1.0 MobileNetV2 / width-64 ResNet-18 (else ×0.25 / 16)

    def __post_init__(self) -> None:
        if self.source not in ("registry", "stand-in"):
            raise ValueError("models.source must be registry or stand-in")
        unknown = [i for i in self.items if i not in ARCHITECTURES]
        if unknown or not self.items:
            raise ValueError(f"models.items must be among {', '.join(ARCHITECTURES)}")


@dataclass(frozen=True)
class Load:
    concurrency: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    duration_s: float = 5.0
    warmup_s: float = 0.5
    protocols: list[str] = field(default_factory=lambda: ["rest", "grpc"])
    runtimes: list[str] = field(default_factory=lambda: ["eager", "onnx"])
    litserve: bool = True
    images: int = 256  # distinct test images the clients cycle through


@dataclass(frozen=True)
class Bars:
    at_concurrency: int = 16
    batched_gain: float = 1.5  # batched / unbatched throughput
    p99_ratio: float = 2.0  # batched P99 / unbatched P99, at most
    onnx_gain_batch1: float = 1.3  # eager ms / ORT ms, one image in-process


@dataclass(frozen=True)
class Config:
    seed: int = 0
    output_dir: str = "."
    threads: int = 2
    device: str = "cpu"  # cpu | cuda: where the servers run the model (references stay on CPU)
    tolerance: float = 1e-5  # max |Δ| of probabilities for the equality checks
    models: Models = field(default_factory=Models)
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    load: Load = field(default_factory=Load)
    bars: Bars = field(default_factory=Bars)
    check_images: int = 64
    latency_repeats: int = 200
    ready_timeout_s: float = 180.0


# ── models and data ──────────────────────────────────────────────────────────────────


def model_folders(c: Config, out: Path) -> tuple[list[tuple[str, Path, str, str]], Any]:
    """[(name, folder, version, origin)] and the test images (uint8 N, C, H, W) they take."""
    from ai_roadmap.datasets.images import load_image_data

    if c.models.source == "stand-in":
        from ai_roadmap.serving.deep.runtime import save_stand_in

        data = load_image_data("fashion-mnist", n_train=2048, n_test=max(c.load.images, 256))
        found = []
        for k, item in enumerate(c.models.items):
            folder = save_stand_in(
                out / "models" / item,
                ARCHITECTURES[item],
                (data.channels, data.image_size, data.image_size),
                data.classes,
                (data.mean, data.std),
                c.seed + k,
                (data.train_images, data.train_labels),
                c.models.stand_in_steps,
                c.models.stand_in_full_size,
            )
            size = "full-size" if c.models.stand_in_full_size else "small"
            origin = (
                f"stand-in {ARCHITECTURES[item]} ({size}) for {item}, {c.models.stand_in_steps} "
                "Adam steps on 2 048 Fashion-MNIST training images (not the registry's model)"
            )
            found.append((item, folder, "stand-in", origin))
        return found, data.test_images.numpy()
    from ai_roadmap.artifacts import read_card
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    found = []
    for item in c.models.items:
        try:
            folder, version = champion_model_dir(get_settings(), item, out / "models" / item)
        except RoadmapError:
            raise RoadmapError(
                f"s5.serving serves the registry's {item} model and there is none; run "
                f"`roadmap run {item}` first, or `roadmap run s5.serving models.source=stand-in`"
            ) from None
        found.append((item, folder, version, f"registry model {item} v{version} (@champion)"))
    shape = read_card(found[0][1]).input_schema["image"]["shape"]
    source = "fashion-mnist" if shape[0] == 1 else "cifar10"
    data = load_image_data(source, n_train=16, n_test=max(c.load.images, 256))
    return found, data.test_images.numpy()


def reference(folder: Path, name: str, images: np.ndarray, threads: int) -> Any:
    """(eager runtime, its answers one image at a time) — what every server must match."""
    import torch

    from ai_roadmap.serving.deep.runtime import ImageRuntime, load_folder

    torch.set_num_threads(threads)
    info, module = load_folder(folder, name, "", "")
    runtime = ImageRuntime(info, module, "eager", threads)
    return runtime, np.concatenate([runtime.predict(i[None]) for i in images])


def onnx_versus_eager(
    c: Config, folders: list[tuple[str, Path, str, str]], images: np.ndarray, cache: Path
) -> tuple[dict[str, float], list[str]]:
    """Per model: eager and ORT ms at batch 1 (in-process), the gain, and max |Δ| on the images."""
    from ai_roadmap.artifacts import read_card
    from ai_roadmap.serving.deep.bench import latency_batch1
    from ai_roadmap.serving.deep.runtime import ImageRuntime, load_folder, onnx_file

    metrics: dict[str, float] = {}
    notes = []
    for name, folder, _, _ in folders:
        info, module = load_folder(folder, name, "", "")
        eager = ImageRuntime(info, module, "eager", c.threads, c.device)
        ort = ImageRuntime(info, module, "onnx", c.threads, c.device)
        ort.use_onnx(onnx_file(module, info.shape, cache, read_card(folder).sha256))
        x = images[: c.check_images].astype(np.float32)
        diff = float(np.abs(eager.predict(x) - ort.predict(x)).max())
        e_ms = latency_batch1(eager, images[0], c.latency_repeats)
        o_ms = latency_batch1(ort, images[0], c.latency_repeats)
        stem = name.replace("s3.", "")
        metrics |= {
            f"eager_ms_batch1_{stem}": e_ms,
            f"onnx_ms_batch1_{stem}": o_ms,
            f"onnx_gain_batch1_{stem}": e_ms / o_ms,
            f"onnx_max_abs_diff_{stem}": diff,
        }
        notes.append(
            f"{name} ({info.architecture}) at batch 1 in-process on {c.device}: eager "
            f"{e_ms:.2f} ms, ONNX Runtime ({ort.provider}) {o_ms:.2f} ms ({e_ms / o_ms:.2f}×; "
            f"median of {c.latency_repeats}, {c.threads} intra-op thread(s)); ORT = eager "
            f"within {diff:.1e}"
        )
    return metrics, notes


# ── the servers ──────────────────────────────────────────────────────────────────────


@dataclass
class Plan:
    """What every server of the run shares: the base spec, the images, the load settings."""

    base: Any  # ServerSpec
    probe: np.ndarray  # the check images, sent all at once
    ref: np.ndarray  # their reference answers
    load_images: Path  # .npy the load generator cycles through
    load: dict[str, Any]
    scratch: Path


def _answers(plan: Plan, running: Any, protocol: str) -> tuple[list[Any], float]:
    """The probe images all in flight at once, and the mean batch the server made of them."""
    from ai_roadmap.serving.deep.client import answers

    target = running.url if protocol == "rest" else running.grpc
    before = next(iter(running.stats().values()))
    name = plan.base.models[0].name
    got = asyncio.run(answers(protocol, target, name, plan.probe, Path(plan.base.stubs_cache)))
    after = next(iter(running.stats().values()))
    batches = after["batches"] - before["batches"]
    return got, (after["rows"] - before["rows"]) / max(1, batches)


def _our_servers(c: Config, plan: Plan) -> tuple[list[Cell], list[Check], dict[Any, list[Any]]]:
    """Unbatched then batched, per runtime: answers, checks on the first runtime, the load."""
    from ai_roadmap.serving.deep import checks as ck
    from ai_roadmap.serving.deep.bench import image_server, load_cells

    unbatched = replace(c.batching, max_batch_size=1, max_queue_delay_ms=0.0)
    cells: list[Cell] = []
    found: list[Check] = []
    got: dict[tuple[str, bool, str], list[Any]] = {}
    first = c.load.runtimes[0]
    for runtime in c.load.runtimes:
        for batched in (False, True):
            batching = c.batching if batched else unbatched
            spec = replace(plan.base, runtime=runtime, batching=batching)
            with image_server(spec, plan.scratch, c.ready_timeout_s) as running:
                for protocol in c.load.protocols:
                    got[(runtime, batched, protocol)], mean = _answers(plan, running, protocol)
                    if batched and protocol == "rest" and runtime == first:
                        # answers handed to the wrong client would show: neighbours differ
                        swap = float(np.abs(plan.ref - np.roll(plan.ref, 1, axis=0)).max())
                        what = (
                            f"{len(plan.probe)} images in flight at once, batched (mean batch "
                            f"{mean:.1f}), each answer against its own image's reference "
                            f"(neighbouring references differ by up to {swap:.2f})"
                        )
                        row = ck.equal(
                            "own_answer_under_concurrency", got[(runtime, batched, protocol)],
                            plan.ref, c.tolerance, what,
                        )  # fmt: skip
                        found.append(replace(row, passed=row.passed and mean > 1 and swap > 1e-3))
                if batched and runtime == first:
                    found.append(ck.hostile_rest(running, plan.probe[0]))
                    found.append(ck.hostile_grpc(running, plan.probe[0]))
                    found.append(ck.health_and_reflection(running))
                label = ("roadmap", runtime, batched)
                protocols, levels = list(c.load.protocols), list(c.load.concurrency)
                cells += load_cells(
                    running, label, protocols, levels, plan.load, plan.load_images, plan.scratch
                )
    return cells, found, got


def serve_and_measure(
    c: Config,
    folders: list[tuple[str, Path, str, str]],
    images: np.ndarray,
    ref: np.ndarray,
    scratch: Path,
    cache: Path,
) -> tuple[list[Cell], list[Check]]:
    from ai_roadmap.serving.deep import checks as ck
    from ai_roadmap.serving.deep.bench import litserve_server, load_cells
    from ai_roadmap.serving.deep.server import ModelEntry, ServerSpec
    from ai_roadmap.serving.deep.stubs import default_cache

    name, folder, version, origin = folders[0]
    stubs = str(default_cache())
    base = ServerSpec(
        [ModelEntry(name, str(folder), version, origin)],
        threads=c.threads,
        device=c.device,
        batching=c.batching,
        onnx_cache=str(cache),
        stubs_cache=stubs,
    )
    np.save(scratch / "images.npy", images[: c.load.images])
    load = {"duration_s": c.load.duration_s, "warmup_s": c.load.warmup_s, "stubs_cache": stubs}
    plan = Plan(base, images[: c.check_images], ref, scratch / "images.npy", load, scratch)
    cells, found, got = _our_servers(c, plan)
    found += _equalities(c, got, ref)
    if c.load.litserve:
        batch, delay = c.batching.max_batch_size, c.batching.max_queue_delay_ms
        with litserve_server(folder, c.threads, batch, delay, scratch, c.ready_timeout_s) as url:
            lit = asyncio.run(_litserve_answers(url, plan.probe))
            found.append(ck.equal("litserve_equals_reference", lit, ref, c.tolerance, "LitServe"))
            levels = list(c.load.concurrency)
            label = ("litserve", "eager", True)
            cells += load_cells(url, label, ["rest"], levels, load, plan.load_images, scratch)
    found += _faults(base, plan.probe, ref, scratch, c.ready_timeout_s)
    return cells, found


async def _litserve_answers(url: str, images: np.ndarray) -> list[Any]:
    import aiohttp

    from ai_roadmap.serving.deep.client import _rest_one, rest_body

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(images))) as s:
        calls = (_rest_one(s, f"{url}/predict", rest_body(i)) for i in images)
        return list(await asyncio.gather(*calls))


def _equalities(
    c: Config, got: dict[tuple[str, bool, str], list[Any]], ref: np.ndarray
) -> list[Check]:
    from ai_roadmap.serving.deep.checks import equal

    rows = []
    first = c.load.runtimes[0]
    if (first, False, "rest") in got and (first, True, "rest") in got:
        unb = np.asarray([a.probabilities for a in got[(first, False, "rest")]])
        rows.append(
            equal(
                "batched_equals_unbatched",
                got[(first, True, "rest")],
                unb,
                c.tolerance,
                f"{first} REST, batched server against the unbatched server",
            )
        )
    if (first, True, "grpc") in got and (first, True, "rest") in got:
        rest = np.asarray([a.probabilities for a in got[(first, True, "rest")]])
        grpc = got[(first, True, "grpc")]
        rows.append(equal("grpc_equals_rest", grpc, rest, c.tolerance, "batched"))
    if ("onnx", True, "rest") in got:
        rows.append(
            equal(
                "onnx_server_equals_eager",
                got[("onnx", True, "rest")],
                ref,
                1e-4,
                "ONNX Runtime server (batched) against the eager reference",
            )
        )
    return rows


def _faults(
    base: Any, probe: np.ndarray, ref: np.ndarray, scratch: Path, ready_timeout_s: float
) -> list[Check]:
    """Queue-full and cancelled-client checks on a slow-filling queue; then a timeout."""
    from ai_roadmap.serving.deep import checks as ck
    from ai_roadmap.serving.deep.bench import image_server

    slow = BatchingOptions(
        max_batch_size=8, max_queue_delay_ms=1000, max_queue_size=4, timeout_s=10
    )
    rows = []
    with image_server(replace(base, runtime="eager", batching=slow), scratch, ready_timeout_s) as r:
        rows += ck.queue_full(r, probe)
        rows.append(ck.cancelled_client(r, probe, ref))
    late = BatchingOptions(
        max_batch_size=8, max_queue_delay_ms=3000, max_queue_size=8, timeout_s=0.3
    )
    with image_server(replace(base, runtime="eager", batching=late), scratch, ready_timeout_s) as r:
        rows.append(ck.request_timeout(r, probe[0]))
    return rows


# ── the milestone ────────────────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)  # a bad value is a one-line UsageError naming the key
    import tempfile

    from ai_roadmap.serving.deep.report import bar_figures, cell_metrics, write_artefacts
    from ai_roadmap.settings import get_settings

    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    folders, images = model_folders(c, out)
    if len(images) < max(c.check_images, 8):
        raise UsageError(f"check_images {c.check_images} is more than the {len(images)} images")
    cache = get_settings().home_dir / "cache" / "onnx"
    metrics, notes = onnx_versus_eager(c, folders, images, cache)
    _, ref = reference(folders[0][1], folders[0][0], images[: c.check_images], c.threads)
    with tempfile.TemporaryDirectory(prefix="roadmap-s5serving-") as tmp:
        cells, found = serve_and_measure(c, folders, images, ref, Path(tmp), cache)
    metrics |= cell_metrics(cells)
    bars, bar_notes = bar_figures(c.bars, c.load.runtimes, c.load.protocols, metrics)
    metrics |= bars
    metrics["checks"] = float(len(found))
    metrics["checks_failed"] = float(sum(not x.passed for x in found))
    artifacts = write_artefacts(out, cells, found, metrics, c)
    generator = max((x.generator_cores for x in cells), default=0.0)
    notes = [
        *(origin for _, _, _, origin in folders),
        f"under load: {folders[0][0]}; batching max_batch_size {c.batching.max_batch_size}, "
        f"max_queue_delay_ms {c.batching.max_queue_delay_ms:g}, queue {c.batching.max_queue_size}; "
        f"{c.threads} intra-op thread(s) per server; closed-loop clients in their own process "
        f"for {c.load.duration_s:g} s per cell, on the same {os.cpu_count()} cores (the busiest "
        f"generator used {generator:.2f} cores)",
        *notes,
        *bar_notes,
        *(f"{'pass' if x.passed else 'FAIL'} {x.name}: {x.detail}" for x in found),
    ]
    # The target is on the serving mechanism (dataset: none), so a stand-in model is no proxy
    # for it; the dataset line and the notes name the stand-in all the same.
    return Result(
        metrics=metrics,
        dataset=(
            "Fashion-MNIST test images through "
            if images.shape[1] == 1
            else "CIFAR-10 test images through "
        )
        + ", ".join(f"{n} {v}" for n, _, v, _ in folders),
        proxy=False,
        artifacts=artifacts,
        params={"models": [f"{n} v{v}" for n, _, v, _ in folders]},
        notes=notes,
    )
