"""Return types of :class:`statemachine.service.Service`, shared by the CLI and REST API.

They are plain pydantic models, separate from the database tables (which never leave the
store). Field names follow the AWS Step Functions API where one exists, in snake_case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

JSON = Any


class StateMachineVersion(BaseModel):
    name: str
    version: str = Field(description="sha256 of the canonical definition JSON")
    created: bool = Field(description="False when this exact definition was stored before")


class ExecutionDescription(BaseModel):
    execution_id: str = Field(description="the execution ARN")
    name: str
    state_machine: str
    version: str
    status: str = Field(description="RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED")
    input: JSON = None
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    start_date: datetime
    stop_date: datetime | None = None
    redrive_count: int = 0
    redrive_date: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status != "RUNNING"


class ExecutionSummary(BaseModel):
    execution_id: str
    name: str
    state_machine: str
    version: str
    status: str
    start_date: datetime
    stop_date: datetime | None = None
    redrive_count: int = 0


class ExecutionList(BaseModel):
    executions: list[ExecutionSummary]
    next_cursor: str | None = None


class HistoryEvent(BaseModel):
    id: int
    type: str
    timestamp: datetime
    details: dict[str, JSON] = Field(default_factory=dict)


class HistoryPage(BaseModel):
    events: list[HistoryEvent]
    next_cursor: str | None = None


class ActivityTask(BaseModel):
    """A claimed activity task (AWS GetActivityTask): answer it with
    ``send_task_success/failure/heartbeat(task_token, ...)``."""

    task_token: str
    input: JSON = None
