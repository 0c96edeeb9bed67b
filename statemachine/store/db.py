"""Opening a database: URL forms, SQLite pragmas, transactions, schema migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and with
``synchronous=FULL`` unless the URL asks otherwise (``sqlite:///x.db?synchronous=NORMAL``):
FULL is the setting under which a committed transition survives a power cut, not only a
process crash. Every write transaction starts with ``BEGIN IMMEDIATE``, so two workers on one
file serialise on the write lock instead of failing with "database is locked" at commit.
PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://``), which prepares statements
that run repeatedly.

The schema is managed by Alembic and upgraded when a database is opened; the common case
(already at the head revision) costs one query and never imports Alembic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

#: The Alembic revision this code expects; ``migrations/versions`` ends with it.
HEAD_REVISION = "0002"

_SQLITE_OPTIONS = ("synchronous", "busy_timeout", "journal_mode")
_migrated: set[str] = set()
#: Test support: when a list, every Database opened is kept here until ``dispose_all``.
tracked: list[Database] | None = None
_migrate_lock = threading.Lock()
_appended: ContextVar[list[dict[str, Any]] | None] = ContextVar("sm_history_rows", default=None)


def appended(rows: list[dict[str, Any]]) -> None:
    """Note history rows written in the current :meth:`Database.write` transaction, for
    its ``history_listener`` (a no-op when the database has none)."""
    pending = _appended.get()
    if pending is not None:
        pending.extend(rows)


def now_micros() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000)


def to_micros(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def normalize_url(url: str) -> str:
    """Accept ``postgresql://``/``postgres://`` (mapped to psycopg 3), SQLAlchemy URLs,
    and a bare file path (an SQLite database)."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        return "sqlite:///" + str(Path(url).resolve())
    return url


class Database:
    """An engine plus the dialect facts the repository functions need."""

    def __init__(self, url: str, *, pool_size: int = 5, migrate: bool = True) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed)
        elif self.dialect == "postgresql":
            self.engine = create_engine(
                parsed, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=False
            )
        else:
            raise ValueError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        self.is_postgres = self.dialect == "postgresql"
        #: Called with the history rows of each write transaction after it commits
        #: (statemachine.observability builds spans from them); None costs nothing.
        self.history_listener: Callable[[list[dict[str, Any]]], None] | None = None
        #: Workers of this process sharing this object, woken when an operation here makes
        #: a frame runnable (a start, a callback, a redrive) instead of at their next poll.
        self.wakers: list[Callable[[], None]] = []
        if tracked is not None:
            tracked.append(self)
        if migrate:
            ensure_schema(self)

    def _sqlite_engine(self, parsed: Any) -> Engine:
        options = {k: parsed.query[k] for k in _SQLITE_OPTIONS if k in parsed.query}
        parsed = parsed.difference_update_query(_SQLITE_OPTIONS)
        synchronous = str(options.get("synchronous", "FULL")).upper()
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous}")
        busy_ms = int(options.get("busy_timeout", 30_000))
        database = parsed.database
        if not database or database == ":memory:":
            raise ValueError("the durable engine needs an SQLite file, not an in-memory database")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.sqlite_synchronous = synchronous
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver would otherwise
            # start deferred transactions behind our back).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite, READ COMMITTED on PostgreSQL."""
        listener = self.history_listener
        if listener is None:
            with self.engine.begin() as conn:
                yield conn
            return
        rows: list[dict[str, Any]] = []
        token = _appended.set(rows)
        try:
            with self.engine.begin() as conn:
                yield conn
        finally:
            _appended.reset(token)
        if rows:  # committed: a rolled-back transaction raised before this line
            listener(rows)

    def wake_workers(self) -> None:
        """Tell this process's workers on this database that a frame became runnable."""
        for wake in self.wakers:
            wake()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction that never takes SQLite's write lock."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="DEFERRED")
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def dispose_all() -> None:
    """Close the pooled connections of every tracked :class:`Database`."""
    while tracked:
        tracked.pop().dispose()


def ensure_schema(db: Database) -> None:
    """Upgrade the schema to :data:`HEAD_REVISION` if it is not there yet."""
    key = db.url
    if key in _migrated:
        return
    with _migrate_lock:
        if key in _migrated:
            return
        if current_revision(db) != HEAD_REVISION:
            upgrade(db)
        _migrated.add(key)


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        if db.is_postgres:
            exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
        else:
            exists = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'")
            ).scalar()
        if not exists:
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(db: Database, revision: str = "head") -> None:
    """Run Alembic migrations in one transaction, serialised between processes (an
    advisory lock on PostgreSQL, the write lock on SQLite)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with db.write() as conn:
        if db.is_postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(7245150917)"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
