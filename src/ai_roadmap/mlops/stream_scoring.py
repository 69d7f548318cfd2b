"""A consumer-group member that scores a Kafka stream of images in scheduled micro-batches.

Run as its own process (``python -m ai_roadmap.mlops.stream_scoring spec.json``).
Every ``interval_s`` (10 minutes in ``full``, a second or two at smoke) it takes
micro-batches of at most ``max_batch`` messages, until its partitions are drained or
``max_per_tick`` messages were taken, then sleeps until the next tick (its
``max.poll.interval.ms`` is stretched to cover the schedule; liveness is the
background heartbeat's ``session.timeout.ms``). Each micro-batch is

    score → write to the store (INSERT OR IGNORE by message id) → produce to the
    output topic → flush → commit the offsets (synchronously)

Kafka delivers **at least once**: a member killed after its write and before its
commit leaves those offsets uncommitted, and the group hands the messages out again.
The store's primary key is the message id and the insert ignores a second copy, so
each input has exactly one stored prediction — **exactly-once results** from
at-least-once delivery. Every delivery is also logged (``deliveries``), so the
re-deliveries are counted, not hidden.

**Canary.** A key goes to ``@challenger`` when ``bucket(key, salt) < share``
(:func:`ai_roadmap.serving.canary.goes_to_challenger`: sticky per key); the rest to
``@champion``. The aliases are read from the MLflow registry at most every
``alias_poll_s`` (0: before every micro-batch), so moving or deleting an alias
reaches a running member within one micro-batch, with no restart. A version is
downloaded once and kept.

Memory is bounded by the schedule, not by the backlog: librdkafka's prefetch queue
is capped (``queued.max.messages.kbytes``) and a micro-batch holds ``max_batch``
messages; what waits beyond that stays on the broker.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

OFFLINE = {
    "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
}  # fmt: skip
SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY, key TEXT, version TEXT, role TEXT, predicted INTEGER,
    confidence REAL, event_ms INTEGER, scored_ms INTEGER, member TEXT, pid INTEGER);
CREATE TABLE IF NOT EXISTS deliveries (id TEXT, member TEXT, pid INTEGER, received_ms INTEGER);
CREATE TABLE IF NOT EXISTS batches (
    member TEXT, pid INTEGER, rows INTEGER, new_rows INTEGER, started_ms INTEGER,
    committed_ms INTEGER, score_s REAL, rss_kb INTEGER);
"""


@dataclass(frozen=True)
class Source:
    """Where the models come from: the registry's aliases, or two fixed folders (tests)."""

    kind: str = "registry"  # registry | folders
    tracking_uri: str = ""
    name: str = ""  # registered model name
    champion: str = ""  # folders: the champion's model folder
    challenger: str = ""  # folders: the challenger's (empty: none)


@dataclass(frozen=True)
class ScoringSpec:
    """Everything one member needs; written as JSON for the child process."""

    kafka: dict[str, Any]  # librdkafka settings (bootstrap.servers and the user's extras)
    group: str
    input_topic: str
    output_topic: str
    store: str  # SQLite file
    member: str
    source: Source
    cache: str  # where registry versions are downloaded
    interval_s: float = 1.0
    max_batch: int = 32
    max_per_tick: int = 256
    queued_kbytes: int = 1024  # librdkafka prefetch cap per member
    share: float = 0.0
    salt: str = "canary"
    alias_poll_s: float = 0.0
    threads: int = 1
    stop_file: str = ""
    drill_batch: int = 0  # > 0: after this micro-batch's write, before its commit, pause …
    drill_marker: str = ""  # … and write this file (the caller SIGKILLs the member)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> ScoringSpec:
        raw = json.loads(text)
        raw["source"] = Source(**raw["source"])
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def open_store(path: str | Path) -> sqlite3.Connection:
    """The results store (WAL, so several members and a reader share it)."""
    db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def now_ms() -> int:
    return int(time.time() * 1000)


