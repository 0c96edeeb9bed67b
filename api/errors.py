"""Every error leaves the API as ``application/problem+json`` (RFC 9457).

``type`` is a stable URN built from the library error's ``type_slug``
(``urn:statemachine:problem:not-found``), ``status`` its ``http_status``, ``detail`` the
message. A :class:`~statemachine.errors.DefinitionError` adds ``problems`` (rule, message,
JSON path, line, column: the same list ``statemachine validate`` prints); a request that
does not match its schema is a 422 with ``errors``. A database that is down or busy is a 503
(retry). Anything unexpected is a 500 with a fixed message: the traceback goes to the server
log, never into a response.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from statemachine.errors import DefinitionError, LoadError, StateMachineError
from statemachine.validation.problem import Problem

log = logging.getLogger("statemachine.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:statemachine:problem:"

#: Slugs of the errors the HTTP layer raises itself (the library's come from ``type_slug``).
HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request-body",
    501: "not-implemented",
    503: "unavailable",
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_type(slug: str) -> str:
    return TYPE_PREFIX + slug


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return ProblemResponse(body, status_code=status, headers=headers)


def problem_json(problem: Problem) -> dict[str, Any]:
    """A validation problem on the wire: the CLI's JSON form, without the file name (a
    definition sent over REST has none)."""
    data = problem.to_json()
    data.pop("file", None)
    return data


def _load_problem(exc: LoadError) -> Problem:
    return Problem(exc.rule, exc.message, (), None, exc.line, exc.column)


async def _library_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StateMachineError)
    status = exc.http_status
    if status >= 500:
        return await _internal_error(request, exc)
    problems = None
    if isinstance(exc, DefinitionError):
        problems = [problem_json(p) for p in exc.problems]
    elif isinstance(exc, LoadError):
        problems = [problem_json(_load_problem(exc))]
    return problem_response(
        status, exc.type_slug, str(exc), instance=request.url.path, problems=problems
    )


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"])
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, HTTP_SLUGS[422], detail, instance=request.url.path, errors=errors)


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    slug = HTTP_SLUGS.get(status, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return problem_response(
        status, slug, detail, instance=request.url.path, headers=dict(exc.headers or {})
    )


async def _database_error(request: Request, exc: Exception) -> ProblemResponse:
    """The database is down, or busy beyond its timeout: worth retrying, not a bug."""
    log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        503,
        "unavailable",
        "The database is unavailable or busy; try again",
        instance=request.url.path,
        headers={"Retry-After": "1"},
    )


async def _internal_error(request: Request, exc: Exception) -> ProblemResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        "internal",
        "The server failed to handle this request; the error is in its log.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StateMachineError, _library_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _internal_error)
