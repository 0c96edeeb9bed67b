"""Server-Sent Events: an execution's history as it is written, plus its live events.

The stream sends three kinds of event::

    id: 7                       event: live                  event: end
    event: history              data: {"state": "Ask",       data: {<the execution,
    data: {"id": 7, "type":           "type": "delta", ...}         as GET returns it>}
      "TaskScheduled", ...}

``history`` events carry the history event id as the SSE ``id``, so a client that
reconnects with ``Last-Event-ID: 7`` (browsers do this by themselves) continues with event 8:
nothing is lost or repeated. ``live`` events (LLM token deltas, progress) come from the
in-process broker (:mod:`statemachine.handlers.stream`); they carry no id, are not
persisted and are not replayed, and only reach a stream served by the process whose worker
runs the task. ``end`` follows the closing history event, and the server then ends the
stream. A comment line keeps idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.models import ExecutionPublic, HistoryEventPublic
from api.notify import Notifier
from api.settings import Settings
from statemachine.handlers import stream
from statemachine.service import Service

HISTORY_PAGE = 500
RETRY_MS = 2000


def format_event(data: Any, event: str, event_id: str | None = None) -> str:
    """One SSE message; ``data`` is JSON-encoded on a single line."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def _history(event: Any) -> str:
    body = HistoryEventPublic.model_validate(event.model_dump()).model_dump(
        mode="json", by_alias=True
    )
    return format_event(body, "history", str(event.id))


async def _next_live(live: AsyncIterator[Any]) -> Any:
    return await anext(live)


async def execution_events(
    service: Service,
    notifier: Notifier,
    execution_id: str,
    last_event_id: int,
    settings: Settings,
) -> AsyncIterator[str]:
    subscription = stream.subscribe(execution_id)
    live = aiter(subscription)
    live_next: asyncio.Future[Any] | None = asyncio.ensure_future(_next_live(live))
    watch = notifier.watch(execution_id)
    changed: asyncio.Future[bool] | None = None
    last = last_event_id
    try:
        yield f"retry: {RETRY_MS}\n\n"
        sent_at = time.monotonic()
        while True:
            # Describe first: when it says closed, the closing event is already committed,
            # so the history read after it contains it.
            description = await run_in_threadpool(service.describe_execution, execution_id)
            while True:
                page = await run_in_threadpool(
                    service.get_history, execution_id, str(last) if last else None, HISTORY_PAGE
                )
                for event in page.events:
                    yield _history(event)
                    last = event.id
                    sent_at = time.monotonic()
                if not page.next_cursor:
                    break
            if description.status != "RUNNING":
                # A live event is either still buffered or already taken by the pending
                # read (the broker hands it over in one step): send both kinds.
                if live_next is not None and live_next.done() and not live_next.cancelled():
                    with contextlib.suppress(StopAsyncIteration):
                        yield format_event(live_next.result(), "live")
                    live_next = None
                for item in subscription.drain():
                    yield format_event(item, "live")
                body = ExecutionPublic.model_validate(description.model_dump())
                yield format_event(body.model_dump(mode="json", by_alias=True), "end")
                return
            changed = asyncio.ensure_future(watch.wait(settings.sse_poll_seconds))
            while not changed.done():
                waiting = {changed} if live_next is None else {changed, live_next}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if live_next is not None and live_next.done():
                    try:
                        item = live_next.result()
                    except StopAsyncIteration:  # the broker closed the subscription
                        live_next = None
                    else:
                        yield format_event(item, "live")
                        sent_at = time.monotonic()
                        live_next = asyncio.ensure_future(_next_live(live))
            changed = None
            if time.monotonic() - sent_at >= settings.sse_keepalive_seconds:
                yield ": keep-alive\n\n"
                sent_at = time.monotonic()
    finally:
        for pending in (live_next, changed):
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
        subscription.close()
        watch.close()
