"""`GET /v1/executions/{executionId}/events`: a Server-Sent Events stream (see
:mod:`api.sse`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import NotifierDep, ServiceDep, SettingsDep
from api.openapi import errors
from api.sse import execution_events

router = APIRouter(prefix="/v1/executions", tags=["executions"])


@router.get(
    "/{execution_id}/events",
    response_class=StreamingResponse,
    summary="Stream an execution's history and live events (Server-Sent Events)",
    responses={
        200: {
            "description": "text/event-stream: `history` events (with ids), `live` events "
            "(LLM token deltas, progress) and a final `end` event",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **errors(404),
    },
)
async def stream_events(
    execution_id: Annotated[str, Path(description="the execution ARN (executionId)")],
    service: ServiceDep,
    notifier: NotifierDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(description="resume after this history event id (sent by EventSource)"),
    ] = None,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            description="resume after this history event id (for clients that "
            "cannot set headers); Last-Event-ID wins when both are given",
        ),
    ] = None,
) -> StreamingResponse:
    await run_in_threadpool(service.describe_execution, execution_id)  # 404 before streaming
    start = after or 0
    if last_event_id is not None and last_event_id.strip().isdigit():
        start = int(last_event_id.strip())
    return StreamingResponse(
        execution_events(service, notifier, execution_id, start, settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
