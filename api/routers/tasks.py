"""`/v1/tasks`: answer a task by its token (the callback pattern and activities).

The token travels in the body, never in the URL, so it does not end up in access logs.
Tokens are single use: a second answer, or an answer after the task timed out, is a 400.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ServiceDep, SettingsDep
from api.models import TaskFailure, TaskHeartbeat, TaskSuccess
from api.openapi import errors
from api.security import check_payload

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

ANSWER_ERRORS = errors(400, 404, 413)


@router.post(
    "/success",
    status_code=204,
    response_class=Response,
    summary="Complete a task with its result",
    responses=ANSWER_ERRORS,
)
def send_task_success(body: TaskSuccess, service: ServiceDep, settings: SettingsDep) -> Response:
    check_payload(body.output, settings.payload_limit or service.payload_limit, "output")
    service.send_task_success(body.task_token, body.output)
    return Response(status_code=204)


@router.post(
    "/failure",
    status_code=204,
    response_class=Response,
    summary="Fail a task with an error name and cause (Retry and Catch see them)",
    responses=ANSWER_ERRORS,
)
def send_task_failure(body: TaskFailure, service: ServiceDep) -> Response:
    service.send_task_failure(body.task_token, body.error, body.cause)
    return Response(status_code=204)


@router.post(
    "/heartbeat",
    status_code=204,
    response_class=Response,
    summary="Tell the engine a task is still being worked on (HeartbeatSeconds)",
    responses=ANSWER_ERRORS,
)
def send_task_heartbeat(body: TaskHeartbeat, service: ServiceDep) -> Response:
    service.send_task_heartbeat(body.task_token)
    return Response(status_code=204)
