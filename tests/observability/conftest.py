"""Fixtures of the observability tests (helpers live in ``otel_helpers``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "handlers"))  # fake_openai

from otel_collector import Collector
from otel_helpers import Telemetry

from statemachine.store.testing import database_url


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def sqlite_db_url(tmp_path: Path) -> Iterator[str]:
    yield from database_url("sqlite", tmp_path)
