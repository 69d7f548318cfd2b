"""s5.stream — the stage-3 image model on a Kafka stream: scheduled batches, canary, rollback.

1. Models: the champion is the registry's ``s3.distill`` ``@champion`` (or, at smoke
   or when none exists, a small stand-in MobileNetV2 trained here, named as such);
   the challenger is a stand-in trained on shuffled labels (or untrained) — a
   worse model by construction. Both are registered as versions of
   ``models.registry_name`` with ``@champion`` / ``@challenger``.
2. The broker: a local tansu (Kafka API, memory storage) on 127.0.0.1, or the
   cluster in ``kafka.bootstrap`` with ``kafka.extra`` passed to librdkafka.
3. A consumer group of ``consumers.members`` processes scores the input topic in
   micro-batches every ``consumers.interval_s`` (:mod:`ai_roadmap.mlops.stream_scoring`),
   a hashed, sticky ``canary.share`` of keys on the challenger. A producer replays
   Fashion-MNIST test images faster than the schedule drains them (backpressure)
   and their labels ``stream.label_delay_s`` later.
4. The drill: member 0 pauses after storing micro-batch ``drill_batch`` and before
   committing; it is SIGKILLed and restarted. Every input must be stored once.
5. The canary judge reads labels and stored predictions; when the challenger is
   worse it deletes ``@challenger`` in the registry; the members pick that up
   before their next micro-batch. The rollback window is timed (the target).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.stream_canary import CanaryRule
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from collections.abc import Iterator

    from omegaconf import DictConfig


@dataclass(frozen=True)
class Kafka:
    bootstrap: str = ""  # empty: start a local tansu broker; else "host:9092,host2:9092"
    extra: dict[str, Any] = field(default_factory=dict)  # librdkafka: security.protocol, sasl.*
    partitions: int = 2
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Models:
    source: str = "auto"  # auto (registry if present, else stand-in) | registry | stand-in
    item: str = "s3.distill"
    registry_name: str = "s5.stream.model"
    stand_in_steps: int = 30
    challenger: str = "shuffled"  # shuffled (trained on permuted labels) | untrained

    def __post_init__(self) -> None:
        if self.source not in ("auto", "registry", "stand-in"):
            raise ValueError("models.source must be auto, registry or stand-in")
        if self.challenger not in ("shuffled", "untrained"):
            raise ValueError("models.challenger must be shuffled or untrained")


@dataclass(frozen=True)
class Stream:
    messages: int = 3000
    users: int = 200  # routing keys
    rate: float = 0.0  # producer messages/s (0: as fast as it sends)
    label_delay_s: float = 1.0


@dataclass(frozen=True)
class Consumers:
    members: int = 2
    interval_s: float = 1.0  # the schedule: one tick every interval_s (600 in full)
    max_batch: int = 64
    max_per_tick: int = 128
    queued_kbytes: int = 1024  # librdkafka prefetch cap per member
    alias_poll_s: float = 0.0  # 0: re-read the aliases before every micro-batch
    threads: int = 1
    drill_batch: int = 2  # member 0 is SIGKILLed after storing this micro-batch (0: no drill)


@dataclass(frozen=True)
class Bars:
    rollback_seconds: float = 30.0  # the goal at quick (the target: < 5 minutes)
    rss_growth_mb: float = 150.0  # a member's peak RSS over its first batch's, at most


@dataclass(frozen=True)
class Config:
    seed: int = 0
    output_dir: str = "."
    kafka: Kafka = field(default_factory=Kafka)
    models: Models = field(default_factory=Models)
    stream: Stream = field(default_factory=Stream)
    consumers: Consumers = field(default_factory=Consumers)
    canary: CanaryRule = field(default_factory=CanaryRule)
    bars: Bars = field(default_factory=Bars)
    timeout_s: float = 300.0


# ── models ───────────────────────────────────────────────────────────────────────────


def _stand_in(folder: Path, data: Any, seed: int, steps: int, labels: Any) -> Path:
    from ai_roadmap.serving.deep.runtime import save_stand_in

    shape = (data.channels, data.image_size, data.image_size)
    train = None if labels is None else (data.train_images, labels)
    norm = (data.mean, data.std)
    return save_stand_in(folder, "MobileNetV2", shape, data.classes, norm, seed, train, steps)


def registry_champion(c: Config, out: Path) -> tuple[Path, str] | None:
    """The registry's ``models.item`` champion (folder, origin); None when absent and allowed."""
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    m = c.models
    if m.source == "stand-in":
        return None
    try:
        folder, version = champion_model_dir(get_settings(), m.item, out / "models" / m.item)
    except RoadmapError:
        if m.source == "registry":
            raise RoadmapError(
                f"s5.stream streams the registry's {m.item} model and there is none; run "
                f"`roadmap run {m.item}` first, or `roadmap run s5.stream models.source=stand-in`"
            ) from None
        return None
    return folder, f"registry model {m.item} v{version} (@champion)"


