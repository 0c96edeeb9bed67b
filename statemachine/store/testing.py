"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database cloned from a
migrated template (``CREATE DATABASE ... TEMPLATE``), so tests stay independent and can run
in parallel processes (pytest-xdist).

The template is built once per schema (its name carries a hash of the migration scripts)
under an advisory lock, so concurrent test processes never build it twice. PostgreSQL is
found through ``STATEMACHINE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
the maintenance database the clones are created from).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from statemachine.store import db as db_module
from statemachine.store.db import Database, dispose_all, normalize_url

PG_ADMIN_URL = os.environ.get("STATEMACHINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _schema_tag() -> str:
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parent / "migrations").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    url = make_url(normalize_url(PG_ADMIN_URL))
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


def postgres_available() -> bool:
    try:
        with _admin():
            return True
    except Exception:
        return False


def _url_for(database: str) -> str:
    url = make_url(normalize_url(PG_ADMIN_URL)).set(database=database)
    return url.render_as_string(hide_password=False)


def ensure_template() -> str:
    """Create (once) and migrate the template database; returns its name."""
    name = f"sm_template_{_schema_tag()}"
    with _admin() as conn:
        conn.execute("SELECT pg_advisory_lock(4711001)")
        try:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                building = f"{name}_building"
                conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                conn.execute(f'CREATE DATABASE "{building}"')
                db = Database(_url_for(building))
                db.dispose()
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(4711001)")
    return name


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (dropped afterwards); yields its URL."""
    template = ensure_template()
    name = f"sm_test_{uuid.uuid4().hex[:16]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _url_for(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(directory: Path, synchronous: str | None = None) -> str:
    url = f"sqlite:///{directory / 'statemachine.db'}"
    return f"{url}?synchronous={synchronous}" if synchronous else url


def database_url(kind: str, directory: Path) -> Iterator[str]:
    """Body of the ``db_url`` pytest fixtures: yields the URL of a fresh database of
    ``kind`` ("sqlite" or "postgresql"); skips the test when PostgreSQL is unreachable
    (unless ``STATEMACHINE_REQUIRE_PG`` is set, as in CI, where that is a failure)."""
    if db_module.tracked is None:
        db_module.tracked = []
    if kind == "sqlite":
        try:
            yield sqlite_url(directory)
        finally:
            dispose_all()
        return
    if not postgres_available():
        import pytest

        if os.environ.get("STATEMACHINE_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with postgres_database() as url:
        try:
            yield url
        finally:
            dispose_all()