def rss_kb() -> int:
    """This process's resident set size (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ── models ───────────────────────────────────────────────────────────────────────────


class Models:
    """``(champion, challenger)`` runtimes, re-read from the registry when due."""

    def __init__(
        self, source: Source, cache: Path, threads: int, poll_s: float, warm_batch: int = 1
    ) -> None:
        self.source, self.cache, self.threads, self.poll_s = source, cache, threads, poll_s
        self.warm_batch = warm_batch
        self.loaded: dict[str, Any] = {}
        self.current: tuple[str, str | None] = ("", None)
        self.polled = -1e18
        self.client: Any = None

    def _runtime(self, version: str, folder: Path) -> Any:
        from ai_roadmap.serving.deep.runtime import ImageRuntime, load_folder

        if version not in self.loaded:
            info, module = load_folder(folder, self.source.name, version, "")
            runtime = ImageRuntime(info, module, "eager", self.threads)
            # warmed at the largest micro-batch, so that the memory a member holds from its
            # first batch on is the model's and the runtime's, and later growth is the stream's
            for n in (1, self.warm_batch):
                runtime.predict(np.zeros((n, *info.shape), dtype=np.float32))
            self.loaded[version] = runtime
        return self.loaded[version]

    def _registry_aliases(self) -> tuple[str, str | None]:
        if self.client is None:
            from mlflow.tracking import MlflowClient

            self.client = MlflowClient(self.source.tracking_uri)
        found = dict(self.client.get_registered_model(self.source.name).aliases)
        return str(found["champion"]), (str(found["challenger"]) if "challenger" in found else None)

    def _folder(self, version: str) -> Path:
        if self.source.kind == "folders":
            return Path(version)
        dest = self.cache / f"v{version}"
        if not (dest / "model").exists():
            run_id = self.client.get_model_version(self.source.name, version).run_id
            dest.mkdir(parents=True, exist_ok=True)
            self.client.download_artifacts(run_id, "model", str(dest))
        return dest / "model"

    def get(self) -> tuple[tuple[str, Any], tuple[str, Any] | None]:
        """The runtimes to score with now (aliases re-read when ``poll_s`` has passed)."""
        if time.monotonic() - self.polled >= self.poll_s:
            if self.source.kind == "folders":
                self.current = (self.source.champion, self.source.challenger or None)
            else:
                self.current = self._registry_aliases()
            self.polled = time.monotonic()
        champ, chall = self.current
        first = (champ, self._runtime(champ, self._folder(champ)))
        second = None if chall is None else (chall, self._runtime(chall, self._folder(chall)))
        return first, second


# ── one micro-batch ──────────────────────────────────────────────────────────────────


def message_id(message: Any) -> str:
    """The producer's id of a message (header ``id``); topic:partition:offset when absent."""
    for name, value in message.headers() or []:
        if name == "id":
            return bytes(value).decode()
    return f"{message.topic()}:{message.partition()}:{message.offset()}"


def score_batch(messages: list[Any], models: Models, spec: ScoringSpec) -> list[tuple]:
    """Rows (id, key, version, role, predicted, confidence, event_ms, scored_ms, member, pid)."""
    from ai_roadmap.serving.canary import goes_to_challenger

    (champ, champ_rt), challenger = models.get()
    shape = champ_rt.info.shape
    keys = [m.key().decode() for m in messages]
    ids = [message_id(m) for m in messages]
    pixels = np.stack([np.frombuffer(m.value(), np.uint8).reshape(shape) for m in messages])
    arm = np.array(
        [challenger is not None and goes_to_challenger(k, spec.salt, spec.share) for k in keys]
    )
    probs = np.zeros((len(messages), len(champ_rt.info.classes)), np.float32)
    if (~arm).any():
        probs[~arm] = champ_rt.predict(pixels[~arm])
    if arm.any() and challenger is not None:
        probs[arm] = challenger[1].predict(pixels[arm])
    scored, pid = now_ms(), os.getpid()
    rows = []
    for i, m in enumerate(messages):
        on_challenger = bool(arm[i]) and challenger is not None
        version = challenger[0] if on_challenger and challenger else champ
        role = "challenger" if on_challenger else "champion"
        event_ms = m.timestamp()[1]
        rows.append(
            (ids[i], keys[i], version, role, int(probs[i].argmax()),
             float(probs[i].max()), event_ms, scored, spec.member, pid)
        )  # fmt: skip
    return rows


