"""API fixtures: one fresh database per test module and kind (SQLite, PostgreSQL), one
service and embedded worker on it, and a TestClient over `create_app`.

Tests in a module share the database, so each one registers state machines under its own
unique name (`unique()`) and never counts what it did not create.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import PASS_MACHINE, TIMEOUT, make_registry, unique
from fastapi.testclient import TestClient

from api import Settings, create_app
from statemachine.service import Service
from statemachine.store.testing import database_url

JSON = Any


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from database_url(request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def service(db_url: str) -> Iterator[Service]:
    svc = Service(db_url)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture(scope="module")
def worker(service: Service) -> Iterator[Any]:
    w = service.worker(registry=make_registry(), poll_interval=0.05, lease_seconds=30)
    thread = w.start_thread()
    try:
        yield w
    finally:
        w.stop()
        thread.join(TIMEOUT)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(max_wait_seconds=TIMEOUT, sse_poll_seconds=0.2)


@pytest.fixture(scope="module")
def app(service: Service, worker: Any, settings: Settings) -> Any:
    return create_app(service, settings, worker=worker)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def register(client: TestClient) -> Callable[..., str]:
    """Register a definition under a fresh name; returns the name."""

    def do(definition: JSON = PASS_MACHINE, name: str | None = None) -> str:
        name = name or unique()
        r = client.post("/v1/state-machines", json={"name": name, "definition": definition})
        assert r.status_code in (200, 201), r.text
        return name

    return do
