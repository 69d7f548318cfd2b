"""Request ids, structured JSON access logs and Prometheus metrics, as one ASGI middleware.

Metrics follow the RED pattern per endpoint (route template, so the label set
stays small): ``roadmap_http_requests_total{endpoint,method,status}`` and the
latency histogram ``roadmap_http_request_duration_seconds{endpoint}``; model
versions are exported as ``roadmap_model_info{model,version,sha256}``.
Under Gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` (``roadmap
serve`` does) so ``/metrics`` adds up every worker.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_METRICS: dict[str, Any] = {}


def metrics() -> dict[str, Any]:
    """The process's metric objects (created once; the default registry holds them)."""
    if not _METRICS:
        _METRICS["requests"] = Counter(
            "roadmap_http_requests_total", "HTTP requests.", ["endpoint", "method", "status"]
        )
        _METRICS["latency"] = Histogram(
            "roadmap_http_request_duration_seconds",
            "Request latency.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
        )
        _METRICS["model"] = Gauge(
            "roadmap_model_info",
            "Loaded model versions (value 1).",
            ["model", "version", "sha256"],
            multiprocess_mode="max",
        )
    return _METRICS


def exposition() -> tuple[bytes, str]:
    """The metrics page: this process's registry, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def access_logger() -> logging.Logger:
    logger = logging.getLogger("ai_roadmap.access")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class ObservabilityMiddleware:
    """Adds ``X-Request-ID``, times the request, counts it and logs one JSON line."""

    def __init__(self, app: Any, log_requests: bool = True) -> None:
        self.app = app
        self.log = access_logger() if log_requests else None
        self.metrics = metrics()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            self.metrics["requests"].labels(endpoint, scope["method"], str(status["code"])).inc()
            self.metrics["latency"].labels(endpoint).observe(elapsed)
            if self.log is not None:
                self.log.info(
                    json.dumps(
                        {
                            "ts": round(time.time(), 3),
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "endpoint": endpoint,
                            "status": status["code"],
                            "latency_ms": round(elapsed * 1000, 3),
                        }
                    )
                )
