"""Safe to expose: bearer tokens, body limits, CORS off by default, no stack traces,
refusing to listen on the network without tokens, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import ECHO_MACHINE, TIMEOUT, unique
from fastapi.testclient import TestClient

from api import Settings, create_app
from api.deps import get_service
from statemachine.cli import main

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def secured(service: Any, worker: Any) -> Iterator[TestClient]:
    settings = Settings(
        api_tokens=frozenset({TOKEN, "another-token"}),
        max_body_bytes=64 * 1024,
        max_wait_seconds=TIMEOUT,
    )
    with TestClient(create_app(service, settings)) as c:
        yield c


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_are_required_on_the_api_and_metrics(secured: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/state-machines"),
        ("GET", "/v1/executions"),
        ("POST", "/v1/tasks/success"),
        ("GET", "/metrics"),
    ]:
        missing = secured.request(method, path)
        assert missing.status_code == 401, path
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["type"] == "urn:statemachine:problem:unauthorized"
        wrong = secured.request(method, path, headers=auth("nope"))
        assert wrong.status_code == 401
    assert secured.get("/v1/state-machines", headers=auth()).status_code == 200
    assert secured.get("/v1/state-machines", headers=auth("another-token")).status_code == 200
    assert secured.get("/metrics", headers=auth()).status_code == 200
    basic = secured.get("/v1/state-machines", headers={"Authorization": "Basic " + TOKEN})
    assert basic.status_code == 401


def test_health_and_docs_stay_open(secured: TestClient) -> None:
    assert secured.get("/healthz").json() == {"status": "ok"}
    assert secured.get("/readyz").json()["status"] == "ok"
    schema = secured.get("/openapi.json").json()
    assert "bearerAuth" in schema["components"]["securitySchemes"]
    assert secured.get("/").status_code == 200


def test_body_size_limit_with_and_without_content_length(secured: TestClient) -> None:
    body = b'{"stateMachine": "x", "input": "' + b"x" * (64 * 1024) + b'"}'
    declared = secured.post(
        "/v1/executions",
        content=body,
        headers={**auth(), "content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert "limit is 65536 bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    chunked = secured.post(
        "/v1/executions", content=chunks(), headers={**auth(), "content-type": "application/json"}
    )
    assert chunked.status_code == 413


def test_cors_is_off_by_default_and_opt_in(client: TestClient, service: Any) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    r = client.options("/v1/executions", headers=headers)
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/v1/state-machines", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers

    allowed = create_app(service, Settings(cors_origins=("https://console.example",)))
    with TestClient(allowed) as c:
        ok = c.get("/v1/state-machines", headers={"Origin": "https://console.example"})
        assert ok.headers["access-control-allow-origin"] == "https://console.example"
        other = c.get("/v1/state-machines", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


class _Broken:
    """A service whose every call fails the way a bug would."""

    payload_limit = 1000
    db = None

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internal detail /srv/app/token=abc")

        return fail


def test_unexpected_errors_are_500_problems_without_details(app: Any) -> None:
    app.dependency_overrides[get_service] = lambda: _Broken()
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/v1/executions/arn:x")
            ready = c.get("/readyz")
    finally:
        app.dependency_overrides.clear()
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:statemachine:problem:internal"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert ready.status_code == 503
    assert "secret" not in ready.text


def test_serve_refuses_a_network_address_without_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STATEMACHINE_API_TOKENS", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err


def test_metrics_count_executions_and_transitions(client: TestClient, register: Any) -> None:
    name = register(ECHO_MACHINE)
    r = client.post("/v1/executions", params={"wait": TIMEOUT}, json={"stateMachine": name})
    assert r.json()["status"] == "SUCCEEDED"
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    assert samples['statemachine_executions{status="SUCCEEDED"}'] >= 1
    assert samples["statemachine_executions_started_total"] >= 1
    assert samples['statemachine_executions_finished_total{status="SUCCEEDED"}'] >= 1
    assert samples["statemachine_transitions_total"] >= 1
    assert samples["statemachine_task_latency_seconds_count"] >= 1
    assert samples['statemachine_task_latency_seconds_bucket{le="+Inf"}'] >= 1
    assert "statemachine_queue_depth" in samples
    assert "statemachine_lease_losses_total" in samples


def test_readyz_names_the_database(client: TestClient, service: Any) -> None:
    assert client.get("/readyz").json() == {"status": "ok", "database": service.db.dialect}


def test_index_page_and_unknown_routes(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    missing = client.get(f"/v1/{unique('nothing')}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
