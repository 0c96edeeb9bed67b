"""A frame this worker holds, what it is told next (its inbox, stored as JSON in the frame
row) and what a committed transition tells the worker to do with it (an :class:`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statemachine.interpreter import (
    ChildrenFailed,
    Enter,
    Event,
    Frame,
    InvokeTask,
    ReadItems,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    WriteResults,
)
from statemachine.store.jsontext import loads

JSON = Any


@dataclass(slots=True)
class Held:
    """A frame this worker holds a lease on, with the last version it wrote or read."""

    id: int
    execution_id: str
    parent_id: int | None
    generation: int
    group_index: int
    version: int
    frame: Frame
    inbox: dict[str, JSON]
    group_spec: dict[str, JSON] | None = None


class LoadChildren:
    """Deliver ChildrenSucceeded with the results read from the child rows."""


class Park:
    """A callback task's handler returned: wait for the token (no transition)."""


LOAD_CHILDREN = LoadChildren()
PARK = Park()
Input = Event | LoadChildren | Park


@dataclass(slots=True)
class Outcome:
    """What the worker does after the commit: ``continue`` (advance again), ``invoke`` (run
    ``task``), ``release`` (forget the frame), ``resumed`` (a parent this worker now holds,
    to be advanced with ``event``), ``dropped`` (the execution is no longer running).

    ``version``, ``frame`` and ``inbox`` are the frame's values once the transaction has
    committed; the worker copies them into ``held`` only then, so a rolled-back batch
    leaves every held frame as it was.
    """

    kind: str
    held: Held
    task: InvokeTask | ReadItems | WriteResults | None = None
    event: Input | None = None
    version: int = 0
    frame: Frame | None = None
    inbox: dict[str, JSON] | None = None
    group_spec: dict[str, JSON] | None = None

    def apply(self) -> Held:
        held = self.held
        if self.frame is not None:
            held.version = self.version
            held.frame = self.frame
            held.inbox = self.inbox or held.inbox
            if self.group_spec is not None:
                held.group_spec = self.group_spec
        return held


def held_from_row(row: Any) -> Held:
    return Held(
        id=row.id,
        execution_id=row.execution_id,
        parent_id=row.parent_id,
        generation=row.generation,
        group_index=row.group_index,
        version=row.version,
        frame=Frame.from_json(loads(row.snapshot)),
        inbox=loads(row.inbox) if row.inbox else {"k": "enter"},
        group_spec=loads(row.group_spec) if row.group_spec else None,
    )


def inbox_event(inbox: dict[str, JSON]) -> Input | None:
    """The event a claimed frame's inbox delivers (None for ``invoke``: run the task)."""
    kind = inbox.get("k")
    if kind == "enter":
        return Enter()
    if kind == "timer":
        return TimerFired()
    if kind == "event":
        if inbox.get("ok"):
            return TaskSucceeded(inbox.get("result"))
        return TaskFailed(inbox.get("error") or "States.TaskFailed", inbox.get("cause"))
    if kind == "children":
        if inbox.get("ok"):
            return LOAD_CHILDREN
        return ChildrenFailed(inbox.get("error") or "States.TaskFailed", inbox.get("cause"))
    return None


def io_inbox(effect: ReadItems | WriteResults) -> dict[str, JSON]:
    """A Map's ItemReader/ResultWriter call, kept so that a crash repeats it (both are
    idempotent: reading the same objects, writing the same keys)."""
    if isinstance(effect, ReadItems):
        return {"k": "io", "op": "read", "reader": effect.reader, "max": effect.max_items}
    return {
        "k": "io",
        "op": "write",
        "writer": effect.writer,
        "results": effect.results,
        "arn": effect.map_run_arn,
    }


def io_effect(inbox: dict[str, JSON]) -> ReadItems | WriteResults:
    if inbox.get("op") == "read":
        return ReadItems(reader=inbox["reader"], max_items=inbox.get("max"))
    return WriteResults(writer=inbox["writer"], results=inbox["results"], map_run_arn=inbox["arn"])
