"""The load test's pieces on their own: wrk's script and summary, scenarios, request bodies."""

from __future__ import annotations

import json

import pytest

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.loadtest import Scenario, example_record, request_body, summarise
from ai_roadmap.serving.schemas import request_model
from ai_roadmap.serving.server import busiest_share
from ai_roadmap.serving.wrk import parse_wrk, wrk_script

WRK_LINE = (
    'WRKJSON {"requests": 200, "duration_us": 2000000, "p50_us": 1500, "p99_us": 9000, '
    '"mean_us": 2000.5, "non_2xx": 3, "connect": 0, "read": 1, "write": 0, "timeout": 0}'
)


def test_parse_wrk_reads_the_summary_line_among_wrks_report() -> None:
    stats = parse_wrk("Running 2s test @ http://127.0.0.1:1/x\n" + WRK_LINE + "\nRequests/sec: 100")
    assert stats["requests"] == 200 and stats["p99_us"] == 9000 and stats["non_2xx"] == 3
    with pytest.raises(RoadmapError, match="no summary"):
        parse_wrk("Requests/sec: 100\n")


def test_summary_counts_http_and_socket_errors() -> None:
    assert busiest_share({1: 1.0, 2: 1.0}, {1: 4.0, 2: 2.0}) == 0.75
    assert busiest_share({}, {1: 0.0, 2: 0.0}) == 0.0

    row = summarise(Scenario("single", "titanic", 1, 2), parse_wrk(WRK_LINE), connections=4)
    assert (row.rps, row.p50_ms, row.p99_ms) == (100.0, 1.5, 9.0)
    assert (row.non_2xx, row.socket_errors, row.errors) == (3, 1, 4)


def test_wrk_script_posts_the_body_or_gets() -> None:
    post = wrk_script('{"a": 1}')
    assert 'wrk.method = "POST"' in post and 'wrk.body = [==[{"a": 1}]==]' in post
    assert "wrk.method" not in wrk_script(None) and "WRKJSON" in wrk_script(None)
    assert "Connection" not in post
    assert 'wrk.headers["Connection"] = "close"' in wrk_script('{"a": 1}', keep_alive=False)
    with pytest.raises(ValueError):
        wrk_script('{"a": "]==]"}')


def test_scenario_paths() -> None:
    assert Scenario("s", "titanic", 1, 1).path == "/v1/titanic/predict"
    assert Scenario("b", "titanic", 32, 1).path == "/v1/titanic/predict/batch"
    assert Scenario("h", "titanic", 0, 1).path == "/healthz"


def test_generated_record_passes_the_request_schema() -> None:
    schema = {
        "1stFlrSF": {"type": "integer", "min": -10.0, "max": 30.0, "nullable": False},
        "LotArea": {"type": "number", "min": 0.5, "max": 2.5, "nullable": True},
        "Street": {"type": "category", "categories": ["Grvl", "Pave"], "nullable": False},
        "Note": {"type": "string", "nullable": False},
    }
    record = example_record("house", schema)
    assert record == {"1stFlrSF": 10, "LotArea": 1.5, "Street": "Grvl", "Note": "x"}
    request_model("house", schema).model_validate(record)
    batch = json.loads(request_body(record, 3))
    assert batch == {"records": [record] * 3}
