"""Clients of the image server: one-off answers for the checks, and a closed-loop load generator.

REST goes through ``aiohttp`` (one connection per concurrent client, bodies encoded
before the clock starts), gRPC through one ``grpc.aio`` channel (HTTP/2 carries the
concurrent calls). :func:`drive` keeps ``concurrency`` requests in flight for
``duration_s`` after a short warm-up and reports throughput, P50/P99 latency,
errors by status and the CPU the generator itself used (it shares the machine's
cores with the server). Run it in its own process —
``python -m ai_roadmap.serving.deep.client --job job.json`` prints one JSON line —
so that its CPU is not the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PROTOCOLS = ("rest", "grpc")


@dataclass
class Answer:
    """One request's outcome: status (HTTP code, or the gRPC code's name), probabilities."""

    status: str
    probabilities: list[float] = field(default_factory=list)
    detail: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("200", "OK")


def rest_body(image: np.ndarray) -> bytes:
    return json.dumps({"pixels": image.reshape(-1).astype(int).tolist()}).encode()


async def _rest_one(session: Any, url: str, body: bytes) -> Answer:
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        payload = await r.json(content_type=None)
        if r.status == 200:
            return Answer("200", payload.get("probabilities", []))
        return Answer(str(r.status), [], str(payload.get("detail", "")), dict(r.headers))


async def _grpc_one(stub: Any, request: Any, timeout: float | None = None) -> Answer:
    import grpc

    try:
        reply = await stub.Predict(request, timeout=timeout)
    except grpc.aio.AioRpcError as exc:
        trailers = {k: v for k, v in (exc.trailing_metadata() or ())}
        return Answer(exc.code().name, [], exc.details() or "", trailers)
    return Answer("OK", list(reply.probabilities))


def grpc_request(messages: Any, model: str, image: np.ndarray) -> Any:
    return messages.PredictRequest(
        model=model, pixels=image.astype(np.uint8).tobytes(), shape=list(image.shape)
    )


async def answers(
    protocol: str, target: str, model: str, images: np.ndarray, stubs_cache: Path | None = None
) -> list[Answer]:
    """Every image sent at once (all in flight together); the answers in the images' order."""
    if protocol == "rest":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=len(images))
        async with aiohttp.ClientSession(connector=connector) as session:
            url = f"{target}/v1/{model}/predict"
            return list(
                await asyncio.gather(*(_rest_one(session, url, rest_body(i)) for i in images))
            )
    import grpc

    from ai_roadmap.serving.deep import stubs

    messages, services = stubs.load(stubs_cache)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = services.ImageClassifierStub(channel)
        calls = (_grpc_one(stub, grpc_request(messages, model, i)) for i in images)
        return list(await asyncio.gather(*calls))


@dataclass
class LoadResult:
    """What a closed loop of ``concurrency`` clients measured over ``duration_s``."""

    protocol: str
    concurrency: int
    requests: int
    errors: int
    statuses: dict[str, int]
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    generator_cores: float  # the generator's CPU seconds per second


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    protocol: str,
    target: str,
    images: np.ndarray,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.5,
    model: str = "",
    path: str = "",
    stubs_cache: Path | None = None,
) -> LoadResult:
    """Keep ``concurrency`` requests in flight; REST posts to ``target + path``."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    clock = {"measuring": False, "stop": False}

    async def client(send: Any, payloads: list[Any], offset: int) -> None:
        i = offset
        while not clock["stop"]:
            started = time.perf_counter()
            try:
                answer = await send(payloads[i % len(payloads)])
                status = answer.status
            except Exception as exc:  # a refused or dropped connection is an error, not a stop
                status = type(exc).__name__
            if clock["measuring"] and not clock["stop"]:
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
            i += concurrency

    async def timed(tasks: list[asyncio.Task[None]]) -> tuple[float, float]:
        await asyncio.sleep(warmup_s)
        clock["measuring"] = True
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        await asyncio.sleep(duration_s)
        clock["stop"] = True
        elapsed, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
        await asyncio.gather(*tasks, return_exceptions=True)
        return elapsed, cpu

    if protocol == "rest":
        import aiohttp

        bodies = [rest_body(i) for i in images]
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = target + (path or f"/v1/{model}/predict")

            async def send(body: bytes) -> Answer:
                return await _rest_one(session, url, body)

            tasks = [asyncio.create_task(client(send, bodies, k)) for k in range(concurrency)]
            elapsed, cpu = await timed(tasks)
    else:
        import grpc

        from ai_roadmap.serving.deep import stubs

        messages, services = stubs.load(stubs_cache)
        requests = [grpc_request(messages, model, i) for i in images]
        async with grpc.aio.insecure_channel(target) as channel:
            stub = services.ImageClassifierStub(channel)

            async def send(request: Any) -> Answer:
                return await _grpc_one(stub, request)

            tasks = [asyncio.create_task(client(send, requests, k)) for k in range(concurrency)]
            elapsed, cpu = await timed(tasks)
    ok = statuses.get("200", 0) + statuses.get("OK", 0)
    ms = np.asarray(latencies) * 1000.0
    return LoadResult(
        protocol,
        concurrency,
        len(latencies),
        len(latencies) - ok,
        statuses,
        round(elapsed, 3),
        ok / elapsed,
        float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        cpu / elapsed,
    )


def main(argv: list[str] | None = None) -> int:
    """``--job job.json``: {protocol, target, images (.npy), concurrency, duration_s, …}."""
    parser = argparse.ArgumentParser(description="Closed-loop load on an image server.")
    parser.add_argument("--job", required=True, type=Path)
    job = json.loads(parser.parse_args(argv).job.read_text())
    images = np.load(job.pop("images"))
    if job.get("stubs_cache"):
        job["stubs_cache"] = Path(job["stubs_cache"])
    result = asyncio.run(drive(images=images, **job))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
