"""One process serving image models over REST and gRPC, both through the same dynamic batchers.

``python -m ai_roadmap.serving.deep.server --spec spec.json`` loads every model of
the spec (a folder written by ``s3.resnet18`` / ``s3.distill``), warms it up, starts
one :class:`~ai_roadmap.serving.deep.batcher.DynamicBatcher` per model and serves:

* **REST** (Starlette + Uvicorn): ``POST /v1/<name>/predict`` with
  ``{"pixels": [C·H·W integers 0–255]}`` (flat or nested ``(C, H, W)``); ``GET
  /v1/models``, ``/healthz``, ``/readyz``, ``/metrics`` (Prometheus).
* **gRPC** (``grpc.aio``, same event loop): ``roadmap.inference.v1.ImageClassifier``
  from ``proto/roadmap_inference.proto``, plus the standard health and reflection
  services, so ``grpcurl`` and load balancers find their way.

Errors are one line: wrong shape or values → 422 / ``INVALID_ARGUMENT``; unknown
model → 404 / ``NOT_FOUND``; a body over ``max_body_bytes`` → 413 /
``RESOURCE_EXHAUSTED``; queue full → 503 + ``Retry-After`` / ``RESOURCE_EXHAUSTED``
with a ``retry-after`` trailer; not answered within the timeout → 504 /
``DEADLINE_EXCEEDED``. A malformed protobuf gets gRPC's own error status and the
server goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.serving.deep.batcher import (
    BatchingOptions,
    DynamicBatcher,
    MainThreadExecutor,
    QueueFull,
)
from ai_roadmap.serving.deep.runtime import ImageRuntime, ModelInfo
from ai_roadmap.serving.deep.stubs import SERVICE

HOST = "127.0.0.1"


@dataclass
class ModelEntry:
    """A model folder to serve under ``name``; ``version`` and ``origin`` go to clients."""

    name: str
    folder: str
    version: str = "1"
    origin: str = ""


@dataclass
class ServerSpec:
    """Everything one server process needs, written as JSON by whoever starts it."""

    models: list[ModelEntry]
    runtime: str = "eager"  # eager | onnx
    threads: int = 2  # intra-op threads of the runtime
    device: str = "cpu"  # cpu | cuda (eager on the GPU; ORT's CUDA provider when installed)
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    host: str = HOST
    rest_port: int = 8080
    grpc_port: int | None = 50051  # None: REST only
    max_body_bytes: int = 1 << 20
    onnx_cache: str | None = None  # where exported graphs are kept (default: beside the model)
    stubs_cache: str | None = None  # where the gRPC stubs are generated

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ServerSpec:
        raw = json.loads(text)
        raw["models"] = [ModelEntry(**m) for m in raw["models"]]
        raw["batching"] = BatchingOptions(**raw["batching"])
        return cls(**raw)


class BadInput(ValueError):
    """The request's pixels do not fit the model: shape, type or range (422)."""


