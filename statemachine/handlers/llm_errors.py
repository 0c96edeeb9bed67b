"""Provider failures as named errors, so ``Retry`` and ``Catch`` can tell them apart.

==============================  ===========================================================
Error                           When
==============================  ===========================================================
``LLM.RateLimited``             HTTP 429 (throttled): retry with back-off
``LLM.QuotaExceeded``           HTTP 429 with code ``insufficient_quota``: retrying is futile
``LLM.Timeout``                 the request timed out (``timeout``, or the state's budget)
``LLM.ConnectionError``         the endpoint could not be reached, or the stream broke
``LLM.ServerError``             HTTP 5xx
``LLM.BadRequest``              HTTP 400/422, or parameters the handler rejects
``LLM.ContextLengthExceeded``   HTTP 400 with code ``context_length_exceeded``
``LLM.AuthenticationFailed``    HTTP 401
``LLM.PermissionDenied``        HTTP 403
``LLM.NotFound``                HTTP 404 (usually an unknown model or deployment)
``LLM.Conflict``                HTTP 409
``LLM.ProviderError``           any other HTTP status
``LLM.InvalidResponse``         the provider's answer could not be read
``LLM.InvalidOutput``           structured output that is not JSON or fails its schema
``LLM.Refused``                 the model refused to produce the structured output
``LLM.NotConfigured``           neither OPENAI_API_KEY nor OPENAI_BASE_URL is set
==============================  ===========================================================

When the provider sends ``Retry-After`` (or ``retry-after-ms``), the raised error carries
it as ``retry_after`` (seconds, float). The engine uses it as the *minimum* delay before
the next attempt: the Retrier's computed back-off applies when it is longer.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from statemachine.errors import TaskError

_BY_STATUS = {
    400: "LLM.BadRequest",
    401: "LLM.AuthenticationFailed",
    403: "LLM.PermissionDenied",
    404: "LLM.NotFound",
    409: "LLM.Conflict",
    422: "LLM.BadRequest",
    429: "LLM.RateLimited",
}
_BY_CODE = {
    "context_length_exceeded": "LLM.ContextLengthExceeded",
    "insufficient_quota": "LLM.QuotaExceeded",
}


class ProviderError(TaskError):
    """A failed model call. ``retry_after``: seconds the provider asked to wait before
    trying again, or None; ``status_code``: the HTTP status, when there was one."""

    def __init__(
        self,
        error: str,
        cause: str | None = None,
        *,
        retry_after: float | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(error, cause)
        self.retry_after = retry_after
        self.status_code = status_code


def parse_retry_after(headers: Mapping[str, str] | Any, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (delta-seconds or an
    HTTP date, RFC 9110 section 10.2.3); None when absent or unreadable."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def from_openai(exc: Exception) -> ProviderError:
    """Translate an exception of the ``openai`` client into a named ProviderError."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("LLM.Timeout", f"The model request timed out: {exc}")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("LLM.ConnectionError", f"Cannot reach the model endpoint: {exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code, message = _error_detail(exc.body, exc.message)
        name = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
        if name is None:
            name = "LLM.ServerError" if status >= 500 else "LLM.ProviderError"
        retry_after = parse_retry_after(exc.response.headers)
        cause = f"HTTP {status}: {message}"
        if retry_after is not None:
            cause += f" (Retry-After: {retry_after:g} s)"
        return ProviderError(name, cause, retry_after=retry_after, status_code=status)
    if isinstance(exc, openai.APIResponseValidationError):
        return ProviderError("LLM.InvalidResponse", f"Unreadable provider response: {exc}")
    return ProviderError("LLM.ProviderError", f"{type(exc).__name__}: {exc}")


def _error_detail(body: Any, fallback: str) -> tuple[str | None, str]:
    """OpenAI-style bodies are ``{"error": {"message", "type", "code"}}``; the client
    sometimes hands over the inner object already."""
    detail = body.get("error", body) if isinstance(body, Mapping) else None
    if not isinstance(detail, Mapping):
        return None, fallback
    code = detail.get("code")
    message = detail.get("message")
    return (code if isinstance(code, str) else None), (
        message if isinstance(message, str) and message else fallback
    )
