"""`/v1/console`: what the web console needs beyond the public resources.

Two reads, both about one execution:

* `GET /v1/console/executions/{id}/trace?after=N`: the history events after id `N`,
  each with the frame that wrote it, plus the frames those events name and their
  ancestors (parent frame, position in its Map or Parallel, scope). The public history
  leaves frames out, yet without them the events of concurrent Map iterations or
  Parallel branches interleave with nothing to tell them apart, and the console could
  neither colour a state inside a Map nor group a timeline by iteration. A frame's
  `scope` is the id of the graph cluster it runs in (`States.M.ItemProcessor`), so
  the console matches events to graph nodes without a lookup table.
* `GET /v1/console/executions/{id}/tasks`: the callback tokens still open, with the
  state that waits on each. The engine keeps a `.waitForTaskToken` token in its own
  table; it reaches the history only if the definition passes `$$.Task.Token` in the
  Task's parameters, so without this list a person could not approve or reject a
  callback from the console. Tokens are bearer secrets: the route needs the same API
  token as the callback endpoints that accept them, so it reveals nothing a caller could
  not already do.

Both read the service's database with the store's tables, the way :mod:`api.facade_ext`
does, and return their own models (never table rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import select

from api.deps import ServiceDep
from api.openapi import errors
from api.security import require_token
from statemachine.errors import NotFound
from statemachine.service import Service
from statemachine.store import executions as ex_repo
from statemachine.store.db import from_micros
from statemachine.store.jsontext import loads
from statemachine.store.tables import frames, history, task_tokens

JSON = Any

router = APIRouter(
    prefix="/v1/console",
    tags=["console"],
    dependencies=[Depends(require_token)],
)

ExecutionId = Annotated[str, Path(description="the execution ARN")]
PAGE = 1000


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class TraceEvent(_Out):
    id: int
    type: str
    timestamp: datetime
    details: dict[str, JSON]
    frame_id: int | None = Field(description="the frame that wrote the event")


class TraceFrame(_Out):
    """A frame: the execution's root, one Map iteration or one Parallel branch."""

    id: int
    parent_id: int | None
    group_index: int = Field(description="the Map item index or the Parallel branch index")
    generation: int = Field(description="which run of the parent Map/Parallel state")
    scope: str = Field(description="the graph cluster id; empty for the root")


class Trace(_Out):
    events: list[TraceEvent]
    frames: list[TraceFrame] = Field(description="the frames the events name, and their ancestors")
    status: str = Field(description="the execution's status when the page was read")
    last_event_id: int = Field(description="pass as ?after= for the next page")
    more: bool = Field(description="true when more events follow right away")


class OpenTask(_Out):
    task_token: str
    state_name: str | None
    scope: str
    frame_id: int
    map_index: int | None = Field(description="the Map item or Parallel branch, if nested")
    created_at: datetime
    expires_at: datetime | None = None
    heartbeat_seconds: int | None = None


class OpenTaskList(_Out):
    tasks: list[OpenTask]


def _require_execution(conn: Any, execution_id: str) -> Any:
    row = ex_repo.get_execution(conn, execution_id)
    if row is None:
        raise NotFound(f"Execution does not exist: '{execution_id}'")
    return row


def _frames_with_ancestors(conn: Any, execution_id: str, ids: set[int]) -> list[Any]:
    """The frames `ids` and every frame above them, one query per nesting level."""
    found: dict[int, Any] = {}
    wanted = set(ids)
    while wanted:
        rows = conn.execute(
            select(
                frames.c.id,
                frames.c.parent_id,
                frames.c.group_index,
                frames.c.generation,
                frames.c.scope,
            ).where(frames.c.execution_id == execution_id, frames.c.id.in_(sorted(wanted)))
        ).all()
        for row in rows:
            found[row.id] = row
        wanted = {r.parent_id for r in rows if r.parent_id is not None} - found.keys()
    return [found[k] for k in sorted(found)]


def read_trace(service: Service, execution_id: str, after: int, limit: int = PAGE) -> Trace:
    with service.db.read() as conn:
        execution = _require_execution(conn, execution_id)
        rows = conn.execute(
            select(history)
            .where(history.c.execution_id == execution_id, history.c.id > after)
            .order_by(history.c.id)
            .limit(limit + 1)
        ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        frame_ids = {r.frame_id for r in rows if r.frame_id is not None}
        frame_rows = _frames_with_ancestors(conn, execution_id, frame_ids)
    events = [
        TraceEvent(
            id=r.id,
            type=r.type,
            timestamp=from_micros(r.timestamp),  # type: ignore[arg-type]
            details=loads(r.details),
            frame_id=r.frame_id,
        )
        for r in rows
    ]
    return Trace(
        events=events,
        frames=[
            TraceFrame(
                id=f.id,
                parent_id=f.parent_id,
                group_index=f.group_index,
                generation=f.generation,
                scope=f.scope,
            )
            for f in frame_rows
        ],
        status=execution.status,
        last_event_id=rows[-1].id if rows else after,
        more=more,
    )


def read_open_tasks(service: Service, execution_id: str) -> list[OpenTask]:
    with service.db.read() as conn:
        _require_execution(conn, execution_id)
        rows = conn.execute(
            select(
                task_tokens.c.token,
                task_tokens.c.frame_id,
                task_tokens.c.created_at,
                task_tokens.c.expires_at,
                task_tokens.c.heartbeat_seconds,
                frames.c.scope,
                frames.c.snapshot,
                frames.c.parent_id,
                frames.c.group_index,
            )
            .join(frames, frames.c.id == task_tokens.c.frame_id)
            .where(task_tokens.c.execution_id == execution_id, ~task_tokens.c.used)
            .order_by(task_tokens.c.created_at, task_tokens.c.token)
        ).all()
    tasks = []
    for row in rows:
        snapshot = loads(row.snapshot)
        state = snapshot.get("state") if isinstance(snapshot, dict) else None
        tasks.append(
            OpenTask(
                task_token=row.token,
                state_name=state if isinstance(state, str) else None,
                scope=row.scope,
                frame_id=row.frame_id,
                map_index=row.group_index if row.parent_id is not None else None,
                created_at=from_micros(row.created_at),  # type: ignore[arg-type]
                expires_at=from_micros(row.expires_at),
                heartbeat_seconds=row.heartbeat_seconds,
            )
        )
    return tasks


@router.get(
    "/executions/{execution_id}/trace",
    response_model=Trace,
    response_model_by_alias=True,
    summary="History events with the frames (Map iterations, Parallel branches) that wrote them",
    responses=errors(404),
)
def get_trace(
    execution_id: ExecutionId,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, description="the last event id already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE,
) -> Trace:
    return read_trace(service, execution_id, after, limit)


@router.get(
    "/executions/{execution_id}/tasks",
    response_model=OpenTaskList,
    response_model_by_alias=True,
    summary="Callback tokens of an execution that wait for an answer",
    responses=errors(404),
)
def get_open_tasks(execution_id: ExecutionId, service: ServiceDep) -> OpenTaskList:
    return OpenTaskList(tasks=read_open_tasks(service, execution_id))