def pixels_array(values: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """``values`` (flat or nested numbers 0–255) as float32 ``shape``; :class:`BadInput` if not."""
    try:
        x = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise BadInput("pixels must be numbers (a flat or (C, H, W) nested list)") from None
    if x.size != int(np.prod(shape)) or x.ndim not in (1, 3) or (x.ndim == 3 and x.shape != shape):
        raise BadInput(
            f"pixels has shape {list(x.shape)}; this model takes {list(shape)} "
            f"(C, H, W) or {int(np.prod(shape))} values flat"
        )
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 255:
        raise BadInput("pixels must be finite values in 0..255")
    return x.reshape(shape)


@dataclass
class Loaded:
    info: ModelInfo
    runtime: ImageRuntime
    batcher: DynamicBatcher

    def answer(self, probabilities: np.ndarray) -> dict[str, Any]:
        label = int(np.argmax(probabilities))
        return {
            "model": self.info.name,
            "version": self.info.version,
            "label": label,
            "class": self.info.classes[label],
            "probabilities": [float(p) for p in probabilities],
            "runtime": self.runtime.runtime,
            "provider": self.runtime.provider,
        }


def load_models(spec: ServerSpec, executor: Any = None) -> dict[str, Loaded]:
    """Every model of the spec, in its runtime, warmed up at batch 1 and at the largest batch."""
    import torch

    from ai_roadmap.serving.deep.runtime import load_folder, onnx_file

    torch.set_num_threads(spec.threads)
    loaded = {}
    for entry in spec.models:
        folder = Path(entry.folder)
        info, module = load_folder(folder, entry.name, entry.version, entry.origin)
        runtime = ImageRuntime(info, module, spec.runtime, spec.threads, spec.device)
        if spec.runtime == "onnx":
            from ai_roadmap.artifacts import read_card

            cache = Path(spec.onnx_cache) if spec.onnx_cache else folder.parent / ".onnx"
            graph = onnx_file(module, info.shape, cache, read_card(folder).sha256)
            runtime.use_onnx(graph, spinning=False)
        for n in (1, spec.batching.max_batch_size):
            runtime.predict(np.zeros((n, *info.shape), dtype=np.float32))
        batcher = DynamicBatcher(runtime.predict, spec.batching, executor=executor)
        loaded[entry.name] = Loaded(info, runtime, batcher)
    return loaded


# ── REST ─────────────────────────────────────────────────────────────────────────────


def rest_app(spec: ServerSpec, models: dict[str, Loaded]) -> Any:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    registry = CollectorRegistry()
    requests = Counter(
        "roadmap_image_requests", "Prediction requests", ["model", "status"], registry=registry
    )
    batch_sizes = Histogram(
        "roadmap_image_batch_size",
        "Rows per model call",
        ["model"],
        buckets=(1, 2, 4, 8, 16, 32, 64, 128),
        registry=registry,
    )
    depth = Gauge("roadmap_image_queue_depth", "Requests waiting", ["model"], registry=registry)
    for name, model in models.items():
        model.batcher.on_batch = batch_sizes.labels(name).observe

    def error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    async def read_body(request: Request) -> bytes | None:
        """The body, or None when it is over the limit.

        A refused body up to 8× the limit is read and dropped, so that a client that
        sent it whole can read the 413; a bigger one is refused from its headers.
        """
        declared = request.headers.get("content-length")
        drain_up_to = 8 * spec.max_body_bytes
        if declared and declared.isdigit() and int(declared) > drain_up_to:
            return None
        body = bytearray()
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > drain_up_to:
                return None
            if seen <= spec.max_body_bytes:
                body += chunk
        return bytes(body) if seen <= spec.max_body_bytes else None

    async def predict(request: Request) -> Response:
        name = request.path_params["name"]
        model = models.get(name)
        if model is None:
            return error(404, f"no model {name!r}; served: {', '.join(models)}")
        body = await read_body(request)
        if body is None:
            requests.labels(name, "413").inc()
            return error(413, f"the body is over {spec.max_body_bytes} bytes")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or "pixels" not in payload:
                raise BadInput('the body must be a JSON object {"pixels": [...]}')
            x = pixels_array(payload["pixels"], model.info.shape)
        except (json.JSONDecodeError, UnicodeDecodeError):
            requests.labels(name, "400").inc()
            return error(400, "the body is not valid JSON")
        except BadInput as exc:
            requests.labels(name, "422").inc()
            return error(422, str(exc))
        try:
            row = await model.batcher.submit(x)
        except QueueFull as full:
            requests.labels(name, "503").inc()
            retry = str(int(full.retry_after_s))
            return error(503, str(full), {"Retry-After": retry})
        except TimeoutError:
            requests.labels(name, "504").inc()
            return error(504, f"not answered within {spec.batching.timeout_s:g} s")
        requests.labels(name, "200").inc()
        return JSONResponse(model.answer(row))

    async def list_models(request: Request) -> Response:
        return JSONResponse(
            {
                "models": [
                    m.info.as_dict() | {"runtime": m.runtime.runtime} for m in models.values()
                ],
                "batching": asdict(spec.batching),
            }
        )

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                name: asdict(m.batcher.stats) | {"mean_batch_size": m.batcher.stats.mean_batch_size}
                for name, m in models.items()
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def exposition(request: Request) -> Response:
        for name, model in models.items():
            depth.labels(name).set(model.batcher.depth)
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/v1/{name:path}/predict", predict, methods=["POST"]),
        Route("/v1/models", list_models),
        Route("/v1/stats", stats),
        Route("/healthz", health),
        Route("/readyz", health),
        Route("/metrics", exposition),
    ]
    return Starlette(routes=routes)


# ── gRPC ─────────────────────────────────────────────────────────────────────────────


