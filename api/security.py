"""Authentication and request size limits.

Bearer tokens: when :attr:`Settings.api_tokens` is not empty, every ``/v1`` route and
``/metrics`` need ``Authorization: Bearer <token>``; tokens are compared in constant time,
against every configured token, so the response time tells nothing about how close a
guess was. ``/healthz``, ``/readyz``, ``/openapi.json`` and the web page stay open: they
reveal nothing about workflows.

Body size: :class:`BodyLimitMiddleware` refuses a body over ``max_body_bytes`` with 413
before the application reads it, whether or not the client sent ``Content-Length``. The
finer limits (a definition's text, an execution input, a task result) are checked by the
routes, which know which field is which.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SettingsDep
from api.errors import TYPE_PREFIX
from statemachine.errors import InvalidRequest, PayloadTooLarge
from statemachine.loader import MAX_DEPTH

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="A token from STATEMACHINE_API_TOKENS (or the server's token file).",
)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def token_matches(candidate: str, tokens: frozenset[str]) -> bool:
    given = candidate.encode()
    found = False
    for token in tokens:  # no early exit: every token is compared
        found |= hmac.compare_digest(given, token.encode())
    return found


def require_token(settings: SettingsDep, credentials: Credentials) -> None:
    """Dependency of every protected route."""
    if not settings.api_tokens:
        return
    if credentials is None or not token_matches(credentials.credentials, settings.api_tokens):
        raise HTTPException(
            status_code=401,
            detail="Missing or invalid bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="statemachine"'},
        )


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: how payload limits are measured. Raises
    ValueError for NaN and infinities, which JSON does not have."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode())


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_payload(value: Any, limit: int | None, what: str) -> None:
    """PayloadTooLarge beyond ``limit``; InvalidRequest for values JSON cannot carry and
    for nesting deeper than :data:`MAX_DEPTH` (the limit definitions have too)."""
    depth = json_depth(value)
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{what} nests {depth} levels deep; the limit is {MAX_DEPTH}")
    try:
        size = json_size(value)
    except ValueError:
        raise InvalidRequest(f"{what} holds NaN or Infinity, which JSON has no place for") from None
    if limit is not None and size > limit:
        raise PayloadTooLarge(
            f"{what} is {size} bytes of JSON; the limit is {limit} bytes "
            "(the server's payload limit)"
        )


class BodyLimitMiddleware:
    """Pure ASGI middleware: buffers request bodies up to ``max_bytes`` and answers 413
    beyond it; bodies that fit are replayed to the application unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, declared)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnected
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, send, None)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, send: Send, declared: int | None) -> None:
        size = f"{declared} bytes" if declared is not None else "more than that"
        body = {
            "type": TYPE_PREFIX + PayloadTooLarge.type_slug,
            "title": "Content Too Large",
            "status": 413,
            "detail": f"The request body is {size}; the limit is {self.max_bytes} bytes",
            "instance": scope.get("path"),
        }
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(data)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
