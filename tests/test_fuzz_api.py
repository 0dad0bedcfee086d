"""Schemathesis against the app's own OpenAPI schema, in process with the lifespan running.

Every operation gets seeded examples that fit its schema (and, for the POST routes, examples that
break it); each answer must be no 5xx, a documented status, a documented content type and a body
that matches the documented schema. The app runs with an API key and small limits, so synthesis
stays cheap and over-long text is a 413 rather than a long decode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI, HTTPException
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import create_app
from server.deps import get_speech, get_voices
from server.errors import (
    NotReadyError,
    QueueFullError,
    RequestTimeoutError,
    ServiceError,
    SynthesisFailedError,
)
from tests.server_support import make_settings

pytestmark = pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # odd text in plot titles

API_KEY = "fuzz-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
MAX_EXAMPLES = 25
"""Examples per operation and mode (operations without parameters have only one)."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

POSTS = [("POST", "/speak"), ("POST", "/speak/alignment"), ("POST", "/assistant"), ("POST", "/v1/audio/speech")]
GETS = [("GET", "/voices"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/")]
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/")}
STREAMS = [("GET", "/assistant/events")]
"""Endless event streams: not fuzzed (an in-process call would wait for the end of the body);
tests/test_server_timers.py reads them from a real server. Their 401 is checked here."""
BODIES = {"/speak": {"text": "가"}, "/speak/alignment": {"text": "가"}, "/assistant": {"text": "몇 시야"},
          "/v1/audio/speech": {"input": "가"}}
"""A valid body per POST route, for the designed errors."""


@pytest.fixture
def fuzz_app(test_voice_dir: Path, tmp_path: Path) -> Iterator[FastAPI]:
    """The app with an API key, 40-character text limits, a 2 KiB body limit and 1 Griffin-Lim pass.

    One per test: schemathesis starts the lifespan on the first call and ends it after each test
    (about 0.15 s once the frontend is loaded), and an app's lifespan runs only once.
    """
    settings_ = make_settings(
        test_voice_dir, tmp_path, api_key=API_KEY, griffin_lim_iters=1, max_text_chars_speak=40,
        max_text_chars_openai=40, max_text_chars_assistant=40, max_body_bytes=2048,
    )
    yield create_app(settings_)
    asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(fuzz_app: FastAPI) -> BaseSchema:
    """The app's OpenAPI schema as it serves it; calls go to the app in process."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str], examples: int) -> Counter[int]:
    """Send up to `examples` seeded cases and check each answer; the statuses seen, by count.

    Raises schemathesis' FailureGroup (after Hypothesis has shrunk it) on the first failed check.
    """
    statuses: Counter[int] = Counter()

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()
    return statuses


def test_every_operation_is_fuzzed(api_schema: BaseSchema) -> None:
    served = {(method.upper(), path) for path in api_schema for method in api_schema[path]}
    assert served == set(POSTS + GETS + STREAMS)


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(*op, GenerationMode.POSITIVE) for op in POSTS + GETS] + [(*op, GenerationMode.NEGATIVE) for op in POSTS],
)
def test_operation_answers_as_documented(
    api_schema: BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    statuses = fuzz(api_schema[path][method], mode, AUTH, MAX_EXAMPLES)
    print(f"{method} {path} {mode.value}: {sum(statuses.values())} examples, statuses {dict(statuses)}")
    if method == "GET":
        assert set(statuses) == {200}
    elif mode is GenerationMode.POSITIVE:
        assert sum(statuses.values()) >= MAX_EXAMPLES // 2
        assert 200 in statuses  # some examples were really synthesised, not all refused
    else:
        assert sum(statuses.values()) >= MAX_EXAMPLES // 2
        assert set(statuses) <= {400, 413, 415, 422}


@pytest.mark.parametrize(("method", "path"), [op for op in POSTS + GETS + STREAMS if op not in PUBLIC])
def test_a_missing_api_key_is_a_documented_401(api_schema: BaseSchema, method: str, path: str) -> None:
    assert set(fuzz(api_schema[path][method], GenerationMode.POSITIVE, {}, examples=3)) == {401}


def test_the_harness_catches_undocumented_statuses_and_server_errors(
    fuzz_app: FastAPI, api_schema: BaseSchema
) -> None:
    def teapot() -> None:
        raise HTTPException(status_code=418, detail="I'm a teapot")

    def broken() -> None:
        raise SynthesisFailedError()

    found: dict[str, set[str]] = {}
    try:
        for name, override in (("teapot", teapot), ("broken", broken)):
            fuzz_app.dependency_overrides[get_voices] = override
            with pytest.raises(FailureGroup) as failure:
                fuzz(api_schema["/voices"]["GET"], GenerationMode.POSITIVE, AUTH, examples=1)
            found[name] = {type(error).__name__ for error in failure.value.exceptions}
    finally:
        fuzz_app.dependency_overrides.clear()
    assert found == {"teapot": {"UndefinedStatusCode"}, "broken": {"ServerError", "UndefinedStatusCode"}}


@pytest.mark.parametrize(
    ("error", "status", "paths"),
    [
        (QueueFullError(retry_after_s=3), 503, list(BODIES)),
        (NotReadyError("the server is starting"), 503, list(BODIES)),
        (RequestTimeoutError(), 504, ["/speak", "/speak/alignment", "/v1/audio/speech"]),
        (SynthesisFailedError(), 500, ["/speak", "/speak/alignment", "/v1/audio/speech"]),
    ],
    ids=["queue-full", "not-ready", "timeout", "synthesis-failed"],
)
def test_designed_errors_answer_as_documented(
    fuzz_app: FastAPI, api_schema: BaseSchema, error: ServiceError, status: int, paths: list[str]
) -> None:
    # Load and faults are tested elsewhere; here each designed 5xx is raised where the speech
    # service is looked up, and its answer checked against the schema like any other.
    def fail() -> None:
        raise error

    fuzz_app.dependency_overrides[get_speech] = fail
    try:
        for path in paths:
            case = api_schema[path]["POST"].Case(body=BODIES[path])
            response = case.call(headers=AUTH)
            assert response.status_code == status, (path, response.text)
            case.validate_response(response, checks=[check for check in CHECKS if check is not not_a_server_error])
            assert ("retry-after" in response.headers) == isinstance(error, QueueFullError)
    finally:
        fuzz_app.dependency_overrides.clear()


def test_limits_and_content_type_answer_as_documented(api_schema: BaseSchema) -> None:
    for path, body in BODIES.items():
        operation = api_schema[path]["POST"]
        field = next(iter(body))
        cases = [
            (operation.Case(body={field: "가" * 41}), {}, 413),  # over the 40-character text limit
            (operation.Case(body={field: "가" * 1000}), {}, 413),  # over the 2 KiB body limit
            (operation.Case(body=body), {"Content-Type": "text/plain"}, 415),
        ]
        for case, headers, status in cases:
            response = case.call(headers=AUTH | headers)
            assert response.status_code == status, (path, response.text)
            case.validate_response(response, checks=CHECKS)
