"""The cheapest durable write of the commonest transition: one frame, kept by its worker,
whose only writes are its own row, its history rows and (PostgreSQL) ``last_event_id``.

The worker computes such a transition from its cached execution row (see
:meth:`~statemachine.engine.commit.BatchWriter.plan`) and commits it here, on a DBAPI
connection of its own, without SQLAlchemy's transaction machinery:

- SQLite: ``BEGIN IMMEDIATE``, the frame write guarded by its version and by the
  execution's last event id (read in the same statement), the history rows, ``COMMIT``:
  the statements of :mod:`.hot`, on the raw driver. The execution row is not written:
  the history's own primary key says which ids are taken
  (:data:`~statemachine.store.hot.SQLITE_LAST_EVENT`, which every SQLite reader of
  ``last_event_id`` uses), and a page less per commit is about a sixth of the commit's
  time (each page written costs the WAL's fsync some 15 us).
- PostgreSQL: ONE statement in autocommit mode (so one round trip, one implicit
  transaction): data-modifying CTEs move ``last_event_id`` from the cached value (taking
  the execution row's lock first, the lock order of every transaction), then write the
  frame if that moved and its version still matches; the INSERT of the history rows
  divides by the number of frames written, so when either guard matched nothing the
  whole statement fails and a stale transition writes nothing at all.

:meth:`FastCommit.commit` returns False when a guard failed (the cache or the frame was
stale): nothing was written, and the caller takes the general path, which locks and
re-reads.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from statemachine.store.db import Database
from statemachine.store.hot import (
    INSERT_HISTORY_SQL,
    SQLITE_FAST_FRAME_SQL,
    WRITE_FRAME_LEASED_SQL,
    history_values,
    pyformat,
)

_PG_GUARDS = (
    "WITH e AS (UPDATE executions SET last_event_id = %(last)s "
    "WHERE id = %(eid)s AND last_event_id = %(old)s RETURNING 1), "
    "f AS ({frame} AND EXISTS (SELECT 1 FROM e) RETURNING 1) "
)
# The statement's last part divides by the number of frames written (0 when either guard
# matched nothing), so a stale transition fails the whole statement: nothing is written,
# not even the moved last_event_id.
_PG_HISTORY = (
    'INSERT INTO history (execution_id, id, "type", "timestamp", frame_id, details) '
    "SELECT * FROM (VALUES {values}) AS v WHERE 1 / (SELECT count(*)::int FROM f) = 1"
)
_PG_NO_HISTORY = "SELECT 1 / (SELECT count(*)::int FROM f)"


class FastCommit:
    """A worker's own connection for one-frame transitions (used by one thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.postgres = db.is_postgres
        self._raw: Any = None
        self._sql: dict[int, str] = {}

    def _connection(self) -> Any:
        if self._raw is None:
            raw = self.db.engine.raw_connection()
            if self.postgres:
                raw.dbapi_connection.autocommit = True
            self._raw = raw
        return self._raw

    def commit(
        self,
        frame: dict[str, Any],
        execution_id: str,
        old: int,
        last: int,
        rows: list[dict[str, Any]],
    ) -> bool:
        """Write the frame (``fid``, ``ver``, ``b_snapshot``, ``b_inbox``), the history
        ``rows`` and ``last_event_id`` = ``last`` if it is still ``old``; False (and
        nothing written) when a guard failed. Driver errors come out as SQLAlchemy's
        :class:`~sqlalchemy.exc.DBAPIError`, after which the connection is replaced."""
        raw = self._connection()
        dbapi = self.db.engine.dialect.loaded_dbapi
        try:
            if self.postgres:
                ok = self._postgres(raw, frame, execution_id, old, last, rows)
            else:
                ok = self._sqlite(raw, frame, execution_id, old, last, rows)
        except dbapi.Error as exc:
            self.close(invalidate=True)
            raise DBAPIError.instance("fast transition", None, exc, dbapi.Error) from exc
        if ok:
            listener = self.db.history_listener
            if listener is not None and rows:
                listener(rows)
        return ok

    def _sqlite(
        self,
        raw: Any,
        frame: dict[str, Any],
        execution_id: str,
        old: int,
        last: int,
        rows: list[dict[str, Any]],
    ) -> bool:
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(SQLITE_FAST_FRAME_SQL, dict(frame, eid=execution_id, old=old))
            ok = cursor.rowcount == 1
            if not ok:
                cursor.execute("ROLLBACK")
                return False
            if len(rows) == 1:
                cursor.execute(INSERT_HISTORY_SQL, rows[0])
            elif rows:
                cursor.executemany(INSERT_HISTORY_SQL, rows)
            cursor.execute("COMMIT")
            return True
        except BaseException:
            if raw.dbapi_connection.in_transaction:
                raw.dbapi_connection.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def _postgres(
        self,
        raw: Any,
        frame: dict[str, Any],
        execution_id: str,
        old: int,
        last: int,
        rows: list[dict[str, Any]],
    ) -> bool:
        import psycopg

        sql = self._sql.get(len(rows))
        if sql is None:
            tail = _PG_HISTORY.format(values=history_values(len(rows))) if rows else _PG_NO_HISTORY
            sql = self._sql[len(rows)] = (
                _PG_GUARDS.format(frame=pyformat(WRITE_FRAME_LEASED_SQL)) + tail
            )
        params = dict(frame, eid=execution_id, old=old, last=last)
        for i, row in enumerate(rows):
            for key, value in row.items():
                params[f"h{i}_{key}"] = value
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            return True
        except (psycopg.errors.DivisionByZero, psycopg.errors.UniqueViolation):
            # A guard matched nothing, so the statement wrote nothing. (History ids above
            # ``old`` exist only when ``last_event_id`` moved past it: a duplicate id is
            # the same staleness.)
            return False
        finally:
            cursor.close()

    def close(self, invalidate: bool = False) -> None:
        raw, self._raw = self._raw, None
        if raw is None:
            return
        try:
            if invalidate:
                raw.invalidate()
                return
            if self.postgres:
                raw.dbapi_connection.autocommit = False
            raw.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass
