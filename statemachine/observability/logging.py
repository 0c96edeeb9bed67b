"""Structured logs: one JSON object per line when the output is not a terminal.

Every line carries the execution's fields when the code that logs knows them:
``execution_id``, ``state``, ``attempt``, ``trace_id`` and ``span_id`` (the task span, so a
log backend can jump to the trace). A handler's ``ctx.logger`` is a :class:`TaskLogger`
with those fields bound; other code passes them as ``extra=``.

    configure_logging()                 # JSON on a pipe or file, readable text on a TTY
    configure_logging(json_lines=True)  # force JSON

Only the standard library is used; nothing here needs OpenTelemetry.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import IO, Any

FIELDS = ("execution_id", "state", "attempt", "trace_id", "span_id")
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", <execution fields>, <other extras>}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_") and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The human form for a terminal: the usual line, then ``key=value`` fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{key}={getattr(record, key)}" for key in FIELDS if getattr(record, key, None)]
        return f"{line} [{' '.join(fields)}]" if fields else line


class TaskLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter whose fields join (not replace) a call's own ``extra``.

    Built for every task call, and most calls never log: a ``ctx.logger`` is made with
    the call's context and reads its fields from it on first use (:attr:`extra`)."""

    def __init__(
        self, logger: logging.Logger, extra: Mapping[str, Any] | None = None, ctx: Any = None
    ) -> None:
        self.logger = logger
        self._extra = extra
        self._ctx = ctx

    @property
    def extra(self) -> Mapping[str, Any]:  # type: ignore[override]
        if self._extra is None:
            ctx = self._ctx
            self._extra = (
                {}
                if ctx is None
                else task_fields(
                    ctx.execution_id, ctx.state_name, ctx.attempt, getattr(ctx, "traceparent", None)
                )
            )
        return self._extra

    @extra.setter
    def extra(self, value: Mapping[str, Any]) -> None:
        self._extra = value

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        fields = self.extra
        extra = kwargs.get("extra")
        kwargs["extra"] = {**fields, **extra} if extra else fields
        return msg, kwargs


def task_fields(
    execution_id: str, state: str, attempt: int, traceparent: str | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"execution_id": execution_id, "state": state, "attempt": attempt}
    if traceparent is not None and _TRACEPARENT.fullmatch(traceparent):
        fields["trace_id"] = traceparent[3:35]  # version 00: 2-32-16-2 hex digits
        fields["span_id"] = traceparent[36:52]
    return fields


def task_logger(ctx: Any, logger: logging.Logger | None = None) -> TaskLogger:
    """The ``ctx.logger`` of a task: ``statemachine.task`` with the call's fields (read
    from ``ctx`` when it first logs)."""
    return TaskLogger(logger or logging.getLogger("statemachine.task"), ctx=ctx)


def configure_logging(
    level: int | str = logging.INFO,
    *,
    stream: IO[str] | None = None,
    json_lines: bool | None = None,
    logger: str | None = None,
) -> logging.Handler:
    """Send ``logger`` (the root by default) to ``stream`` (stderr): JSON lines unless the
    stream is a terminal. Replaces handlers an earlier call installed; returns the new one."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not (hasattr(stream, "isatty") and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler._statemachine = True  # type: ignore[attr-defined]
    target = logging.getLogger(logger)
    for old in [h for h in target.handlers if getattr(h, "_statemachine", False)]:
        target.removeHandler(old)
    target.addHandler(handler)
    target.setLevel(level)
    return handler


def bound(logger: logging.Logger, fields: Mapping[str, Any]) -> TaskLogger:
    """``logger`` with ``fields`` on every line (e.g. the engine's own logs of an
    execution: ``bound(log, {"execution_id": ...})``)."""
    return TaskLogger(logger, dict(fields))
