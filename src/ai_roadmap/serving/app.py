"""The prediction service: ``create_app()`` builds a FastAPI app over exported models.

Each served model lives in ``<model_dir>/<name>/`` as written by ``roadmap
serve`` (``model.joblib``, ``model_card.json``, ``VERSION``). Routes and their
request schemas are built from the cards when the app is created; the model
files are loaded, hash-checked, at start-up (lifespan). Run it with

    gunicorn -k uvicorn.workers.UvicornWorker -w 2 'ai_roadmap.serving.app:create_app()'
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ai_roadmap.artifacts import ModelCard, load_model, read_card, verified_card
from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving import SERVED_MODELS
from ai_roadmap.serving.canary import ROLE_HEADER, CanaryRouter, routing_key
from ai_roadmap.serving.docs import add_offline_docs
from ai_roadmap.serving.gpu import publish_gpu
from ai_roadmap.serving.observability import ObservabilityMiddleware, exposition, metrics
from ai_roadmap.serving.quality import QualityMonitor, start_monitor
from ai_roadmap.serving.schemas import (
    BatchResponse,
    ErrorResponse,
    Health,
    ModelInfo,
    Prediction,
    PredictResponse,
    batch_model,
    request_model,
)
from ai_roadmap.settings import Settings, get_settings

NOT_FOUND = {404: {"model": ErrorResponse}}
# a body that is not UTF-8 is refused by FastAPI with 400 before validation
BAD_BODY = {400: {"model": ErrorResponse}}


@dataclass
class Served:
    name: str
    card: ModelCard
    version: str
    folder: Path
    model: Any = None
    fast: Any = None  # the compiled NumPy path (serving.fast), when the folder has one
    monitor_window: int = 500  # rows per drift window (mlops.monitoring)
    canary_share: float = 0.0
    monitor: QualityMonitor | None = None

    def load(self) -> None:
        """The fast path when exported with the model, else the training pipeline (joblib)."""
        from ai_roadmap.serving.fast.runtime import FastModel, has_fast_path

        self.monitor = start_monitor(
            self.name, self.version, self.folder, self.monitor_window, self.canary_share
        )
        if has_fast_path(self.folder):
            self.card = verified_card(self.folder)
            self.fast = FastModel.load(self.folder, self.card)
            return
        try:
            self.model, self.card = load_model(self.folder)
        except ImportError as exc:
            raise RoadmapError(
                f"model {self.name!r} has no fast path and this environment lacks {exc.name}: "
                "export it with `roadmap serve --export-only`, or install ai-roadmap[classic]"
            ) from None

    @property
    def path(self) -> str:
        return "fast" if self.fast is not None else "pipeline"

    def predict(self, records: list[BaseModel]) -> list[Prediction]:
        rows = [r.model_dump(by_alias=True) for r in records]
        if self.fast is not None:
            values = self.fast.predict(rows)
        else:
            import pandas as pd

            frame = pd.DataFrame(rows, columns=list(self.card.input_schema))
            if self.card.task == "classification":
                values = self.model.predict_proba(frame)[:, 1]
            else:
                values = self.model.predict(frame)
        if self.monitor is not None:
            classify = self.card.task == "classification"
            self.monitor.observe(rows, values if classify else None)
        if self.card.task == "classification":
            return [Prediction(prediction=float(p >= 0.5), probability=float(p)) for p in values]
        return [Prediction(prediction=float(y)) for y in values]


def read_served(settings: Settings) -> dict[str, Served]:
    """The cards of the requested models, or a one-line :class:`RoadmapError` naming the fix."""
    served = {}
    for name in settings.served:
        if name not in SERVED_MODELS:
            raise RoadmapError(f"unknown model {name!r}; servable: {', '.join(SERVED_MODELS)}", 2)
        folder = settings.model_dir / name
        if not (folder / "model_card.json").exists():
            raise RoadmapError(
                f"model {name!r} is not exported to {folder}; "
                f"run `roadmap run {SERVED_MODELS[name]}` then `roadmap serve`"
            )
        served[name] = served_folder(name, folder, settings)
    return served


def served_folder(name: str, folder: Path, settings: Settings) -> Served:
    """An exported folder as a (not yet loaded) served model; its version from ``VERSION``."""
    version_file = folder / "VERSION"
    version = version_file.read_text().strip() if version_file.exists() else "unversioned"
    return Served(
        name,
        read_card(folder),
        version,
        folder,
        monitor_window=settings.monitor_window,
        canary_share=settings.canary_share,
    )


def _loaded(name: str, settings: Settings) -> Any:
    def load(folder: Path) -> Served:
        item = served_folder(name, folder, settings)
        item.load()
        return item

    return load


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app factory (Gunicorn calls it once per worker)."""
    settings = settings or get_settings()
    served = read_served(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for item in served.values():
            item.load()
            metrics()["model"].labels(item.name, item.version, item.card.sha256[:12]).set(1)
        app.state.ready = True
        yield

    app = FastAPI(
        title="ai-roadmap prediction service",
        version="1",
        description="Stage-2 models of the roadmap, served from the MLflow registry's @champion.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ready = False
    app.add_middleware(ObservabilityMiddleware)
    add_offline_docs(app)
    _add_service_routes(app, served)
    for item in served.values():
        router = CanaryRouter(settings.model_dir, item.name, item, _loaded(item.name, settings))
        _add_model_routes(app, item, settings.serve_max_batch, router)
    _add_unknown_model_routes(app, served)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 whose ``message`` names the first offending field; ``detail`` has them all."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first.get("loc", ()))
    detail = jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("latin-1")})
    for error in detail:
        # the offending value is not echoed: NaN/Infinity cannot be written as JSON
        for key in ("ctx", "url", "input"):
            error.pop(key, None)
    return JSONResponse(
        status_code=422, content={"message": f"{where}: {first['msg']}", "detail": detail}
    )


