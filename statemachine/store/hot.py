"""The statements of a worker's hot path, as driver SQL run on the DBAPI connection.

A transition writes a frame, moves ``executions.last_event_id`` (on SQLite the fast path
leaves that to the history: see :data:`SQLITE_LAST_EVENT`) and appends history: three
small statements whose cost through SQLAlchemy's ``Connection.execute`` (parameter
processing, result set-up, events) was larger than the database's own work. Here they are
plain SQL strings written once, in the driver's parameter style (sqlite3 takes ``:name``,
psycopg ``%(name)s``), executed on the DBAPI connection underneath the SQLAlchemy
transaction the caller opened: same transaction, same commit. psycopg prepares them on the
server after a few executions.

The SQL must mean exactly what the Core statements in :mod:`.frames` and
:mod:`.executions` mean; only the hot ones live here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from statemachine.store.db import appended

WRITE_FRAME_LEASED_SQL = (
    "UPDATE frames SET snapshot = :b_snapshot, status = 'RUNNABLE', inbox = :b_inbox, "
    "version = version + 1 WHERE id = :fid AND version = :ver"
)
_LOCK_ONE = (
    "SELECT id, last_event_id, status, deadline, redrive_count FROM executions WHERE id = :eid"
)
#: SQLite: an execution's last event id is the larger of the column and its newest history
#: row, since the one-frame fast path appends history without writing the execution row
#: (see :mod:`.fast`); one index seek on the history's primary key.
SQLITE_LAST_EVENT = (
    "max(last_event_id, coalesce((SELECT max(h.id) FROM history AS h "
    "WHERE h.execution_id = executions.id), 0))"
)
_LOCK_ONE_SQLITE = (
    f"SELECT id, {SQLITE_LAST_EVENT}, status, deadline, redrive_count FROM executions "
    "WHERE id = :eid"
)
_SET_LAST = "UPDATE executions SET last_event_id = :last WHERE id = :eid"
MOVE_LAST_SQL = (
    "UPDATE executions SET last_event_id = :last WHERE id = :eid AND last_event_id = :old"
)
_MOVE_LAST_SQLITE = (
    f"UPDATE executions SET last_event_id = :last WHERE id = :eid AND {SQLITE_LAST_EVENT} = :old"
)
#: SQLite, the fast path's one write before its history: the frame, if its version and
#: the execution's last event id (a read: no page to write) are both what the worker had.
SQLITE_FAST_FRAME_SQL = (
    f"{WRITE_FRAME_LEASED_SQL} AND (SELECT {SQLITE_LAST_EVENT} FROM executions "
    "WHERE id = :eid) = :old"
)
INSERT_HISTORY_SQL = (
    'INSERT INTO history (execution_id, id, "type", "timestamp", frame_id, details) '
    "VALUES (:execution_id, :id, :type, :timestamp, :frame_id, :details)"
)

# PostgreSQL group commit: one fixed statement (prepared once) for any number of rows; the
# arrays go in binary format (``%(x)b``), which spares psycopg escaping every element.
_PG_LEASED_MANY = (
    "UPDATE frames AS f SET snapshot = v.snapshot, status = 'RUNNABLE', inbox = v.inbox, "
    "version = f.version + 1 FROM unnest(%(ids)b::bigint[], %(vers)b::integer[], "
    "%(snaps)b::text[], %(inboxes)b::text[]) AS v(id, ver, snapshot, inbox) "
    "WHERE f.id = v.id AND f.version = v.ver RETURNING f.id"
)
_PG_LOCK_MANY = (
    "SELECT id, last_event_id, status, deadline, redrive_count FROM executions "
    "WHERE id = ANY(%(eids)b::text[]) ORDER BY id FOR UPDATE"
)
_PG_SET_LAST_MANY = (
    "UPDATE executions AS e SET last_event_id = v.last "
    "FROM unnest(%(eids)b::text[], %(lasts)b::integer[]) AS v(id, last) WHERE e.id = v.id"
)
_PG_HISTORY_MANY = (
    'INSERT INTO history (execution_id, id, "type", "timestamp", frame_id, details) '
    "SELECT * FROM unnest(%(execution_id)b::text[], %(id)b::integer[], %(type)b::text[], "
    "%(timestamp)b::bigint[], %(frame_id)b::bigint[], %(details)b::text[])"
)


def pyformat(sql: str) -> str:
    return re.sub(r":(\w+)", r"%(\1)s", sql)


class HotStatements:
    """The hot statements for one dialect."""

    def __init__(self, postgres: bool) -> None:
        convert = pyformat if postgres else (lambda sql: sql)
        self.write_frame_leased = convert(WRITE_FRAME_LEASED_SQL)
        self.lock_one = convert(_LOCK_ONE + " FOR UPDATE") if postgres else _LOCK_ONE_SQLITE
        self.set_last = convert(_SET_LAST)
        self.move_last = convert(MOVE_LAST_SQL) if postgres else _MOVE_LAST_SQLITE
        self.insert_history = convert(INSERT_HISTORY_SQL)
        self.postgres = postgres
        self._tails: dict[int, str] = {}

    @contextmanager
    def cursor(self, conn: Connection, statement: str, params: Any) -> Iterator[Any]:
        """A DBAPI cursor of ``conn``; driver errors come out as SQLAlchemy's
        :class:`~sqlalchemy.exc.DBAPIError` subclasses, as from ``conn.execute``."""
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            yield cursor
        except dbapi.Error as exc:
            raise DBAPIError.instance(statement, params, exc, dbapi.Error) from exc
        finally:
            cursor.close()

    def write_leased(self, conn: Connection, params: dict[str, Any]) -> int:
        """The frame write of a transition after which the worker keeps the frame;
        returns the number of rows written (0: the version moved, the write is stale)."""
        with self.cursor(conn, self.write_frame_leased, params) as cursor:
            cursor.execute(self.write_frame_leased, params)
            return cursor.rowcount

    def write_leased_many(self, conn: Connection, params: list[dict[str, Any]]) -> set[int]:
        """PostgreSQL: the frame writes of a group commit as ONE statement (an UPDATE from
        arrays), one round trip where there was one per frame; returns the ids written (a
        missing id: that frame's version moved, its write is stale)."""
        arrays = {
            "ids": [p["fid"] for p in params],
            "vers": [p["ver"] for p in params],
            "snaps": [p["b_snapshot"] for p in params],
            "inboxes": [p["b_inbox"] for p in params],
        }
        with self.cursor(conn, _PG_LEASED_MANY, arrays) as cursor:
            cursor.execute(_PG_LEASED_MANY, arrays)
            return {row[0] for row in cursor.fetchall()}

    def write_leased_sqlite(self, conn: Connection, params: list[dict[str, Any]]) -> int | None:
        """SQLite: the frame writes of a group commit in one ``executemany``; returns None
        when all were written, else the id of a frame whose version had moved (the caller
        rolls the whole transaction back)."""
        with self.cursor(conn, self.write_frame_leased, params) as cursor:
            cursor.executemany(self.write_frame_leased, params)
            if cursor.rowcount == len(params):
                return None
            # Which one? In this transaction the written frames are at version + 1.
            expected = {p["fid"]: p["ver"] + 1 for p in params}
            marks = ", ".join("?" * len(expected))
            cursor.execute(f"SELECT id, version FROM frames WHERE id IN ({marks})", [*expected])
            current = dict(cursor.fetchall())
        return next(fid for fid, ver in expected.items() if current.get(fid) != ver)

    def move_last_event_ids(self, conn: Connection, moves: list[dict[str, Any]]) -> bool:
        """:meth:`move_last_event_id` for several executions (``eid``, ``old``, ``last``):
        True when every one still had its ``old`` value."""
        if len(moves) == 1:
            (move,) = moves
            return self.move_last_event_id(conn, move["eid"], move["old"], move["last"])
        with self.cursor(conn, self.move_last, moves) as cursor:
            cursor.executemany(self.move_last, moves)
            return cursor.rowcount == len(moves)

    def lock_many(self, conn: Connection, ids: list[str]) -> dict[str, list]:
        """PostgreSQL: lock several execution rows in id order (the order every
        transaction locks them in, so two workers never deadlock), one fixed statement."""
        params = {"eids": sorted(ids)}
        with self.cursor(conn, _PG_LOCK_MANY, params) as cursor:
            cursor.execute(_PG_LOCK_MANY, params)
            return {r[0]: [r[1], r[2], r[3], r[4]] for r in cursor.fetchall()}

    def lock(self, conn: Connection, execution_id: str) -> dict[str, list]:
        """:func:`~statemachine.store.executions.lock_executions` for one execution."""
        params = {"eid": execution_id}
        with self.cursor(conn, self.lock_one, params) as cursor:
            cursor.execute(self.lock_one, params)
            return {r[0]: [r[1], r[2], r[3], r[4]] for r in cursor.fetchall()}

    def set_last_event_ids(self, conn: Connection, values: dict[str, int]) -> None:
        if not values:
            return
        if self.postgres and len(values) > 1:
            arrays = {"eids": list(values), "lasts": list(values.values())}
            with self.cursor(conn, _PG_SET_LAST_MANY, arrays) as cursor:
                cursor.execute(_PG_SET_LAST_MANY, arrays)
            return
        params = [{"eid": k, "last": v} for k, v in values.items()]
        with self.cursor(conn, self.set_last, params) as cursor:
            if len(params) == 1:
                cursor.execute(self.set_last, params[0])
            else:
                cursor.executemany(self.set_last, params)

    def move_last_event_id(self, conn: Connection, execution_id: str, old: int, new: int) -> bool:
        """Set ``last_event_id`` to ``new`` only if it is still ``old``: False when another
        transaction appended to the execution's history since ``old`` was read."""
        params = {"eid": execution_id, "old": old, "last": new}
        with self.cursor(conn, self.move_last, params) as cursor:
            cursor.execute(self.move_last, params)
            return cursor.rowcount == 1

    def append_history(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.postgres and len(rows) > 2:
            arrays = {
                key: [row[key] for row in rows]
                for key in ("execution_id", "id", "type", "timestamp", "frame_id", "details")
            }
            with self.cursor(conn, _PG_HISTORY_MANY, arrays) as cursor:
                cursor.execute(_PG_HISTORY_MANY, arrays)
            appended(rows)
            return
        with self.cursor(conn, self.insert_history, rows) as cursor:
            if len(rows) == 1:
                cursor.execute(self.insert_history, rows[0])
            else:
                cursor.executemany(self.insert_history, rows)
        appended(rows)

    def leased_tail(
        self,
        conn: Connection,
        frame: dict[str, Any],
        execution_id: str,
        last: int,
        rows: list[dict[str, Any]],
    ) -> int:
        """PostgreSQL only: the leased frame write, the history rows and the new
        ``last_event_id`` of a one-frame transition as ONE statement (data-modifying CTEs),
        so one round trip instead of three. Returns the number of frame rows written
        (0: stale). The execution row is already locked (``FOR UPDATE``) by then, so
        taking the frame's row lock inside the statement keeps the usual lock order."""
        sql, params = self._tail(frame, execution_id, last, rows)
        with self.cursor(conn, sql, params) as cursor:
            cursor.execute(sql, params)
            written = cursor.fetchone()
        appended(rows)
        return 0 if written is None else int(written[0])

    def locked_tail(
        self,
        conn: Connection,
        frame: dict[str, Any],
        execution_id: str,
        last: int,
        rows: list[dict[str, Any]],
    ) -> tuple[list | None, int]:
        """PostgreSQL only: the execution row lock (``SELECT ... FOR UPDATE``, first, as
        in every transaction) and :meth:`leased_tail`, sent together in one round trip
        (libpq pipeline mode; the server still runs them in this order). Returns the
        locked row ``[last_event_id, status, deadline, redrive_count]`` (None if gone)
        and the number of frame rows written; the caller checks the row against the
        values it computed the transition with and rolls back when they differ."""
        sql, params = self._tail(frame, execution_id, last, rows)
        lock_params = {"eid": execution_id}
        dbapi = conn.connection.dbapi_connection  # type: ignore[union-attr]
        with self.cursor(conn, sql, params) as lock, self.cursor(conn, sql, params) as tail:
            with dbapi.pipeline():  # type: ignore[union-attr]
                lock.execute(self.lock_one, lock_params)
                tail.execute(sql, params)
            row = lock.fetchone()
            written = tail.fetchone()
        appended(rows)
        state = None if row is None else [row[1], row[2], row[3], row[4]]
        return state, 0 if written is None else int(written[0])

    def _tail(
        self, frame: dict[str, Any], execution_id: str, last: int, rows: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        sql = self._tails.get(len(rows))
        if sql is None:
            values = history_values(len(rows))
            history = (
                ", h AS (INSERT INTO history "
                '(execution_id, id, "type", "timestamp", frame_id, details) '
                f"VALUES {values} RETURNING 1)"
                if rows
                else ""
            )
            sql = self._tails[len(rows)] = (
                f"WITH f AS ({pyformat(WRITE_FRAME_LEASED_SQL)} RETURNING 1){history} "
                "UPDATE executions SET last_event_id = %(last)s WHERE id = %(eid)s "
                "RETURNING (SELECT count(*) FROM f)"
            )
        params = dict(frame, eid=execution_id, last=last)
        for i, row in enumerate(rows):
            for key, value in row.items():
                params[f"h{i}_{key}"] = value
        return sql, params


def history_values(count: int) -> str:
    """The VALUES list of ``count`` history rows, parameters ``h{i}_{column}``
    (psycopg style)."""
    return ", ".join(
        f"(%(h{i}_execution_id)s, %(h{i}_id)s, %(h{i}_type)s, %(h{i}_timestamp)s, "
        f"%(h{i}_frame_id)s, %(h{i}_details)s)"
        for i in range(count)
    )


_BY_DIALECT: dict[bool, HotStatements] = {}


def hot_statements(postgres: bool) -> HotStatements:
    hot = _BY_DIALECT.get(postgres)
    if hot is None:
        hot = _BY_DIALECT[postgres] = HotStatements(postgres)
    return hot
