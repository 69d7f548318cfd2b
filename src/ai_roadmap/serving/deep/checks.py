"""The checks of ``s5.serving``, each against a real server: equal answers, faults, hostile input.

Every function returns :class:`Check` rows (name, passed, one line of what was seen);
the milestone counts the failures. References are in-process predictions of the same
model folder, one image at a time.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_roadmap.serving.deep.bench import Running
from ai_roadmap.serving.deep.client import Answer, answers, grpc_request


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def max_diff(got: list[Answer], reference: np.ndarray) -> float:
    """Largest |Δ| over every probability; infinite if any request failed."""
    if len(got) != len(reference) or not all(a.ok for a in got):
        return float("inf")
    return float(np.abs(np.asarray([a.probabilities for a in got]) - reference).max())


def equal(name: str, got: list[Answer], reference: np.ndarray, tol: float, what: str) -> Check:
    diff = max_diff(got, reference)
    failed = sum(not a.ok for a in got)
    detail = f"{what}: max |Δ| {diff:.1e} over {len(got)} images (bar {tol:g})"
    if failed:
        detail += f"; {failed} request(s) failed: {sorted({a.status for a in got if not a.ok})}"
    return Check(name, diff <= tol, detail)


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _declared_huge(url: str, length: int) -> int:
    """Status for headers declaring ``length`` bytes, read before any of the body is sent."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def hostile_rest(running: Running, image: np.ndarray) -> Check:
    """Malformed, mis-shaped, out-of-range, oversized, unknown: each its status; then a 200."""
    model = running.spec.models[0].name
    url = f"{running.url}/v1/{model}/predict"
    n = image.size
    cases = {
        "not JSON": (b"{pixels:", 400),
        "wrong shape": (json.dumps({"pixels": [0] * (n - 1)}).encode(), 422),
        "out of range": (json.dumps({"pixels": [300] * n}).encode(), 422),
        "no pixels": (b'{"x": 1}', 422),
        "not an object": (b"[1, 2]", 422),
        "huge body": (b'{"pixels": [' + b"0," * running.spec.max_body_bytes + b"0]}", 413),
    }
    seen = {what: _post(url, body)[0] for what, (body, _) in cases.items()}
    seen["huge body declared"] = _declared_huge(url, 64 * running.spec.max_body_bytes)
    seen["unknown model"] = _post(f"{running.url}/v1/nope/predict", b"{}")[0]
    after = _post(url, json.dumps({"pixels": image.reshape(-1).astype(int).tolist()}).encode())[0]
    wanted = {what: status for what, (_, status) in cases.items()}
    wanted |= {"huge body declared": 413, "unknown model": 404}
    ok = seen == wanted and after == 200
    shown = ", ".join(f"{k} {v}" for k, v in seen.items())
    return Check("hostile_rest", ok, f"REST: {shown}; a good request after them: {after}")


def hostile_grpc(running: Running, image: np.ndarray) -> Check:
    """Garbage bytes, wrong shape, oversized, unknown model: error statuses; then OK."""
    import grpc

    from ai_roadmap.serving.deep import stubs

    messages, services = stubs.load(_cache(running))
    model = running.spec.models[0].name
    seen: dict[str, str] = {}
    with grpc.insecure_channel(running.grpc) as channel:
        stub = services.ImageClassifierStub(channel)
        raw = channel.unary_unary("/roadmap.inference.v1.ImageClassifier/Predict")
        huge = bytes(running.spec.max_body_bytes + 1)
        calls = {
            "garbage protobuf": lambda: raw(b"\xff\xff\xff\xff\x0fnot a message"),
            "wrong shape": lambda: stub.Predict(
                messages.PredictRequest(model=model, pixels=bytes(7), shape=[1, 7])
            ),
            "huge message": lambda: stub.Predict(
                messages.PredictRequest(model=model, pixels=huge, shape=list(image.shape))
            ),
            "unknown model": lambda: stub.Predict(messages.PredictRequest(model="nope")),
            "good request after them": lambda: stub.Predict(grpc_request(messages, model, image)),
        }
        for what, call in calls.items():
            try:
                call()
                seen[what] = "OK"
            except grpc.RpcError as exc:
                seen[what] = exc.code().name
    wanted = {
        "wrong shape": "INVALID_ARGUMENT",
        "huge message": "RESOURCE_EXHAUSTED",
        "unknown model": "NOT_FOUND",
        "good request after them": "OK",
    }
    ok = seen["garbage protobuf"] != "OK" and all(seen[k] == v for k, v in wanted.items())
    return Check("hostile_grpc", ok, "gRPC: " + ", ".join(f"{k} {v}" for k, v in seen.items()))


def _cache(running: Running) -> Any:
    from pathlib import Path

    return Path(running.spec.stubs_cache) if running.spec.stubs_cache else None


def health_and_reflection(running: Running) -> Check:
    """The standard health service says SERVING; reflection lists our service."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    from ai_roadmap.serving.deep.stubs import SERVICE

    with grpc.insecure_channel(running.grpc) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=10
        )
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        services = list(ProtoReflectionDescriptorDatabase(channel).get_services())
    ok = status == "SERVING" and SERVICE in services
    return Check("health_and_reflection", ok, f"health {status}; reflection lists {services}")


def queue_full(running: Running, images: np.ndarray) -> list[Check]:
    """2 × the queue bound at once: the overflow is refused at once (503 / RESOURCE_EXHAUSTED)."""
    model, bound = running.spec.models[0].name, running.spec.batching.max_queue_size
    burst = images[: 2 * bound]
    rows = []
    for protocol, refused in (("rest", "503"), ("grpc", "RESOURCE_EXHAUSTED")):
        target = running.url if protocol == "rest" else running.grpc
        started = time.perf_counter()
        got = asyncio.run(answers(protocol, target, model, burst, _cache(running)))
        elapsed = time.perf_counter() - started
        statuses = [a.status for a in got]
        retry = [a.headers.get("Retry-After") or a.headers.get("retry-after") for a in got]
        n_ok = sum(a.ok for a in got)
        n_refused = statuses.count(refused)
        with_retry = sum(1 for a, r in zip(got, retry, strict=True) if a.status == refused and r)
        ok = n_ok >= 1 and n_refused >= 1 and n_ok + n_refused == len(got)
        ok = (
            ok
            and with_retry == n_refused
            and elapsed < 10 * (1 + running.spec.batching.max_queue_delay_ms / 1000)
        )
        rows.append(
            Check(
                f"queue_full_{protocol}",
                ok,
                f"{protocol}: {len(got)} at once into a queue of {bound}: {n_ok} answered, "
                f"{n_refused} refused ({refused}, {with_retry} with Retry-After) in "
                f"{elapsed:.1f} s",
            )
        )
    return rows


def cancelled_client(running: Running, images: np.ndarray, reference: np.ndarray) -> Check:
    """A client that gives up before its batch runs is dropped; the rest of the batch is fine."""
    import grpc

    from ai_roadmap.serving.deep import stubs

    messages, services = stubs.load(_cache(running))
    model = running.spec.models[0].name
    delay_s = running.spec.batching.max_queue_delay_ms / 1000.0
    n = min(3, running.spec.batching.max_queue_size - 1)

    async def go() -> tuple[list[Answer], Answer]:
        from ai_roadmap.serving.deep.client import _grpc_one

        async with grpc.aio.insecure_channel(running.grpc) as channel:
            stub = services.ImageClassifierStub(channel)
            stay = [_grpc_one(stub, grpc_request(messages, model, i)) for i in images[:n]]
            leave = _grpc_one(stub, grpc_request(messages, model, images[n]), timeout=delay_s / 4)
            *kept, gone = await asyncio.gather(*stay, leave)
            return kept, gone

    before = next(iter(running.stats().values()))
    kept, gone = asyncio.run(go())
    after = next(iter(running.stats().values()))
    dropped = after["dropped"] - before["dropped"]
    diff = max_diff(kept, reference[:n])
    ok = gone.status == "DEADLINE_EXCEEDED" and dropped >= 1 and diff <= 1e-5
    ok = ok and after["rows"] - before["rows"] == n
    return Check(
        "cancelled_client",
        ok,
        f"{n} clients + 1 that gave up after {delay_s / 4:.2f} s ({gone.status}): the batch "
        f"ran {after['rows'] - before['rows']} rows, dropped {dropped}, the others' max |Δ| "
        f"{diff:.1e}",
    )


def request_timeout(running: Running, image: np.ndarray) -> Check:
    """A request not answered within ``timeout_s`` gets 504 / DEADLINE_EXCEEDED, promptly."""
    model, timeout_s = running.spec.models[0].name, running.spec.batching.timeout_s
    seen = []
    started = time.perf_counter()
    for protocol in ("rest", "grpc"):
        target = running.url if protocol == "rest" else running.grpc
        got = asyncio.run(answers(protocol, target, model, image[None], _cache(running)))
        seen.append(got[0].status)
    elapsed = (time.perf_counter() - started) / 2
    ok = seen == ["504", "DEADLINE_EXCEEDED"] and elapsed < timeout_s + 1.0
    return Check(
        "request_timeout",
        ok,
        f"timeout {timeout_s:g} s with a {running.spec.batching.max_queue_delay_ms:g} ms batch "
        f"delay: REST {seen[0]}, gRPC {seen[1]}, after {elapsed:.2f} s each",
    )
