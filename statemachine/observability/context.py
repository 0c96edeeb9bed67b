"""The W3C ``traceparent`` of the request being served, for the execution it starts.

:class:`TraceContextMiddleware` (pure ASGI, no dependency) keeps the header of each HTTP
request in a context variable; starting an execution records it in the
``ExecutionStarted`` event (``traceParent``), which makes the execution's span a child of
the caller's span in every process that later reads the history. Context variables
follow the request into the thread pool that runs the synchronous service calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from statemachine.observability.ids import parse_traceparent

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

_incoming: ContextVar[str | None] = ContextVar("statemachine_traceparent", default=None)


def incoming_traceparent() -> str | None:
    """The valid ``traceparent`` of the current request, if any."""
    return _incoming.get()


def set_incoming_traceparent(value: str | None) -> Any:
    """Set (a valid header, else nothing) for the current context; returns the token
    for :func:`reset_incoming_traceparent`."""
    return _incoming.set(value if parse_traceparent(value) is not None else None)


def reset_incoming_traceparent(token: Any) -> None:
    _incoming.reset(token)


class TraceContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers") or ():
            if name == b"traceparent":
                header = value.decode("latin-1")
                break
        token = set_incoming_traceparent(header)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_incoming_traceparent(token)
