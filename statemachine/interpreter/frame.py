"""The snapshot of one frame (the machine, a Parallel branch or a Map iteration) and the
values that flow in and out of :func:`statemachine.interpreter.advance`.

A frame snapshot is plain data: the durable engine stores it as a JSON row, the in-memory
runner keeps it in a dict. Nothing here refers to a clock, a database or a handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JSON = Any

Phase = Literal["enter", "task", "timer", "retry", "children", "reading", "writing", "done"]
FrameStatus = Literal["RUNNING", "SUCCEEDED", "FAILED"]


@dataclass(slots=True)
class Frame:
    """Where a frame is and what it carries.

    ``input`` is the raw input of the current state; ``variables`` are the workflow
    variables visible to it (a child frame starts with a copy of its parent's).
    ``attempts`` counts retries per retrier of the current state (reset when the state
    is left, as the spec requires). ``pending`` holds what the frame is waiting for
    (the task payload, the wake-up time, ...) so a resumed run never recomputes it.
    """

    scope: str
    state: str
    input: JSON
    variables: dict[str, JSON] = field(default_factory=dict)
    phase: Phase = "enter"
    status: FrameStatus = "RUNNING"
    entered_time: str = ""
    entered_event_id: int = 0
    attempts: tuple[int, ...] = ()
    retry_count: int = 0
    pending: dict[str, JSON] | None = None
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    transitions: int = 0

    def to_json(self) -> dict[str, JSON]:
        return {
            "scope": self.scope,
            "state": self.state,
            "input": self.input,
            "variables": self.variables,
            "phase": self.phase,
            "status": self.status,
            "entered_time": self.entered_time,
            "entered_event_id": self.entered_event_id,
            "attempts": list(self.attempts),
            "retry_count": self.retry_count,
            "pending": self.pending,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "transitions": self.transitions,
        }

    @classmethod
    def from_json(cls, data: dict[str, JSON]) -> Frame:
        return cls(
            scope=data["scope"],
            state=data["state"],
            input=data["input"],
            variables=data.get("variables") or {},
            phase=data.get("phase", "enter"),
            status=data.get("status", "RUNNING"),
            entered_time=data.get("entered_time", ""),
            entered_event_id=data.get("entered_event_id", 0),
            attempts=tuple(data.get("attempts") or ()),
            retry_count=data.get("retry_count", 0),
            pending=data.get("pending"),
            output=data.get("output"),
            error=data.get("error"),
            cause=data.get("cause"),
            transitions=data.get("transitions", 0),
        )


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Fields of the Context object that do not change during an execution."""

    execution_id: str
    name: str
    state_machine_id: str
    state_machine_name: str
    start_time: str
    input: JSON
    role_arn: str = "arn:aws:iam::000000000000:role/statemachine"
    redrive_count: int = 0
    redrive_time: str | None = None


@dataclass(slots=True)
class Env:
    """What the driver gives a step: the time, identity and limits. ``seed`` makes random
    values (UUIDs, task tokens) reproducible for this step of this execution."""

    now: datetime
    execution: ExecutionInfo
    seed: int = 0
    next_event_id: int = 1
    payload_limit: int | None = 262_144
    # Where task tokens come from: the driver passes a CSPRNG (secrets.token_hex) so tokens
    # are unguessable; a token is part of the committed snapshot, so it never needs to be
    # recomputed. Without one (pure tests), tokens derive from the step's seeded rng.
    token_source: Callable[[], str] | None = None


# --- events into a frame ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enter:
    """Run the current state (first entry, or the next state after a transition)."""


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    result: JSON


@dataclass(frozen=True, slots=True)
class TaskFailed:
    error: str
    cause: str | None = None
    retry_after: float | None = None  # minimum back-off the failing service asked for


@dataclass(frozen=True, slots=True)
class TimerFired:
    pass


@dataclass(frozen=True, slots=True)
class ChildrenSucceeded:
    results: list[JSON]


@dataclass(frozen=True, slots=True)
class ChildrenFailed:
    error: str
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class ItemsRead:
    """The driver read a Map's ItemReader dataset."""

    items: list[JSON]


@dataclass(frozen=True, slots=True)
class ResultsWritten:
    """The driver wrote a Map's results (ResultWriter); ``details`` becomes the result."""

    details: JSON


Event = (
    Enter
    | TaskSucceeded
    | TaskFailed
    | TimerFired
    | ChildrenSucceeded
    | ChildrenFailed
    | ItemsRead
    | ResultsWritten
)


# --- effects out of a step ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Continue:
    """The frame moved to its next state: advance it again with :class:`Enter`."""


@dataclass(frozen=True, slots=True)
class InvokeTask:
    resource: str
    payload: JSON
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    task_token: str | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Park the frame until ``until`` (an aware UTC datetime), then send TimerFired."""

    until: datetime
    reason: Literal["wait", "retry"] = "wait"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    scope: str
    input: JSON
    index: int


@dataclass(frozen=True, slots=True)
class SpawnChildren:
    """Run child frames; report ChildrenSucceeded(results in index order) or ChildrenFailed.

    ``kind`` is "parallel" (any failure fails the state) or "map" (failures are counted
    against ``tolerated_count``/``tolerated_percentage``; exceeding either fails the state
    with States.ExceedToleratedFailureThreshold).
    """

    kind: Literal["parallel", "map"]
    children: tuple[ChildSpec, ...]
    variables: dict[str, JSON]
    max_concurrency: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """The frame ended; the driver reports it to the parent, or ends the execution."""

    status: FrameStatus
    output: JSON = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class ReadItems:
    """Read a Map's dataset (ItemReader with its Parameters/Arguments evaluated); answer
    with ItemsRead, or TaskFailed("States.ItemReaderFailed", cause)."""

    reader: dict[str, JSON]
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class WriteResults:
    """Write a Map's results (ResultWriter with its Parameters/Arguments evaluated); answer
    with ResultsWritten, or TaskFailed("States.ResultWriterFailed", cause)."""

    writer: dict[str, JSON]
    results: list[JSON]
    map_run_arn: str


Effect = Continue | InvokeTask | Sleep | SpawnChildren | Finish | ReadItems | WriteResults

HistoryEvent = tuple[str, dict[str, JSON]]


@dataclass(slots=True)
class Step:
    frame: Frame
    effect: Effect
    events: list[HistoryEvent]
