"""Every exception the library raises, in one tree.

::

    StateMachineError                  base; ``http_status`` is read only by the API
    ├── LoadError                      a file could not be read or parsed (file, line, column)
    ├── ExpressionError                a JSONPath / intrinsic / JSONata / pattern expression
    │                                  does not compile; ``str()`` draws a caret under ``column``
    ├── DefinitionError                a definition failed validation; ``problems`` lists all
    ├── StatesError                    an ASL runtime error (``error`` + ``cause``) raised while a
    │   │                              state runs; Retry and Catch see exactly these
    │   └── TaskError                  raised by user handlers to fail a Task with a named error
    ├── NotFound                       an execution, state machine or task token does not exist
    ├── Conflict                       a write raced with another, or a name is taken
    │   └── ExecutionAlreadyExists     same execution name, different input (or closed run)
    ├── InvalidRequest                 a well-formed call that cannot be honoured (wrong status)
    └── PayloadTooLarge                a request body or payload exceeds its configured limit

Facts are attributes, never parsed out of messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from statemachine.validation.problem import Problem

__all__ = [
    "Conflict",
    "DefinitionError",
    "ExecutionAlreadyExists",
    "ExpressionError",
    "InvalidRequest",
    "LoadError",
    "NotFound",
    "PayloadTooLarge",
    "StateMachineError",
    "StatesError",
    "TaskError",
]


class StateMachineError(Exception):
    """Root of every error this library raises on purpose."""

    http_status: ClassVar[int] = 500
    type_slug: ClassVar[str] = "internal"


class LoadError(StateMachineError):
    """A definition file is not valid YAML/JSON text, or is unsafe to parse."""

    http_status = 400
    type_slug = "load-error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        rule: str = "load",
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.rule = rule
        where = file or "<input>"
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class ExpressionError(StateMachineError):
    """An expression does not compile. ``column`` is 0-based into ``expression``."""

    http_status = 400
    type_slug = "expression-error"

    def __init__(self, message: str, expression: str, column: int = 0) -> None:
        self.message = message
        self.expression = expression
        self.column = max(0, min(column, len(expression)))
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message}\n  {self.expression}\n  {' ' * self.column}^"


class DefinitionError(StateMachineError):
    """A definition has one or more validation problems."""

    http_status = 400
    type_slug = "invalid-definition"

    def __init__(self, problems: Sequence[Problem], message: str | None = None) -> None:
        self.problems = list(problems)
        if message is None:
            first = self.problems[0].format() if self.problems else "invalid definition"
            more = len(self.problems) - 1
            message = first + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        super().__init__(message)


class StatesError(StateMachineError):
    """An ASL error raised while a state runs: Retry/Catch match on ``error``."""

    http_status = 400
    type_slug = "states-error"

    def __init__(
        self, error: str, cause: str | None = None, *, retry_after: float | None = None
    ) -> None:
        self.error = error
        self.cause = cause
        # Seconds the failing service asked to wait (HTTP Retry-After): a matching retrier
        # waits at least this long before the next attempt.
        self.retry_after = retry_after
        super().__init__(f"{error}: {cause}" if cause else error)


class TaskError(StatesError):
    """Raise from a handler to fail its Task with a named error, e.g.
    ``raise TaskError("Payment.Declined", "card expired")``."""


class NotFound(StateMachineError):
    http_status = 404
    type_slug = "not-found"


class Conflict(StateMachineError):
    http_status = 409
    type_slug = "conflict"


class ExecutionAlreadyExists(Conflict):
    type_slug = "execution-already-exists"


class InvalidRequest(StateMachineError):
    http_status = 400
    type_slug = "invalid-request"


class PayloadTooLarge(StateMachineError):
    http_status = 413
    type_slug = "payload-too-large"
