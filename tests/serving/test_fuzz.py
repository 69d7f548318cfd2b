"""Property-based fuzzing of the service against its own OpenAPI schema (schemathesis).

Every operation the app documents gets a bounded, derandomized set of
generated requests, valid ("positive") and invalid ("negative"), sent
in-process over ASGI; each response must not be a 5xx, must have a documented
status code and must match the documented response schema.

The operations are listed here, and a test checks the list against the
schema, because schemathesis 4.32's fixture-based ``from_fixture`` does not run
under pytest 9 (it sets ``Function._nodeid``, which pytest 9 no longer has):
each test draws cases from the operation's Hypothesis strategy itself.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from ai_roadmap.serving.app import create_app
from ai_roadmap.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = 25
OPERATIONS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/models"),
    *[
        ("POST", f"/v1/{name}/{route}")
        for name in ("titanic", "house", "churn")
        for route in ("predict", "predict/batch")
    ],
]


@pytest.fixture(scope="module")
def api_schema(serve_settings: Settings) -> schemathesis.BaseSchema:
    """The schema of an app of its own (its lifespan runs once, on the first request)."""
    app: FastAPI = create_app(serve_settings)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_documented_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert documented == set(OPERATIONS)


# GET routes take no input at all, so there is nothing to make invalid for them
CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or method == "POST"
]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_operation_honours_the_schema(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
