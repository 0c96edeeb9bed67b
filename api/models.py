"""The REST API's request and response bodies.

Separate classes for what comes in (``XCreate``) and what goes out (``XPublic``), none of
them a table row or a facade model, so the wire format can stay stable while the library
changes. Field names on the wire are camelCase, as in the AWS Step Functions API
(``executionId``, ``startDate``); Python code uses snake_case. Request bodies forbid unknown
fields, so a misspelt field is a 422, not silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

JSON = Any

#: State machine and execution names: what AWS allows minus non-ASCII, so that a name is
#: always one safe URL path segment and one ARN component.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,79}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# -- state machines --------------------------------------------------------------------------

DefinitionSource = Annotated[
    str | dict[str, JSON],
    Field(description="the ASL definition: YAML or JSON text, or a JSON object"),
]


class StateMachineCreate(_In):
    name: Name
    definition: DefinitionSource


class StateMachineUpdate(_In):
    definition: DefinitionSource


class StateMachineSummary(_Out):
    name: str
    latest_version: str = Field(description="sha256 of the canonical definition JSON")
    created_at: datetime
    updated_at: datetime


class StateMachinePublic(_Out):
    """A state machine and the version a call looked at (its latest unless asked)."""

    name: str
    version: str = Field(description="sha256 of the canonical definition JSON")
    latest_version: str
    created_at: datetime = Field(description="when this version was first stored")
    updated_at: datetime = Field(description="when the state machine last changed")
    definition: dict[str, JSON] = Field(description="the definition as JSON")


class StateMachineRegistered(_Out):
    name: str
    version: str = Field(description="sha256 of the canonical definition JSON")
    new_version: bool = Field(description="false when this exact definition was stored before")


class StateMachineList(_Out):
    state_machines: list[StateMachineSummary]
    next_cursor: str | None = None


class VersionPublic(_Out):
    version: str
    created_at: datetime


class VersionList(_Out):
    versions: list[VersionPublic]


class GraphPublic(_Out):
    """Nodes, edges, markers, clusters and a layout (see ``statemachine.graph``)."""

    model_config = ConfigDict(extra="allow")

    comment: str | None = None
    start: str | None = None
    nodes: list[dict[str, JSON]]
    markers: list[dict[str, JSON]]
    edges: list[dict[str, JSON]]
    clusters: list[dict[str, JSON]]
    layout: dict[str, JSON] | None = None


# -- validation ------------------------------------------------------------------------------


class ValidateRequest(_In):
    definition: DefinitionSource


class DefinitionProblem(_Out):
    """One problem, as ``statemachine validate --format json`` prints it."""

    rule: str
    severity: Literal["error", "warning"]
    message: str
    path: str = Field(description="JSON path into the definition, e.g. $.States.A.Next")
    line: int | None = None
    column: int | None = None


class ValidationResult(_Out):
    valid: bool
    problems: list[DefinitionProblem]


# -- executions ------------------------------------------------------------------------------


class ExecutionCreate(_In):
    state_machine: Name
    input: JSON = Field(default=None, description="any JSON value; {} when left out")
    name: Name | None = Field(
        default=None,
        description="unique per state machine; starting again with the same name and input "
        "while it runs returns the running execution",
    )


class ExecutionPublic(_Out):
    execution_id: str = Field(description="the execution ARN")
    name: str
    state_machine: str
    version: str
    status: Status
    input: JSON = None
    output: JSON = Field(default=None, description="the result, once SUCCEEDED")
    error: str | None = None
    cause: str | None = None
    start_date: datetime
    stop_date: datetime | None = None
    redrive_count: int = 0
    redrive_date: datetime | None = None


class ExecutionSummary(_Out):
    execution_id: str
    name: str
    state_machine: str
    version: str
    status: Status
    start_date: datetime
    stop_date: datetime | None = None
    redrive_count: int = 0


class ExecutionList(_Out):
    executions: list[ExecutionSummary]
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for more")


class HistoryEventPublic(_Out):
    id: int = Field(description="1-based, gapless within an execution")
    type: str = Field(description="AWS event type name, e.g. TaskStateEntered")
    timestamp: datetime
    details: dict[str, JSON]


class HistoryPage(_Out):
    events: list[HistoryEventPublic]
    next_cursor: str | None = None


class StopRequest(_In):
    error: Annotated[str, StringConstraints(max_length=256)] | None = None
    cause: Annotated[str, StringConstraints(max_length=32768)] | None = None


# -- callbacks and activities ----------------------------------------------------------------

Token = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class TaskSuccess(_In):
    task_token: Token
    output: JSON = Field(default=None, description="the task's result (any JSON value)")


class TaskFailure(_In):
    task_token: Token
    error: Annotated[str, StringConstraints(max_length=256)] | None = None
    cause: Annotated[str, StringConstraints(max_length=32768)] | None = None


class TaskHeartbeat(_In):
    task_token: Token


class ActivityTask(_Out):
    task_token: str
    input: JSON = None


# -- operations ------------------------------------------------------------------------------


class Health(_Out):
    status: Literal["ok"] = "ok"


class Readiness(_Out):
    status: Literal["ok"] = "ok"
    database: str = Field(description="sqlite or postgresql")


# -- errors ----------------------------------------------------------------------------------


class ProblemDetails(BaseModel):
    """An RFC 9457 problem. ``type`` is stable (``urn:statemachine:problem:<slug>``);
    ``detail`` is for people. Definition problems carry ``problems``, request validation
    failures ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    problems: list[DefinitionProblem] | None = None
    errors: list[dict[str, JSON]] | None = None
