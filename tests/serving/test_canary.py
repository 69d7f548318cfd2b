"""The canary router: share and stickiness of the hash, the routing file, and the running app
switching arms (and back) when the file is replaced, without a restart."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ai_roadmap.serving.app import create_app
from ai_roadmap.serving.canary import (
    ROLE_HEADER,
    ROUTING_HEADER,
    Routing,
    bucket,
    goes_to_challenger,
    read_routing,
    routing_path,
    write_routing,
)
from ai_roadmap.settings import Settings

KEYS = [f"customer-{i}" for i in range(20_000)]


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_the_share_of_keys_sent_to_the_challenger_is_the_configured_share(share: float) -> None:
    seen = np.mean([goes_to_challenger(k, "salt-1", share) for k in KEYS])
    # binomial standard error at n = 20 000 is at most 0.0035: 4 of them
    assert abs(seen - share) < 0.014


def test_a_key_stays_on_its_arm_and_a_new_salt_draws_new_keys() -> None:
    first = [goes_to_challenger(k, "canary-a", 0.3) for k in KEYS[:2000]]
    again = [goes_to_challenger(k, "canary-a", 0.3) for k in KEYS[:2000]]
    other = [goes_to_challenger(k, "canary-b", 0.3) for k in KEYS[:2000]]
    assert first == again
    # independent draws agree on 0.3² + 0.7² = 58 % of keys, far from 100 %
    assert 0.5 < np.mean(np.array(first) == np.array(other)) < 0.66


def test_the_bucket_is_the_first_32_bits_of_sha256_over_two_to_the_32() -> None:
    digest = hashlib.sha256(b"s:k").digest()
    assert bucket("k", "s") == int.from_bytes(digest[:4], "big") / 2**32
    assert not goes_to_challenger("k", "s", 0.0)
    assert goes_to_challenger("k", "s", 1.0)


def test_routing_is_validated_and_written_atomically(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="share"):
        Routing("churn", "churn@v2", 1.5)
    with pytest.raises(ValueError, match="plain name"):
        Routing("../elsewhere")
    path = routing_path(tmp_path, "churn")
    assert read_routing(path) is None
    write_routing(path, Routing("churn@v1", "churn@v2", 0.25, "x"))
    write_routing(path, Routing("churn@v1"))
    assert read_routing(path) == Routing("churn@v1")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.fixture
def canary_dir(model_dir: Path, tmp_path: Path) -> Path:
    """The served models plus two exported churn versions, 8 and 9, in a private folder."""
    root = tmp_path / "served"
    shutil.copytree(model_dir, root)
    for version in ("8", "9"):
        shutil.copytree(root / "churn", root / f"churn@v{version}")
        (root / f"churn@v{version}" / "VERSION").write_text(f"{version}\n")
    return root


def test_the_running_app_follows_the_routing_file_without_a_restart(
    canary_dir: Path, records: Callable[[str, int], list[dict]]
) -> None:
    settings = Settings(serve_model_dir=canary_dir, serve_models="churn")
    record = records("churn", 1)[0]
    keys = KEYS[:200]

    def ask(client: TestClient) -> list[tuple[str, str]]:
        out = []
        for key in keys:
            r = client.post("/v1/churn/predict", json=record, headers={ROUTING_HEADER: key})
            assert r.status_code == 200, r.text
            out.append((r.json()["version"], r.headers[ROLE_HEADER]))
        return out

    with TestClient(create_app(settings)) as client:
        assert {v for v, _ in ask(client)} == {"7"}  # no routing file: the start-up folder
        write_routing(routing_path(canary_dir, "churn"), Routing("churn@v8", "churn@v9", 0.3, "s"))
        canary = ask(client)
        expected = [("9", "challenger") if goes_to_challenger(k, "s", 0.3) else ("8", "champion")
                    for k in keys]  # fmt: skip
        assert canary == expected and 0.2 < np.mean([v == "9" for v, _ in canary]) < 0.4
        assert ask(client) == canary  # sticky
        assert 'roadmap_canary_share{model="churn"} 0.3' in client.get("/metrics").text
        write_routing(routing_path(canary_dir, "churn"), Routing("churn@v8"))  # roll back
        assert set(ask(client)) == {("8", "champion")}
        assert 'roadmap_canary_share{model="churn"} 0.0' in client.get("/metrics").text
        # a routing file naming a missing folder is ignored: the last good routing stays
        write_routing(routing_path(canary_dir, "churn"), Routing("churn@v8", "churn@v404", 1.0))
        assert set(ask(client)) == {("8", "champion")}