def grpc_server(spec: ServerSpec, models: dict[str, Loaded]) -> Any:
    """A ``grpc.aio`` server (not started) with the classifier, health and reflection."""
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection

    from ai_roadmap.serving.deep import stubs

    messages, services = stubs.load(Path(spec.stubs_cache) if spec.stubs_cache else None)

    class Classifier(services.ImageClassifierServicer):  # type: ignore[misc,name-defined]
        async def _model(self, name: str, context: Any) -> Loaded:
            model = models.get(name)
            if model is None:
                await context.abort(
                    grpc.StatusCode.NOT_FOUND, f"no model {name!r}; served: {', '.join(models)}"
                )
            return model  # type: ignore[return-value]

        async def Predict(self, request: Any, context: Any) -> Any:
            model = await self._model(request.model, context)
            shape = model.info.shape
            if tuple(request.shape) != shape or len(request.pixels) != int(np.prod(shape)):
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"got shape {list(request.shape)} and {len(request.pixels)} bytes; this "
                    f"model takes shape {list(shape)}, {int(np.prod(shape))} uint8 bytes",
                )
            x = np.frombuffer(request.pixels, dtype=np.uint8).astype(np.float32).reshape(shape)
            try:
                row = await model.batcher.submit(x)
            except QueueFull as full:
                context.set_trailing_metadata((("retry-after", str(int(full.retry_after_s))),))
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(full))
            except TimeoutError:
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"not answered within {spec.batching.timeout_s:g} s",
                )
            answer = model.answer(row)
            return messages.PredictResponse(
                model=answer["model"],
                version=answer["version"],
                label=answer["label"],
                class_name=answer["class"],
                probabilities=answer["probabilities"],
                runtime=answer["runtime"],
            )

        async def GetModel(self, request: Any, context: Any) -> Any:
            model = await self._model(request.model, context)
            info = model.info
            return messages.ModelSpec(
                name=info.name,
                version=info.version,
                shape=list(info.shape),
                classes=list(info.classes),
                architecture=info.architecture,
                runtime=model.runtime.runtime,
            )

    limits = [
        ("grpc.max_receive_message_length", spec.max_body_bytes),
        ("grpc.max_send_message_length", spec.max_body_bytes),
    ]
    server = grpc.aio.server(options=limits)
    services.add_ImageClassifierServicer_to_server(Classifier(), server)
    checker = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    names = (
        messages.DESCRIPTOR.services_by_name["ImageClassifier"].full_name,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    server.add_insecure_port(f"{spec.host}:{spec.grpc_port}")
    return server, checker, health_pb2.HealthCheckResponse.SERVING


async def serve(spec: ServerSpec, models: dict[str, Loaded], stop: threading.Event) -> None:
    """Serve REST (and gRPC) until ``stop`` is set, then stop both and the batchers."""
    import uvicorn

    for model in models.values():
        model.batcher.start()
    grpc_srv = None
    if spec.grpc_port is not None:
        grpc_srv, checker, serving = grpc_server(spec, models)
        await grpc_srv.start()
        await checker.set("", serving)
        await checker.set(SERVICE, serving)
    config = uvicorn.Config(
        rest_app(spec, models),
        host=spec.host,
        port=spec.rest_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)

    async def watch() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.should_exit = True

    watcher = asyncio.create_task(watch())
    grpc_line = f", gRPC on {spec.host}:{spec.grpc_port}" if spec.grpc_port else ""
    names = ", ".join(models)
    print(
        f"serving {names} ({spec.runtime}) on {spec.host}:{spec.rest_port}{grpc_line}", flush=True
    )
    try:
        await server.serve()
    finally:
        watcher.cancel()
        if grpc_srv is not None:
            await grpc_srv.stop(grace=2)
        for model in models.values():
            await model.batcher.stop()


def run_server(spec: ServerSpec) -> None:
    """Models on the main thread (see :class:`MainThreadExecutor`), the event loop beside it."""
    import signal

    executor = MainThreadExecutor()
    models = load_models(spec, executor)
    stop, done = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def loop() -> None:
        try:
            asyncio.run(serve(spec, models, stop))
        except BaseException as exc:  # re-raised on the main thread below
            failed.append(exc)
        finally:
            done.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=loop, name="event-loop", daemon=True)
    thread.start()
    executor.run_until(done)
    thread.join(timeout=10)
    if failed:
        raise failed[0]


def passive_threads() -> None:
    """Idle intra-op threads sleep instead of spinning; call before torch is imported.

    OpenMP's worker threads (PyTorch's intra-op pool) spin for a while after each
    parallel region, waiting for the next one. In a server the event loop, the
    batcher and the clients share the cores with them, and spinning workers starve
    the loop: the distilled MobileNetV2 behind REST at 16 clients on 2 busy cores
    answered 2 requests/s with spinning workers and 37/s with passive ones (1 thread:
    143/s). ONNX Runtime's own pool gets the same setting in :meth:`ImageRuntime.use_onnx`.
    A value the user set is kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    passive_threads()
    parser = argparse.ArgumentParser(description="Serve image models over REST and gRPC.")
    parser.add_argument("--spec", required=True, type=Path, help="a ServerSpec JSON file")
    args = parser.parse_args(argv)
    from ai_roadmap.errors import RoadmapError

    try:
        run_server(ServerSpec.from_json(args.spec.read_text()))
    except (RoadmapError, OSError, ValueError, TypeError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
