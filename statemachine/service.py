"""The service facade: what the CLI client commands and the REST API call.

``Service(db_url)`` opens (and migrates) the database. It never runs workflows itself:
workers do (``statemachine worker``, or :meth:`Service.worker` for an embedded one).
Errors are the library's own (:mod:`statemachine.errors`): ``NotFound``,
``ExecutionAlreadyExists``, ``InvalidRequest``, ``DefinitionError``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from statemachine import observability
from statemachine.engine import operations
from statemachine.errors import InvalidRequest, NotFound
from statemachine.model import StateMachine
from statemachine.service_models import (
    ActivityTask,
    ExecutionDescription,
    ExecutionList,
    ExecutionSummary,
    HistoryEvent,
    HistoryPage,
    StateMachineVersion,
)
from statemachine.store import executions as ex_repo
from statemachine.store.db import Database, from_micros, now_micros, to_micros
from statemachine.store.jsontext import content_hash, loads

if TYPE_CHECKING:
    from statemachine.engine.worker import Worker

JSON = Any
DEFAULT_PAYLOAD_LIMIT = 262_144


class Service:
    def __init__(
        self,
        db: Database | str,
        *,
        payload_limit: int | None = DEFAULT_PAYLOAD_LIMIT,
    ) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.payload_limit = payload_limit
        self._machines: dict[str, StateMachine] = {}
        observability.attach_from_env(self.db)  # spans of stops and redrives (OTEL_* set)

    def close(self) -> None:
        self.db.dispose()

    # -- state machines --------------------------------------------------------------------

    def register_state_machine(self, name: str, definition: Any) -> StateMachineVersion:
        """Validate ``definition`` (a dict, YAML/JSON text, a path or a loaded
        :class:`StateMachine`) and store it as the latest version of ``name``."""
        machine = definition if isinstance(definition, StateMachine) else _load(definition)
        raw = machine.raw
        digest = content_hash(raw)
        with self.db.write() as conn:
            created = ex_repo.get_definition(conn, digest) is None
            ex_repo.put_definition(conn, name, raw, now_micros())
        self._machines[digest] = machine
        return StateMachineVersion(name=name, version=digest, created=created)

    def _machine(self, digest: str) -> StateMachine:
        machine = self._machines.get(digest)
        if machine is None:
            from statemachine.model.build import build

            with self.db.read() as conn:
                raw = ex_repo.get_definition(conn, digest)
            if raw is None:
                raise NotFound(f"State machine version does not exist: {digest}")
            machine = self._machines[digest] = build(raw)
        return machine

    # -- executions ------------------------------------------------------------------------

    def start_execution(
        self,
        state_machine: str,
        input: JSON = None,
        name: str | None = None,
        *,
        payload_limit: int | str | None = "default",
    ) -> ExecutionDescription:
        return self.start(state_machine, input, name, payload_limit=payload_limit)[0]

    def start(
        self,
        state_machine: str,
        input: JSON = None,
        name: str | None = None,
        *,
        payload_limit: int | str | None = "default",
    ) -> tuple[ExecutionDescription, bool]:
        """:meth:`start_execution`, and whether this call created the execution (False
        when the same name and input returned the one already running), as decided in
        the start's own transaction: of identical starts racing, exactly one created it."""
        with self.db.read() as conn:
            row = ex_repo.get_state_machine(conn, state_machine)
        if row is None:
            raise NotFound(f"State machine does not exist: '{state_machine}'")
        machine = self._machine(row.latest_version)
        limit = self.payload_limit if payload_limit == "default" else payload_limit
        execution_id, created = operations.start(
            self.db,
            state_machine,
            row.latest_version,
            machine,
            {} if input is None else input,
            name,
            limit,  # type: ignore[arg-type]
        )
        return self.describe_execution(execution_id), created

    def describe_execution(self, execution_id: str) -> ExecutionDescription:
        with self.db.read() as conn:
            row = ex_repo.get_execution(conn, execution_id)
        if row is None:
            raise NotFound(f"Execution does not exist: '{execution_id}'")
        return ExecutionDescription(
            execution_id=row.id,
            name=row.name,
            state_machine=row.state_machine,
            version=row.version,
            status=row.status,
            input=loads(row.input),
            output=None if row.output is None else loads(row.output),
            error=row.error,
            cause=row.cause,
            start_date=from_micros(row.start_date),
            stop_date=from_micros(row.stop_date),
            redrive_count=row.redrive_count,
            redrive_date=from_micros(row.redrive_date),
        )

    def list_executions(
        self,
        state_machine: str | None = None,
        status: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> ExecutionList:
        """Newest first. Pass ``next_cursor`` back as ``cursor`` for the next page."""
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit must be between 1 and 1000")
        after = _decode_cursor(cursor) if cursor else None
        with self.db.read() as conn:
            rows = ex_repo.list_executions(
                conn,
                state_machine=state_machine,
                status=status,
                started_after=None if started_after is None else to_micros(started_after),
                started_before=None if started_before is None else to_micros(started_before),
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            ExecutionSummary(
                execution_id=r.id,
                name=r.name,
                state_machine=r.state_machine,
                version=r.version,
                status=r.status,
                start_date=from_micros(r.start_date),
                stop_date=from_micros(r.stop_date),
                redrive_count=r.redrive_count,
            )
            for r in rows
        ]
        next_cursor = _encode_cursor(rows[-1].start_date, rows[-1].id) if more else None
        return ExecutionList(executions=items, next_cursor=next_cursor)

    def get_history(
        self,
        execution_id: str,
        cursor: str | None = None,
        limit: int = 1000,
        reverse: bool = False,
    ) -> HistoryPage:
        if not 1 <= limit <= 10_000:
            raise InvalidRequest("limit must be between 1 and 10000")
        try:
            after = int(cursor) if cursor else 0
        except ValueError:
            raise InvalidRequest(f"invalid cursor {cursor!r}") from None
        with self.db.read() as conn:
            if ex_repo.get_execution(conn, execution_id) is None:
                raise NotFound(f"Execution does not exist: '{execution_id}'")
            rows = ex_repo.history_page(conn, execution_id, after, limit + 1, reverse)
        more = len(rows) > limit
        rows = rows[:limit]
        events = [
            HistoryEvent(
                id=r.id, type=r.type, timestamp=from_micros(r.timestamp), details=loads(r.details)
            )
            for r in rows
        ]
        return HistoryPage(events=events, next_cursor=str(rows[-1].id) if more else None)

    def stop_execution(
        self, execution_id: str, error: str | None = None, cause: str | None = None
    ) -> ExecutionDescription:
        operations.stop(self.db, execution_id, error, cause)
        return self.describe_execution(execution_id)

    def redrive_execution(self, execution_id: str) -> ExecutionDescription:
        current = self.describe_execution(execution_id)
        operations.redrive(self.db, self._machine(current.version), execution_id)
        return self.describe_execution(execution_id)

    def wait(self, execution_id: str, timeout: float | None = None) -> ExecutionDescription:
        """Poll until the execution is no longer RUNNING (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while True:
            description = self.describe_execution(execution_id)
            if description.status != "RUNNING":
                return description
            if deadline is not None and time.monotonic() >= deadline:
                return description
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    # -- callbacks -------------------------------------------------------------------------

    def send_task_success(self, token: str, output: JSON) -> None:
        operations.complete_task(self.db, token, {"k": "event", "ok": True, "result": output})

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        inbox = {"k": "event", "ok": False, "error": error or "States.TaskFailed", "cause": cause}
        operations.complete_task(self.db, token, inbox)

    def send_task_heartbeat(self, token: str) -> None:
        operations.heartbeat_task(self.db, token)

    # -- activities ------------------------------------------------------------------------

    def get_activity_task(self, name: str, worker: str | None = None) -> ActivityTask | None:
        """Claim the oldest unclaimed task of ``activity:NAME`` (non-blocking: None when
        there is none); answer it with :meth:`send_task_success` and friends."""
        claimed = operations.get_activity_task(self.db, name, worker or "anonymous")
        if claimed is None:
            return None
        return ActivityTask(task_token=claimed[0], input=claimed[1])

    # -- workers ---------------------------------------------------------------------------

    def worker(self, **options: Any) -> Worker:
        """An embedded worker on this service's database (call ``start_thread()``)."""
        from statemachine.engine.worker import Worker

        return Worker(self.db, **options)


def _encode_cursor(start: int, execution_id: str) -> str:
    return base64.urlsafe_b64encode(f"{start}|{execution_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        start, _, execution_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return int(start), execution_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(f"invalid cursor {cursor!r}") from None


def _load(definition: Any) -> StateMachine:
    try:
        from statemachine.definition import load
    except ImportError:  # pragma: no cover - the loader is not installed in this build yet
        if not isinstance(definition, Mapping):
            raise
        from statemachine.model.build import build

        return build(definition)
    return load(definition)