def model_folders(c: Config, out: Path) -> tuple[Any, Path, str, Path, str]:
    """(data, champion folder, its origin, challenger folder, its origin)."""
    import torch

    from ai_roadmap.artifacts import read_card
    from ai_roadmap.datasets.images import load_image_data

    m = c.models
    champion = registry_champion(c, out)
    shape = read_card(champion[0]).input_schema["image"]["shape"] if champion else [1]
    source = "fashion-mnist" if shape[0] == 1 else "cifar10"
    data = load_image_data(source, n_train=2048, n_test=c.stream.messages, seed=c.seed)
    if champion is None:
        folder = out / "models" / "champion"
        folder = _stand_in(folder, data, c.seed, m.stand_in_steps, data.train_labels)
        origin = (
            f"stand-in MobileNetV2 (x0.25) for {m.item}, {m.stand_in_steps} Adam steps on 2 048 "
            f"{source} training images (not the registry's model)"
        )
        champion = (folder, origin)
    bad_folder = out / "models" / "challenger"
    if m.challenger == "shuffled":
        g = torch.Generator().manual_seed(c.seed + 1)
        shuffled = data.train_labels[torch.randperm(len(data.train_labels), generator=g)]
        bad = _stand_in(bad_folder, data, c.seed + 1, m.stand_in_steps, shuffled)
        why = f"stand-in MobileNetV2 trained {m.stand_in_steps} Adam steps on shuffled labels"
    else:
        bad = _stand_in(bad_folder, data, c.seed + 1, 0, None)
        why = "untrained stand-in MobileNetV2"
    return data, champion[0], champion[1], bad, why


def register_pair(c: Config, champion: Path, challenger: Path) -> tuple[Any, str, str]:
    """Both folders as new versions of ``registry_name``: (client, champion v, challenger v)."""
    from ai_roadmap.mlops.challenger import register_version
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client

    mlflow_client, experiment = client(get_settings())
    name = c.models.registry_name
    tags = {"roadmap.milestone": "s5.stream"}
    good = register_version(mlflow_client, experiment, name, champion, tags, "champion")
    bad = register_version(mlflow_client, experiment, name, challenger, tags, "challenger")
    return mlflow_client, good, bad


# ── the stream ───────────────────────────────────────────────────────────────────────


