"""Checking an execution against a case's ``expect`` block: one message per mismatch.

JSON equality here never confuses booleans with numbers (Python's ``True == 1``), and a
mismatch names the JSON path where it starts, so a long output does not hide it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from statemachine.validation.problem import format_path

JSON = Any


def same(a: JSON, b: JSON) -> bool:
    """JSON equality: booleans equal only booleans, 1 equals 1.0, objects ignore key order."""
    return _first_difference(a, b, (), subset=False) is None


def check(
    expect: Mapping[str, JSON],
    *,
    status: str,
    output: JSON,
    error: str | None,
    cause: str | None,
    path: list[str],
    entered: set[str],
    calls: Mapping[str, int],
    variables: Mapping[str, JSON],
    duration: float | None,
) -> list[str]:
    """Every way the execution differs from ``expect`` (empty: the case passed)."""
    return list(
        _check(expect, status, output, error, cause, path, entered, calls, variables, duration)
    )


def _check(
    expect: Mapping[str, JSON],
    status: str,
    output: JSON,
    error: str | None,
    cause: str | None,
    path: list[str],
    entered: set[str],
    calls: Mapping[str, int],
    variables: Mapping[str, JSON],
    duration: float | None,
) -> Iterator[str]:
    if expect["status"] != status:
        detail = f" ({error}: {cause})" if status != "SUCCEEDED" else ""
        yield f"status: expected {expect['status']}, got {status}{detail}"
    if "output" in expect:
        diff = _first_difference(expect["output"], output, (), subset=False)
        if diff is not None:
            yield "output" + diff + f"\n  full output: {show(output)}"
    if "output_contains" in expect:
        diff = _first_difference(expect["output_contains"], output, (), subset=True)
        if diff is not None:
            yield "output_contains" + diff + f"\n  full output: {show(output)}"
    if "error" in expect and expect["error"] != error:
        yield f"error: expected {expect['error']!r}, got {error!r}"
    if "cause" in expect and expect["cause"] != cause:
        yield f"cause: expected {expect['cause']!r}, got {cause!r}"
    if "cause_contains" in expect and expect["cause_contains"] not in (cause or ""):
        yield f"cause_contains: {expect['cause_contains']!r} is not in the cause {cause!r}"
    if "path" in expect and list(expect["path"]) != path:
        yield f"path: expected {' -> '.join(expect['path'])}\n       got      {' -> '.join(path)}"
    for name in expect.get("visited") or ():
        if name not in entered:
            yield f"visited: state {name!r} was never entered"
    for name in expect.get("not_visited") or ():
        if name in entered:
            yield f"not_visited: state {name!r} was entered"
    for name, count in (expect.get("calls") or {}).items():
        got = calls.get(name, 0)
        if got != count:
            yield f"calls: {name} was called {got} time{'s' * (got != 1)}, expected {count}"
    for name, value in (expect.get("variables") or {}).items():
        if name not in variables:
            yield f"variables: ${name} is not set (variables: {show(dict(variables))})"
            continue
        diff = _first_difference(value, variables[name], (), subset=False)
        if diff is not None:
            yield f"variables: ${name}" + diff
    if "duration" in expect and duration is not None and expect["duration"] != duration:
        yield f"duration: expected {expect['duration']:g} virtual seconds, got {duration:g}"


def show(value: JSON, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_difference(
    want: JSON, got: JSON, at: tuple[str | int, ...], *, subset: bool
) -> str | None:
    """``" at $.a[0]: expected X, got Y"`` for the first difference, else None."""

    def differs(detail: str) -> str:
        return f" at {format_path(at)}: {detail}"

    if isinstance(want, dict):
        if not isinstance(got, dict):
            return differs(f"expected an object, got {show(got, 120)}")
        for key, value in want.items():
            if key not in got:
                return differs(f"missing key {key!r}")
            diff = _first_difference(value, got[key], (*at, key), subset=subset)
            if diff is not None:
                return diff
        if not subset:
            extra = [k for k in got if k not in want]
            if extra:
                return differs(f"unexpected key{'s' * (len(extra) > 1)} {', '.join(extra)}")
        return None
    if isinstance(want, list):
        if not isinstance(got, list):
            return differs(f"expected an array, got {show(got, 120)}")
        if len(want) != len(got):
            return differs(f"expected {len(want)} items, got {len(got)}: {show(got, 200)}")
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            diff = _first_difference(w, g, (*at, i), subset=subset)
            if diff is not None:
                return diff
        return None
    if _scalar_equal(want, got):
        return None
    return differs(f"expected {show(want, 120)}, got {show(got, 120)}")


def _scalar_equal(a: JSON, b: JSON) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b
