"""The Wait state: exactly one of Seconds/SecondsPath/Timestamp/TimestampPath (or their
JSONata forms). AWS reads seconds as a Java long (a non-negative integer) and timestamps
as RFC 3339 with an uppercase T and a Z or numeric offset; other values fail the state
with States.Runtime (States.QueryEvaluationError for JSONata) and AWS's cause texts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from statemachine.errors import StatesError
from statemachine.expressions.timestamps import format_timestamp, parse_timestamp
from statemachine.interpreter.dataflow import dumps, runtime_error
from statemachine.interpreter.frame import Sleep, Step
from statemachine.model.states import Dyn, WaitState

if TYPE_CHECKING:
    from statemachine.interpreter.core import _Transition

JSON = Any


def run_wait(t: _Transition, state: WaitState) -> Step:
    """Wait: compute the wake-up time now (absolute, stored in the snapshot), park the
    frame; the driver sends TimerFired and the state exits with the output computed here."""
    ctx = t.ectx()
    raw = t.frame.input
    effective = raw if state.is_jsonata else t.effective_input(ctx)
    if state.seconds is not None:
        seconds = t.dyn(state.seconds, effective, ctx)
        until = t.env.now + timedelta(seconds=_wait_seconds(t, state.seconds, seconds))
    else:
        assert state.timestamp is not None
        text = t.dyn(state.timestamp, effective, ctx)
        parsed = parse_timestamp(text) if isinstance(text, str) else None
        if parsed is None:
            raise _wait_error(
                t,
                state.timestamp,
                text,
                "does not reference a valid ISO-8601 extended offset date-time format string",
            )
        until = parsed
    assigned = t.assign(state.assign, effective, ctx)
    if state.is_jsonata:
        output = t.jsonata_output(state.output, raw, ctx)
    else:
        output = t.output_path(effective, ctx)
    t.frame.phase = "timer"
    t.frame.pending = {
        "until": format_timestamp(until),
        "output": output,
        "assigned": assigned,
    }
    return t.step(Sleep(until=until, reason="wait"))


def _wait_seconds(t: _Transition, dyn: Dyn, value: JSON) -> int:
    """AWS reads Wait seconds as a Java long: a non-negative integer."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wait_error(t, dyn, value, "cannot be parsed as a long value")
    if value < 0:
        raise _wait_error(t, dyn, value, "references a negative value")
    return value


def _wait_error(t: _Transition, dyn: Dyn, value: JSON, problem: str) -> StatesError:
    if dyn.kind == "jsonata":
        return StatesError(
            "States.QueryEvaluationError",
            f"The {dyn.source} field of state '{t.state.name}' {problem}: {value!r}",
        )
    if dyn.kind == "path":
        shown = value if isinstance(value, str) else dumps(value)
        detail = f"The {dyn.source} parameter {problem}: {dyn.path.text} == {shown}"
    else:
        detail = f"The {dyn.source} value {problem}: {value!r}"
    return runtime_error(t.state.name, t.frame.entered_event_id, detail)