@contextmanager
def cluster(c: Config, scratch: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """(librdkafka settings, what the cluster is): the user's, or a local tansu broker."""
    from ai_roadmap.mlops.kafka_broker import client_settings, local_broker, require_cluster

    if c.kafka.bootstrap:
        settings = client_settings(c.kafka.bootstrap, c.kafka.extra)
        require_cluster(settings, c.kafka.timeout_s)
        yield settings, f"the Kafka cluster at {c.kafka.bootstrap}"
        return
    with local_broker(scratch) as bootstrap:
        yield client_settings(bootstrap), f"a local tansu broker (memory storage) at {bootstrap}"


def member_specs(c: Config, settings: dict[str, Any], run: str, scratch: Path, salt: str) -> list:
    from ai_roadmap.mlops.stream_scoring import ScoringSpec, Source
    from ai_roadmap.settings import get_settings

    k = c.consumers
    source = Source("registry", get_settings().mlflow_uri, c.models.registry_name)
    base = ScoringSpec(
        kafka=settings, group=f"s5.stream-{run}", input_topic=f"s5.stream.images.{run}",
        output_topic=f"s5.stream.predictions.{run}", store=str(scratch / "store.db"),
        member="member-0", source=source, cache=str(scratch / "cache"),
        interval_s=k.interval_s, max_batch=k.max_batch, max_per_tick=k.max_per_tick,
        queued_kbytes=k.queued_kbytes, share=c.canary.share, salt=salt,
        alias_poll_s=k.alias_poll_s, threads=k.threads, stop_file=str(scratch / "stop"),
    )  # fmt: skip
    drilled = replace(base, drill_batch=k.drill_batch, drill_marker=str(scratch / "drill"))
    return [drilled] + [replace(base, member=f"member-{i}") for i in range(1, k.members)]


def watch(
    c: Config,
    session: Any,
    labels: Any,
    registry: tuple[Any, str, str],
    ids: list[str],
    progress: dict[str, int],
) -> Any:
    """Until every id is stored (or the timeout): run the drill, judge the canary, roll back.

    Also samples the backlog (sent − stored) into ``progress["backlog_peak"]``.
    """
    from ai_roadmap.mlops.stream_canary import Verdict, judge, roll_back
    from ai_roadmap.mlops.stream_replay import arm_accuracy
    from ai_roadmap.mlops.stream_scoring import now_ms, open_store

    client, good, bad = registry
    db = open_store(session.specs[0].store)
    verdict = Verdict()
    deadline = time.monotonic() + c.timeout_s
    while time.monotonic() < deadline:
        session.drill()
        dead = [p.pid for p in session.processes if p.poll() is not None]
        if dead:
            raise RoadmapError(f"a stream member exited early (pid {dead[0]}); see its log")
        if not verdict.worse:
            verdict.arms = arm_accuracy(db, labels.read(0.1))
            why = judge(verdict.arms, good, bad, c.canary)
            if why:
                verdict = Verdict(True, now_ms(), verdict.arms, why)
                roll_back(client, c.models.registry_name, bad, why)
        done = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        backlog = progress.get("sent", 0) - done
        progress["backlog_peak"] = max(progress.get("backlog_peak", 0), backlog)
        if done >= len(ids) and (verdict.worse or len(labels.labels) >= len(ids)):
            break
        time.sleep(0.2)
    db.close()
    return verdict


def stream_run(
    c: Config, data: Any, registry: tuple[Any, str, str], scratch: Path
) -> tuple[dict[str, float], Any, Any, str]:
    """Broker, topics, members, producer, watch; (producer figures, verdict, session, cluster)."""
    from ai_roadmap.mlops.kafka_broker import create_topics
    from ai_roadmap.mlops.stream_drill import Session
    from ai_roadmap.mlops.stream_replay import LabelReader, Replay, message_ids, produce_stream

    run = uuid.uuid4().hex[:8]
    images = data.test_images.numpy()[: c.stream.messages]
    truth = data.test_labels.numpy()[: c.stream.messages]
    ids = message_ids(run, len(images))
    with cluster(c, scratch) as (settings, where):
        specs = member_specs(c, settings, run, scratch, salt=f"v{registry[2]}")
        topics = {specs[0].input_topic: c.kafka.partitions, specs[0].output_topic: 1}
        create_topics(settings, topics | {f"s5.stream.labels.{run}": 1}, c.kafka.timeout_s)
        session = Session(scratch, specs)
        labels = LabelReader(settings, f"s5.stream.labels.{run}", f"s5.stream-judge-{run}")
        sent: dict[str, float] = {}
        progress: dict[str, int] = {}
        replay = Replay(run, c.stream.users, c.stream.rate, c.stream.label_delay_s)
        producer = threading.Thread(
            target=lambda: sent.update(
                produce_stream(settings, (specs[0].input_topic, f"s5.stream.labels.{run}"),
                               images, truth, replay, progress)
            ), daemon=True,
        )  # fmt: skip
        try:
            session.start()
            producer.start()
            verdict = watch(c, session, labels, registry, ids, progress)
        finally:
            session.stop()
            labels.close()
            producer.join(30)
        from ai_roadmap.mlops.stream_replay import read_topic_ids

        published = read_topic_ids(settings, specs[0].output_topic, 2.0)
    sent["backlog_peak_messages"] = float(progress.get("backlog_peak", 0))
    sent["published"] = float(len(published))
    sent["published_missing"] = float(len(set(ids) - set(published)))
    sent["published_duplicates"] = float(len(published) - len(set(published)))
    return sent, verdict, session, where


def keep_store(db: sqlite3.Connection, out: Path) -> Path:
    """The run's store copied to ``out/predictions.db`` (SQLite backup to a temp name, renamed)."""
    final, partial = out / "predictions.db", out / ".predictions.db.partial"
    with sqlite3.connect(partial) as copy:
        db.backup(copy)
    copy.close()
    partial.replace(final)
    return final


# ── the milestone ────────────────────────────────────────────────────────────────────


def checks(c: Config, m: dict[str, float], verdict: Any, after: dict[str, str]) -> list[tuple]:
    """(name, passed, detail) for each check; ``checks_failed`` counts the failures."""
    good, bad = after["good"], after["bad"]
    return [
        ("every_input_scored_once",
         m["missing"] == 0 and m["duplicates_store"] == 0 and m["rows_stored"] == m["sent"],
         f"{m['rows_stored']:.0f} rows for {m['sent']:.0f} inputs, {m['missing']:.0f} missing, "
         f"{m['duplicates_store']:.0f} duplicated in the store"),
        ("kill_redelivered_and_ignored",
         m["killed"] == 1 and m["duplicates_broker"] > 0,
         f"member 0 SIGKILLed between store and commit; the broker re-delivered "
         f"{m['duplicates_broker']:.0f} messages, the store ignored them"),
        ("output_topic_complete", m["published_missing"] == 0,
         f"{m['published']:.0f} predictions on the output topic, {m['published_missing']:.0f} "
         f"inputs missing, {m['published_duplicates']:.0f} duplicates (at-least-once)"),
        ("challenger_rolled_back",
         verdict.worse and after.get("challenger") is None and after.get("champion") == good,
         f"{verdict.why or 'no verdict'}; after: @champion v{after.get('champion')}, "
         f"@challenger {after.get('challenger')}"),
        ("picked_up_without_restart",
         m.get("members_switched_without_restart", 0) >= 1
         and m.get("canary_keys_back_on_champion", 0) > 0,
         f"{m.get('members_switched_without_restart', 0):.0f} member process(es) served v{bad} "
         f"and then its keys with v{good}, same pid"),
        ("rollback_within_goal", m.get("rollback_seconds", float("inf")) < c.bars.rollback_seconds,
         f"window {m.get('rollback_seconds', float('nan')):.2f} s (goal < "
         f"{c.bars.rollback_seconds:g} s)"),
        ("backlog_bounded_memory",
         m["backlog_peak_messages"] > 2 * c.consumers.max_batch
         and m["member_rss_growth_mb"] <= c.bars.rss_growth_mb,
         f"backlog peaked at {m['backlog_peak_messages']:.0f} messages; peak RSS "
         f"{m['member_peak_rss_mb']:.0f} MB, growth {m['member_rss_growth_mb']:.1f} MB (bar "
         f"{c.bars.rss_growth_mb:g} MB)"),
    ]  # fmt: skip


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)  # a bad value is a one-line UsageError naming the key
    import tempfile

    from ai_roadmap.mlops.registry import aliases
    from ai_roadmap.mlops.stream_canary import rollback_figures
    from ai_roadmap.mlops.stream_replay import (
        exactly_once_figures,
        lag_figures,
        message_ids,
        pressure_figures,
    )
    from ai_roadmap.mlops.stream_scoring import open_store

    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if c.kafka.bootstrap:  # a wrong address fails in seconds, before any model is trained
        from ai_roadmap.mlops.kafka_broker import client_settings, require_cluster

        require_cluster(client_settings(c.kafka.bootstrap, c.kafka.extra), c.kafka.timeout_s)
    started = time.perf_counter()
    data, good_folder, good_origin, bad_folder, bad_origin = model_folders(c, out)
    models_s = time.perf_counter() - started
    registry = register_pair(c, good_folder, bad_folder)
    client, good, bad = registry
    register_s = time.perf_counter() - started - models_s
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="roadmap-s5stream-") as tmp:
        scratch = Path(tmp)
        sent, verdict, session, where = stream_run(c, data, registry, scratch)
        wall = time.perf_counter() - started
        db = open_store(scratch / "store.db")
        run_tag = session.specs[0].group.rsplit("-", 1)[1]
        m = {**sent, **exactly_once_figures(db, message_ids(run_tag, int(sent["sent"])))}
        m |= lag_figures(db) | pressure_figures(db)
        store = keep_store(db, out)
        if verdict.worse:
            m |= rollback_figures(db, bad, verdict.detect_ms, session.specs[0].salt, c.canary.share)
            m["rollback_minutes"] = m["rollback_seconds"] / 60
        db.close()
    m["killed"] = float(bool(session.killed))
    for arm in verdict.arms.values():
        m[f"accuracy_{arm['role']}"] = arm["accuracy"]
    after = {**aliases(client, c.models.registry_name), "good": good, "bad": bad}
    found = checks(c, m, verdict, after)
    m["checks"] = float(len(found))
    m["checks_failed"] = float(sum(not ok for _, ok, _ in found))
    m |= {"stream_wall_s": wall, "models_s": models_s, "register_s": register_s}
    return Result(
        metrics=m,
        dataset=f"Fashion-MNIST test images ({m['sent']:.0f}) streamed through {where}",
        proxy=False,
        artifacts={"predictions": store},
        params={"champion": f"v{good}", "challenger": f"v{bad}", "cluster": where},
        notes=notes(c, m, verdict, good_origin, bad_origin, where)
        + [f"{'pass' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in found],
        not_measured=None if verdict.worse else "the canary never judged the challenger worse",
    )


def notes(c: Config, m: dict[str, float], verdict: Any, good: str, bad: str, where: str) -> list:
    k = c.consumers
    return [
        f"champion: {good}; challenger: {bad}",
        f"{k.members} consumer process(es) in one group on {where}, {c.kafka.partitions} "
        f"partitions; a tick every {k.interval_s:g} s takes at most {k.max_per_tick} messages in "
        f"micro-batches of {k.max_batch}; each stored (SQLite INSERT OR IGNORE by message id), "
        f"published, then committed; canary share {c.canary.share:g} of {c.stream.users} keys",
        f"throughput {m['throughput_msgs_per_s']:.1f} msgs/s (rows / first event to last "
        f"prediction), model+routing {m['scoring_msgs_per_s']:.0f} msgs/s; lag event time → "
        f"stored prediction P50 {m['lag_p50_s']:.2f} s, P99 {m['lag_p99_s']:.2f} s (the producer "
        f"sent {m['sent']:.0f} in {m['send_s']:.2f} s, faster than the schedule drains)",
        f"kill drill: {m['deliveries']:.0f} deliveries, {m['duplicates_broker']:.0f} duplicates at "
        f"the broker, {m['duplicates_store']:.0f} in the store, {m['missing']:.0f} missing",
        f"rollback: {verdict.why or 'never judged worse'}; window (verdict → last prediction by "
        f"the bad version) {m.get('rollback_seconds', float('nan')):.2f} s; canary keys back on "
        f"the champion {m.get('rollback_pickup_s', float('nan')):.2f} s after the verdict",
    ]
