"""`/v1/activities/{name}/poll`: an external worker (in any language) long-polls for the
next task of an `activity:NAME` resource, then answers it through `/v1/tasks`, as with
AWS `GetActivityTask` / `SendTaskSuccess`."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import ServiceDep, SettingsDep
from api.models import ActivityTask
from api.openapi import errors
from statemachine.service import Service

router = APIRouter(prefix="/v1/activities", tags=["activities"])

POLL_INTERVAL = 0.25


def _poller(service: Service) -> Any:
    poll = getattr(service, "get_activity_task", None)
    if poll is None:
        raise HTTPException(
            status_code=501, detail="this server's engine does not dispatch activities yet"
        )
    return poll


@router.post(
    "/{name}/poll",
    response_model=ActivityTask,
    summary="Wait for the next task of an activity",
    responses={204: {"description": "no task arrived within ?wait= seconds"}, **errors(501)},
)
async def poll_activity(
    name: Annotated[str, Path(description="the NAME of activity:NAME")],
    service: ServiceDep,
    settings: SettingsDep,
    wait: Annotated[
        float, Query(ge=0, le=3600, description="long-poll up to this many seconds (capped)")
    ] = 20.0,
    worker: Annotated[
        str | None, Query(max_length=80, description="who polls, for history")
    ] = None,
) -> ActivityTask | Response:
    """200 with `taskToken` and `input`; 204 when nothing arrived in time."""
    poll = _poller(service)
    deadline = time.monotonic() + min(wait, settings.max_wait_seconds)
    while True:
        task = await run_in_threadpool(poll, name, worker)
        if task is not None:
            return ActivityTask(task_token=task.task_token, input=task.input)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Response(status_code=204)
        await asyncio.sleep(min(POLL_INTERVAL, remaining))
