"""Database fixtures: ``db_url`` runs a test on real SQLite and real PostgreSQL (a fresh
database cloned from a migrated template per test, safe under pytest-xdist)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Harness

from statemachine.store.testing import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_url(request.param, tmp_path)


@pytest.fixture
def sqlite_db_url(tmp_path: Path) -> Iterator[str]:
    yield from database_url("sqlite", tmp_path)


@pytest.fixture
def pg_db_url(tmp_path: Path) -> Iterator[str]:
    yield from database_url("postgresql", tmp_path)


@pytest.fixture
def harness(db_url: str) -> Iterator[Harness]:
    h = Harness(db_url)
    try:
        yield h
    finally:
        h.close()
        h.service.close()  # its pooled connections, closed now rather than by the GC


@pytest.fixture
def sqlite_harness(sqlite_db_url: str) -> Iterator[Harness]:
    h = Harness(sqlite_db_url)
    try:
        yield h
    finally:
        h.close()
        h.service.close()  # its pooled connections, closed now rather than by the GC
