"""`/v1/executions`: start (optionally waiting for the result), describe, list, history,
stop and redrive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import MetricsDep, NotifierDep, ServiceDep, SettingsDep
from api.models import (
    ExecutionCreate,
    ExecutionList,
    ExecutionPublic,
    ExecutionSummary,
    HistoryEventPublic,
    HistoryPage,
    Status,
    StopRequest,
)
from api.notify import wait_for_execution
from api.openapi import errors
from api.security import check_payload
from statemachine.service_models import ExecutionDescription

router = APIRouter(prefix="/v1/executions", tags=["executions"])

ExecutionId = Annotated[str, Path(description="the execution ARN (executionId)")]


def public(description: ExecutionDescription) -> ExecutionPublic:
    return ExecutionPublic.model_validate(description.model_dump())


def location(execution_id: str) -> str:
    return f"/v1/executions/{quote(execution_id, safe=':')}"


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.post(
    "",
    status_code=201,
    response_model=ExecutionPublic,
    summary="Start an execution (and optionally wait for its result)",
    responses={
        200: {
            "model": ExecutionPublic,
            "description": "finished within ?wait=, or the same start by name was already "
            "running (idempotent)",
        },
        202: {
            "model": ExecutionPublic,
            "description": "still running after ?wait= seconds; poll the Location",
        },
        **errors(400, 404, 409, 413),
    },
)
async def start_execution(
    body: ExecutionCreate,
    response: Response,
    service: ServiceDep,
    settings: SettingsDep,
    notifier: NotifierDep,
    metrics: MetricsDep,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            le=3600,
            description="wait up to this many seconds for the result (capped by the server's "
            "maximum, 60 s by default)",
        ),
    ] = None,
) -> ExecutionPublic:
    """201 with the new execution; with `?wait=`, 200 and the result if it finishes in
    time, else 202 with a `Location` to poll. Starting again with the same `name` and
    input while it runs returns it (200); another input, or a closed execution with that
    name, is a 409."""
    execution_input = {} if body.input is None else body.input
    check_payload(execution_input, settings.payload_limit or service.payload_limit, "input")
    description, created = await run_in_threadpool(
        service.start, body.state_machine, execution_input, body.name
    )
    if created:
        metrics.execution_started()
    response.headers["Location"] = location(description.execution_id)
    if wait:
        timeout = min(wait, settings.max_wait_seconds)
        description = await wait_for_execution(service, notifier, description.execution_id, timeout)
        response.status_code = 202 if description.status == "RUNNING" else 200
    else:
        response.status_code = 201 if created else 200
    return public(description)


@router.get(
    "",
    response_model=ExecutionList,
    summary="List executions, newest first",
    responses=errors(400),
)
def list_executions(
    service: ServiceDep,
    state_machine: Annotated[str | None, Query(alias="stateMachine")] = None,
    status: Annotated[Status | None, Query()] = None,
    started_after: Annotated[
        datetime | None, Query(alias="startedAfter", description="ISO 8601; UTC if naive")
    ] = None,
    started_before: Annotated[datetime | None, Query(alias="startedBefore")] = None,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ExecutionList:
    page = service.list_executions(
        state_machine=state_machine,
        status=status,
        started_after=_utc(started_after),
        started_before=_utc(started_before),
        cursor=cursor,
        limit=limit,
    )
    return ExecutionList(
        executions=[ExecutionSummary.model_validate(e.model_dump()) for e in page.executions],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{execution_id}",
    response_model=ExecutionPublic,
    summary="Describe an execution",
    responses=errors(404),
)
def describe_execution(execution_id: ExecutionId, service: ServiceDep) -> ExecutionPublic:
    return public(service.describe_execution(execution_id))


@router.get(
    "/{execution_id}/history",
    response_model=HistoryPage,
    summary="An execution's history events, oldest first (or newest first with reverse)",
    responses=errors(400, 404),
)
def get_history(
    execution_id: ExecutionId,
    service: ServiceDep,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    reverse: bool = False,
) -> HistoryPage:
    page = service.get_history(execution_id, cursor=cursor, limit=limit, reverse=reverse)
    return HistoryPage(
        events=[HistoryEventPublic.model_validate(e.model_dump()) for e in page.events],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/{execution_id}/stop",
    response_model=ExecutionPublic,
    summary="Stop a running execution (ABORTED)",
    responses=errors(400, 404),
)
def stop_execution(
    execution_id: ExecutionId,
    service: ServiceDep,
    notifier: NotifierDep,
    metrics: MetricsDep,
    body: Annotated[StopRequest | None, Body()] = None,
) -> ExecutionPublic:
    request = body or StopRequest()
    description = service.stop_execution(execution_id, request.error, request.cause)
    metrics.execution_finished("ABORTED")
    notifier.notify(execution_id)
    return public(description)


@router.post(
    "/{execution_id}/redrive",
    response_model=ExecutionPublic,
    summary="Redrive a FAILED, TIMED_OUT or ABORTED execution from where it stopped",
    responses=errors(400, 404),
)
def redrive_execution(
    execution_id: ExecutionId, service: ServiceDep, notifier: NotifierDep
) -> ExecutionPublic:
    description = service.redrive_execution(execution_id)
    notifier.notify(execution_id)
    return public(description)
