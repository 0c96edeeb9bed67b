"""AWS Lambda portability: run a local handler where a definition invokes a Lambda.

Two ways AWS definitions call Lambda, both mapped to local handlers by function name
(see :class:`statemachine.handlers.dispatch.Dispatcher`):

* ``Resource: arn:aws:states:::lambda:invoke`` with ``Parameters: {FunctionName,
  Payload}``, the optimized integration. AWS returns the function's output wrapped in
  the Lambda Invoke API response (``ExecutedVersion``, ``Payload``, ``StatusCode``,
  ``SdkHttpMetadata``, ``SdkResponseMetadata``), and fails the task when the function
  reports an error. :func:`invoke_lambda` builds the same envelope.
* ``Resource: arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]``, the legacy
  form, whose result is the function's output itself.

Errors take Lambda's shape. A function that raises reports the exception class name as
the error, so ``ErrorEquals: [MyError]`` matches; the cause is the JSON text of the
Lambda error object, ``{"errorMessage", "errorType", "requestId", "stackTrace"}``, as the
Python runtime produces it. A result that cannot be serialized is
``Runtime.MarshalError``, and running out of memory is ``Lambda.Unknown``, both as on
AWS. A function name with no local mapping is ``Lambda.ResourceNotFoundException``.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from statemachine.errors import StatesError, TaskError
from statemachine.handlers.registry import Handler, TaskContext, invoke_handler, to_json

JSON = Any

_log = logging.getLogger("statemachine.task")
_OWN_FILES = str(Path(__file__).resolve().parent)
_NAMESPACE = uuid.UUID("6f1f3c2e-5b8e-4d0a-9a49-7f1f3c2e5b8e")


def request_id(ctx: TaskContext) -> str:
    """A request id stable for one attempt of one step (a fresh one without a key)."""
    if not ctx.idempotency_key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, f"{ctx.idempotency_key}#{ctx.attempt}"))


def invoke_lambda(
    handler: Handler,
    payload: JSON,
    ctx: TaskContext,
    *,
    qualifier: str | None = None,
    envelope: bool = True,
    invocation_type: str = "RequestResponse",
) -> JSON:
    """Run ``handler`` as the Lambda function; the Invoke response envelope when
    ``envelope`` (``lambda:invoke``), else the plain result (a bare function ARN)."""
    rid = request_id(ctx)
    version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
    if invocation_type == "DryRun":  # Lambda validates and answers 204 without running
        return response_envelope("", version, rid, status=204)
    try:
        raw = invoke_handler(handler, payload, ctx)
        result = to_marshalled(raw, rid)
    except StatesError as exc:
        if invocation_type == "Event":
            # An asynchronous invoke never reports the function's error to the caller.
            _log.warning("Lambda %s (Event) failed: %s", ctx.state_name, exc)
            return response_envelope("", version, rid, status=202)
        raise lambda_error(exc, rid) from exc
    if invocation_type == "Event":
        return response_envelope("", version, rid, status=202)
    return response_envelope(result, version, rid) if envelope else result


def to_marshalled(raw: JSON, rid: str) -> JSON:
    try:
        return to_json(raw)
    except StatesError as exc:
        message = f"Unable to marshal response: {exc.cause}"
        raise TaskError(
            "Runtime.MarshalError", _error_cause(message, "Runtime.MarshalError", rid, [])
        ) from None


def lambda_error(exc: StatesError, rid: str) -> StatesError:
    """The error a Lambda function's failure surfaces as in the execution."""
    if exc.error.startswith("States."):  # engine errors (timeouts, ...) stay as they are
        return exc
    if exc.error == "Runtime.MarshalError" or exc.error.startswith("Lambda."):
        return exc
    origin = exc.__cause__ if exc.__cause__ is not None else exc
    stack = _stack(origin)
    if isinstance(origin, MemoryError):
        cause = _error_cause("Runtime exited: out of memory", "Runtime.OutOfMemory", rid, stack)
        return TaskError("Lambda.Unknown", cause)
    return TaskError(exc.error, _error_cause(exc.cause or "", exc.error, rid, stack))


def _error_cause(message: str, error_type: str, rid: str, stack: list[str]) -> str:
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": rid,
            "stackTrace": stack,
        }
    )


def _stack(exc: BaseException) -> list[str]:
    """The user's frames of the traceback, formatted as the Python runtime does."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not str(Path(f.filename).resolve()).startswith(_OWN_FILES)
    ]
    return traceback.format_list(frames)


def response_envelope(result: JSON, version: str, rid: str, *, status: int = 200) -> JSON:
    """The Lambda Invoke API response as Step Functions returns it from lambda:invoke."""
    body = "" if result == "" and status != 200 else json.dumps(result)
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body.encode())),
        "Content-Type": "application/json",
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
        "X-Amz-Executed-Version": version,
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": rid,
    }
    return {
        "ExecutedVersion": version,
        "Payload": result,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": rid},
        "StatusCode": status,
    }
