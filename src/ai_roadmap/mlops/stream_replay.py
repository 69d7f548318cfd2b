"""Replay a labelled image set onto Kafka, and read the scoring store back as figures.

**Replay.** Image ``i`` becomes one message on the input topic: value = its raw
``uint8`` pixels ``(C, H, W)`` (the registered model's input format), key = a
routing key ``u<i mod users>`` (what the canary hashes; a user's images share a
partition and an arm), header ``id`` = ``m<run>-<i>`` (the idempotency key),
message timestamp = the **event time** (ms) at which it is sent. Its label goes to
the labels topic ``label_delay_s`` later, keyed by the same id, as ground truth
arrives after the prediction in production. ``rate`` messages per second
(0: as fast as the client sends) — faster than the consumers' schedule, the
backlog grows.

**Figures** from the store (:mod:`ai_roadmap.mlops.stream_scoring`):

* lag of a prediction = ``scored_ms − event_ms`` (event time to stored prediction);
* broker-level duplicates = deliveries − distinct ids delivered (re-deliveries);
* store duplicates = rows − distinct ids (0 by the primary key); missing = sent
  ids with no row;
* throughput = rows / (last scored − first event), and the scoring rate
  rows / Σ model time of the micro-batches.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Replay:
    """What to send and how fast."""

    run: str  # a tag making the ids of this run unique
    users: int = 50  # routing keys
    rate: float = 0.0  # messages / s (0: unthrottled)
    label_delay_s: float = 1.0


def message_ids(run: str, n: int) -> list[str]:
    return [f"m{run}-{i}" for i in range(n)]


def produce_stream(
    settings: dict[str, Any],
    topics: tuple[str, str],
    images: np.ndarray,
    labels: np.ndarray,
    replay: Replay,
    progress: dict[str, int] | None = None,
) -> dict[str, float]:
    """Send every image, then every label (each ``label_delay_s`` after its image); figures."""
    from confluent_kafka import Producer

    producer = Producer({**settings, "linger.ms": 5})
    image_topic, label_topic = topics
    ids = message_ids(replay.run, len(images))
    sent_at: list[float] = []
    due = _DueLabels(producer, label_topic, ids, labels)
    start = time.monotonic()
    for i, (pixels, mid) in enumerate(zip(images, ids, strict=True)):
        _pace(start, i, replay.rate)
        producer.produce(
            image_topic, value=np.ascontiguousarray(pixels, np.uint8).tobytes(),
            key=f"u{i % replay.users}", headers=[("id", mid.encode())],
            timestamp=int(time.time() * 1000),
        )  # fmt: skip
        sent_at.append(time.monotonic())
        if progress is not None:
            progress["sent"] = len(sent_at)
        due.send(sent_at, replay.label_delay_s)
        producer.poll(0)
    send_s = time.monotonic() - start
    while due.done < len(sent_at):  # the rest, each when its delay has passed
        due.send(sent_at, replay.label_delay_s)
        producer.poll(0.05)
    producer.flush(60)
    return {"sent": float(len(sent_at)), "send_s": send_s}


def _pace(start: float, i: int, rate: float) -> None:
    if rate > 0:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class _DueLabels:
    """Sends each label once its image is ``delay_s`` old."""

    def __init__(self, producer: Any, topic: str, ids: list[str], labels: Any) -> None:
        self.producer, self.topic, self.ids, self.labels = producer, topic, ids, labels
        self.done = 0

    def send(self, sent_at: list[float], delay_s: float) -> None:
        cutoff = time.monotonic() - delay_s
        while self.done < len(sent_at) and sent_at[self.done] <= cutoff:
            value = str(int(self.labels[self.done])).encode()
            self.producer.produce(self.topic, key=self.ids[self.done], value=value)
            self.done += 1


class LabelReader:
    """Collects ``id → label`` from the labels topic (its own group, from the start)."""

    def __init__(self, settings: dict[str, Any], topic: str, group: str) -> None:
        from confluent_kafka import Consumer

        from ai_roadmap.mlops.kafka_broker import GROUP_SETTINGS

        self.consumer = Consumer({**GROUP_SETTINGS, **settings, "group.id": group})
        self.consumer.subscribe([topic])
        self.labels: dict[str, int] = {}

    def read(self, wait_s: float = 0.2) -> dict[str, int]:
        for m in self.consumer.consume(1000, timeout=wait_s):
            key, value = m.key(), m.value()
            if m.error() is None and key is not None and value is not None:
                self.labels[bytes(key).decode()] = int(value)
        return self.labels

    def close(self) -> None:
        self.consumer.close()


def arm_accuracy(db: sqlite3.Connection, labels: dict[str, int]) -> dict[str, dict[str, float]]:
    """Per version: labelled predictions and their accuracy (so far)."""
    out: dict[str, dict[str, float]] = {}
    for mid, version, role, predicted in db.execute(
        "SELECT id, version, role, predicted FROM predictions"
    ):
        if mid in labels:
            arm = out.setdefault(version, {"n": 0.0, "correct": 0.0, "role": role})
            arm["n"] += 1
            arm["correct"] += float(predicted == labels[mid])
    for arm in out.values():
        arm["accuracy"] = arm["correct"] / arm["n"]
    return out


def exactly_once_figures(db: sqlite3.Connection, ids: list[str]) -> dict[str, float]:
    """Deliveries, re-deliveries, rows, store duplicates, missing ids."""

    def q(sql: str) -> float:
        return float(db.execute(sql).fetchone()[0] or 0)

    rows = q("SELECT COUNT(*) FROM predictions")
    stored = {r[0] for r in db.execute("SELECT id FROM predictions")}
    deliveries = q("SELECT COUNT(*) FROM deliveries")
    return {
        "deliveries": deliveries,
        "duplicates_broker": deliveries - q("SELECT COUNT(DISTINCT id) FROM deliveries"),
        "rows_stored": rows,
        "duplicates_store": rows - len(stored),
        "missing": float(len(set(ids) - stored)),
    }


def lag_figures(db: sqlite3.Connection) -> dict[str, float]:
    """Event time → stored prediction: P50/P99 (s); throughput and scoring rate (msgs/s)."""
    lag = np.array([r[0] for r in db.execute("SELECT scored_ms - event_ms FROM predictions")])
    first_event, last_scored = db.execute(
        "SELECT MIN(event_ms), MAX(scored_ms) FROM predictions"
    ).fetchone()
    score_s = float(db.execute("SELECT SUM(score_s) FROM batches").fetchone()[0] or 0.0)
    span_s = max(1e-3, (last_scored - first_event) / 1000)
    return {
        "lag_p50_s": float(np.percentile(lag, 50)) / 1000,
        "lag_p99_s": float(np.percentile(lag, 99)) / 1000,
        "throughput_msgs_per_s": len(lag) / span_s,
        "scoring_msgs_per_s": len(lag) / max(score_s, 1e-9),
    }


def read_topic_ids(settings: dict[str, Any], topic: str, wait_s: float) -> list[str]:
    """Every prediction id on ``topic``, read from the start of each partition (no group)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**settings, "group.id": "audit", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=wait_s).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    ids: list[str] = []
    quiet_since = time.monotonic()
    try:
        while time.monotonic() - quiet_since < wait_s:
            got = [m for m in consumer.consume(1000, timeout=0.5) if m.error() is None]
            if got:
                quiet_since = time.monotonic()
            ids += [json.loads(m.value() or b"{}")["id"] for m in got]
    finally:
        consumer.close()
    return ids


def pressure_figures(db: sqlite3.Connection) -> dict[str, float]:
    """Peak member RSS (MB); each member's RSS growth over its first micro-batch's."""
    rows = db.execute("SELECT pid, rss_kb FROM batches ORDER BY started_ms").fetchall()
    first: dict[int, int] = {}
    growth = 0.0
    for pid, rss in rows:
        first.setdefault(pid, rss)
        growth = max(growth, (rss - first[pid]) / 1024)
    return {
        "member_peak_rss_mb": max((r[1] for r in rows), default=0) / 1024,
        "member_rss_growth_mb": growth,
        "micro_batches": float(len(rows)),
    }