def _add_service_routes(app: FastAPI, served: dict[str, Served]) -> None:
    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}}, tags=["service"])
    async def readyz(request: Request) -> Any:
        """The models are loaded."""
        if not request.app.state.ready:
            return JSONResponse(status_code=503, content={"status": "loading", "models": []})
        return Health(status="ready", models=list(served))

    @app.get("/metrics", tags=["service"], response_class=Response)
    async def metrics_page() -> Response:
        """Prometheus exposition format."""
        publish_gpu()  # NVML sampled per scrape; roadmap_gpu_present 0 where there is no GPU
        body, content_type = exposition()
        return Response(content=body, media_type=content_type)

    @app.get("/v1/models", response_model=list[ModelInfo], tags=["models"])
    async def list_models() -> list[ModelInfo]:
        """Loaded models with their versions, hashes and recorded metrics."""
        return [
            ModelInfo(
                name=s.name,
                milestone=SERVED_MODELS[s.name],
                version=s.version,
                task=s.card.task,
                target=s.card.target,
                sha256=s.card.sha256,
                metrics=s.card.metrics,
                inputs=list(s.card.input_schema),
            )
            for s in served.values()
        ]


def _add_model_routes(app: FastAPI, item: Served, max_batch: int, router: CanaryRouter) -> None:
    Record = request_model(item.name, item.card.input_schema)
    Batch = batch_model(item.name, Record, max_batch)

    async def predict(record: Record, request: Request) -> Any:  # type: ignore[valid-type]
        started = time.perf_counter()
        # champion, or the challenger for a canary's share of routing keys (serving.canary)
        chosen, role = router.pick(routing_key(request.headers, _host(request)))
        try:
            (result,) = chosen.predict([record])
        except ValueError as exc:  # valid fields whose combination the model cannot score
            return JSONResponse(status_code=422, content={"message": str(exc), "detail": []})
        # built here, not re-validated through response_model: this route is the hot path
        body = {**result.model_dump(), "model": item.name, "version": chosen.version}
        body["latency_ms"] = (time.perf_counter() - started) * 1000
        return JSONResponse(body, headers={ROLE_HEADER: role})

    async def predict_batch(batch: Batch, request: Request) -> Any:  # type: ignore[valid-type]
        started = time.perf_counter()
        chosen, role = router.pick(routing_key(request.headers, _host(request)))
        try:
            results = chosen.predict(batch.records)  # type: ignore[attr-defined]
        except ValueError as exc:
            return JSONResponse(status_code=422, content={"message": str(exc), "detail": []})
        body = {
            "predictions": [r.model_dump() for r in results],
            "model": item.name,
            "version": chosen.version,
            "latency_ms": (time.perf_counter() - started) * 1000,
        }
        return JSONResponse(body, headers={ROLE_HEADER: role})

    # the request models exist only at run time: give FastAPI the classes, not the strings
    predict.__annotations__ = {"record": Record, "request": Request, "return": Any}
    predict_batch.__annotations__ = {"batch": Batch, "request": Request, "return": Any}
    tag = [f"{item.name} ({SERVED_MODELS[item.name]})"]
    app.post(
        f"/v1/{item.name}/predict",
        response_model=PredictResponse,
        responses=BAD_BODY,
        tags=tag,
        summary=f"Predict {item.card.target} for one record",
    )(predict)
    app.post(
        f"/v1/{item.name}/predict/batch",
        response_model=BatchResponse,
        responses=BAD_BODY,
        tags=tag,
        summary=f"Predict {item.card.target} for up to {max_batch} records",
    )(predict_batch)


def _host(request: Request) -> str | None:
    return request.client.host if request.client else None


def _add_unknown_model_routes(app: FastAPI, served: dict[str, Served]) -> None:
    loaded = ", ".join(served) or "none"

    async def unknown(model: str) -> JSONResponse:
        return JSONResponse(
            status_code=404, content={"detail": f"unknown model {model!r}; loaded: {loaded}"}
        )

    for path in ("/v1/{model}/predict", "/v1/{model}/predict/batch"):
        app.post(path, responses=NOT_FOUND, include_in_schema=False)(unknown)
