"""JSONPath-mode input and output processing, and the payload size limit.

Order (ASL "Input and Output Processing"): InputPath -> Parameters -> (task) ->
ResultSelector -> ResultPath -> OutputPath. ResultPath merges into the *raw* state input.
A field written as ``null`` differs from an absent one: ``InputPath: null`` and
``OutputPath: null`` give ``{}``, ``ResultPath: null`` discards the result.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from statemachine.errors import StatesError
from statemachine.expressions.context import EvalContext
from statemachine.expressions.jsonpath import PathNotFound, set_path
from statemachine.model.states import ABSENT

JSON = Any


def runtime_error(state_name: str, event_id: int, detail: str) -> StatesError:
    """AWS wraps data-flow failures as States.Runtime with this cause prefix."""
    return StatesError(
        "States.Runtime",
        f"An error occurred while executing the state '{state_name}' "
        f"(entered at the event id #{event_id}). {detail}",
    )


def select(path: Any, data: JSON, ctx: EvalContext, *, state: str, event_id: int) -> JSON:
    """Apply an InputPath/OutputPath: ABSENT -> data, None -> {}, else the selection."""
    if path is ABSENT:
        return data
    if path is None:
        return {}
    try:
        return path.find(data, ctx)
    except PathNotFound:
        raise runtime_error(
            state, event_id, f"Invalid path '{path.text}' : No results for path: {path.normalized}"
        ) from None


def apply_result_path(path: Any, raw_input: JSON, result: JSON) -> JSON:
    """ResultPath: ABSENT/"$" -> the result, None -> the raw input, else merged copy."""
    if path is ABSENT:
        return result
    if path is None:
        return raw_input
    return set_path(raw_input, path, result)


def dumps(value: JSON) -> str:
    """Compact JSON as AWS prints it (no spaces)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def payload_size(value: JSON) -> int:
    try:
        return len(orjson.dumps(value))
    except TypeError:
        return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_size(value: JSON, limit: int | None, what: str, state: str) -> None:
    """Raise States.DataLimitExceeded when a payload passes the configured limit."""
    if limit is None:
        return
    if isinstance(value, (int, float, bool)) or value is None:
        return
    if isinstance(value, str) and len(value) * 4 < limit:
        return
    size = payload_size(value)
    if size > limit:
        raise StatesError(
            "States.DataLimitExceeded",
            f"The state/task '{state}' returned a result with a size exceeding the maximum "
            f"number of bytes service limit. ({what}: {size} bytes > {limit} bytes)",
        )