def store_rows(db: sqlite3.Connection, rows: list[tuple], spec: ScoringSpec) -> int:
    """Insert what is new (a re-delivered id is ignored); log every delivery. New rows."""
    pid, received = os.getpid(), now_ms()
    db.execute("BEGIN IMMEDIATE")
    before = db.total_changes
    db.executemany("INSERT OR IGNORE INTO predictions VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    new = db.total_changes - before
    delivered = [(r[0], spec.member, pid, received) for r in rows]
    db.executemany("INSERT INTO deliveries VALUES (?,?,?,?)", delivered)
    db.execute("COMMIT")
    return new


def publish(producer: Any, topic: str, rows: list[tuple]) -> None:
    """Each prediction to the output topic, keyed by message id; waits for every ack."""
    for r in rows:
        value = {"id": r[0], "version": r[2], "role": r[3], "predicted": r[4], "confidence": r[5]}
        producer.produce(topic, key=r[0], value=json.dumps(value).encode())
    producer.flush(30)


def commit(consumer: Any, messages: list[Any]) -> None:
    """Commit the next offset of each partition seen in the batch (synchronously)."""
    from confluent_kafka import TopicPartition

    top: dict[tuple[str, int], int] = {}
    for m in messages:
        top[(m.topic(), m.partition())] = max(top.get((m.topic(), m.partition()), -1), m.offset())
    consumer.commit(
        offsets=[TopicPartition(t, p, o + 1) for (t, p), o in top.items()], asynchronous=False
    )


# ── the member's loop ────────────────────────────────────────────────────────────────


class Member:
    """One consumer-group member: its clients, store, models and batch counter."""

    def __init__(self, spec: ScoringSpec) -> None:
        from confluent_kafka import Consumer, Producer

        from ai_roadmap.mlops.kafka_broker import GROUP_SETTINGS

        self.spec = spec
        settings = {**GROUP_SETTINGS, **spec.kafka, "group.id": spec.group}
        settings["queued.max.messages.kbytes"] = spec.queued_kbytes
        # a member polls once per tick: allow a long schedule (full: 10 minutes) between polls;
        # a dead member is still noticed after session.timeout.ms (heartbeats run in the background)
        poll_ms = max(settings["max.poll.interval.ms"], int((2 * spec.interval_s + 5) * 1000))
        settings["max.poll.interval.ms"] = poll_ms
        self.consumer = Consumer(settings)
        self.producer = Producer({**spec.kafka, "enable.idempotence": False, "linger.ms": 5})
        self.db = open_store(spec.store)
        self.models = Models(
            spec.source, Path(spec.cache), spec.threads, spec.alias_poll_s, spec.max_batch
        )
        self.batches = 0

    def stopping(self) -> bool:
        return bool(self.spec.stop_file) and Path(self.spec.stop_file).exists()

    def wait_for_tick(self, until: float) -> None:
        """Sleep until the tick; librdkafka keeps at most ``queued_kbytes`` prefetched meanwhile."""
        while time.monotonic() < until and not self.stopping():
            time.sleep(min(0.2, max(0.0, until - time.monotonic())))

    def tick(self) -> None:
        """Drain up to ``max_per_tick`` messages in micro-batches of ``max_batch``."""
        taken = 0
        wait_s = min(1.0, max(0.2, self.spec.interval_s / 2))
        while taken < self.spec.max_per_tick and not self.stopping():
            want = min(self.spec.max_batch, self.spec.max_per_tick - taken)
            messages = [m for m in self.consumer.consume(want, timeout=wait_s) if m.error() is None]
            if not messages:
                break
            self.one_batch(messages)
            taken += len(messages)

    def one_batch(self, messages: list[Any]) -> None:
        started = now_ms()
        t0 = time.perf_counter()
        rows = score_batch(messages, self.models, self.spec)
        score_s = time.perf_counter() - t0
        new = store_rows(self.db, rows, self.spec)
        publish(self.producer, self.spec.output_topic, rows)
        self.batches += 1
        if self.spec.drill_batch and self.batches == self.spec.drill_batch:
            Path(self.spec.drill_marker).write_text(f"{len(rows)} rows stored, not committed\n")
            time.sleep(3600)  # the caller SIGKILLs this process here
        commit(self.consumer, messages)
        self.db.execute(
            "INSERT INTO batches VALUES (?,?,?,?,?,?,?,?)",
            (self.spec.member, os.getpid(), len(rows), new, started, now_ms(), score_s, rss_kb()),
        )  # fmt: skip

    def run(self) -> None:
        self.consumer.subscribe([self.spec.input_topic])
        self.models.get()  # load the models before the first tick
        next_tick = time.monotonic()
        while not self.stopping():
            self.wait_for_tick(next_tick)
            if self.stopping():
                break
            next_tick = time.monotonic() + self.spec.interval_s
            self.tick()
        self.consumer.close()  # leaves the group at once (no session timeout to wait out)
        self.producer.flush(10)


def start_member(spec: ScoringSpec, folder: Path) -> subprocess.Popen[bytes]:
    """The member as a child process in its own process group (stop it by group)."""
    import ai_roadmap

    stamp = time.strftime("%H%M%S") + f"-{time.monotonic_ns() % 10**6}"
    path = folder / f"{spec.member}-{stamp}.json"
    path.write_text(spec.to_json())
    src = str(Path(ai_roadmap.__file__).resolve().parents[1])
    env = dict(os.environ, **OFFLINE)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    with (folder / f"{spec.member}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ai_roadmap.mlops.stream_scoring", str(path)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip


def main(argv: list[str]) -> int:
    """Entry point of the member's process: ``spec.json`` path as the only argument."""
    spec = ScoringSpec.from_json(Path(argv[0]).read_text())
    if spec.stop_file:  # SIGTERM: finish the micro-batch, commit, leave the group
        signal.signal(signal.SIGTERM, lambda *_: Path(spec.stop_file).touch())
    import torch

    torch.set_num_threads(spec.threads)
    Member(spec).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
