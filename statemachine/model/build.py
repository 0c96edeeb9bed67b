"""Build the frozen model from a definition that already passed validation.

The validator reports problems; this module assumes a valid definition and compiles every
expression once. It still raises :class:`~statemachine.errors.ExpressionError` /
``ValueError`` on malformed input, so calling it on unvalidated data never yields a
half-built model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statemachine.expressions.choice import compile_choice_rule
from statemachine.expressions.intrinsics import compile_intrinsic, looks_like_intrinsic
from statemachine.expressions.jsonata_expr import (
    compile_jsonata,
    compile_jsonata_template,
    is_jsonata,
)
from statemachine.expressions.jsonpath import compile_path, compile_reference_path
from statemachine.expressions.templates import compile_template
from statemachine.model.states import (
    ABSENT,
    Catcher,
    ChoiceBranch,
    ChoiceState,
    Dyn,
    FailState,
    MapState,
    ParallelState,
    PassState,
    PathTuple,
    QueryLanguage,
    Retrier,
    Scope,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)

JSON = Any


def build(definition: Mapping[str, Any]) -> StateMachine:
    """Compile a (validated) definition dict into a :class:`StateMachine`."""
    language: QueryLanguage = definition.get("QueryLanguage", "JSONPath")
    scopes: dict[str, Scope] = {}
    root = _scope(definition, (), "", language, scopes)
    return StateMachine(
        root=root,
        query_language=language,
        comment=definition.get("Comment"),
        version=definition.get("Version"),
        timeout_seconds=definition.get("TimeoutSeconds"),
        raw=definition,
        scopes=scopes,
    )


def scope_key(path: PathTuple) -> str:
    return ".".join(str(p) for p in path)


def _scope(
    raw: Mapping[str, Any],
    path: PathTuple,
    mode: str,
    machine_language: QueryLanguage,
    scopes: dict[str, Scope],
) -> Scope:
    states: dict[str, State] = {}
    for name, body in raw["States"].items():
        states[name] = _state(name, body, (*path, "States", name), machine_language, scopes)
    key = scope_key(path)
    scope = Scope(key=key, start_at=raw["StartAt"], states=states, path=path, mode=mode or "INLINE")
    scopes[key] = scope
    return scope


def _path_field(raw: Mapping[str, Any], name: str) -> Any:
    """ABSENT when missing, None when null, else a compiled path."""
    if name not in raw:
        return ABSENT
    value = raw[name]
    if value is None:
        return None
    return compile_path(value)


def _result_path(raw: Mapping[str, Any]) -> Any:
    if "ResultPath" not in raw:
        return ABSENT
    value = raw["ResultPath"]
    return None if value is None else compile_reference_path(value)


def _template(value: JSON, field: str, jsonata: bool) -> Any:
    if jsonata:
        return compile_jsonata_template(value)
    return compile_template(value, field=field)


def _dyn(raw: Mapping[str, Any], name: str, jsonata: bool) -> Dyn | None:
    """A field with a static form ``Name`` and a JSONPath form ``NamePath``."""
    if name in raw:
        value = raw[name]
        if jsonata and is_jsonata(value):
            return Dyn("jsonata", jsonata=compile_jsonata(value), source=name)
        return Dyn("value", value=value, source=name)
    if f"{name}Path" in raw:
        text = raw[f"{name}Path"]
        if looks_like_intrinsic(text):
            return Dyn("intrinsic", path=compile_intrinsic(text), source=f"{name}Path")
        return Dyn("path", path=compile_path(text), source=f"{name}Path")
    return None


def _assign(raw: Mapping[str, Any], jsonata: bool) -> Any:
    if "Assign" not in raw:
        return None
    return _template(raw["Assign"], "Assign", jsonata)


def _retriers(raw: Mapping[str, Any], path: PathTuple) -> tuple[Retrier, ...]:
    out = []
    for i, r in enumerate(raw.get("Retry") or ()):
        out.append(
            Retrier(
                error_equals=tuple(r["ErrorEquals"]),
                interval_seconds=r.get("IntervalSeconds", 1),
                max_attempts=r.get("MaxAttempts", 3),
                backoff_rate=r.get("BackoffRate", 2.0),
                max_delay_seconds=r.get("MaxDelaySeconds"),
                jitter_strategy=r.get("JitterStrategy", "NONE"),
                path=(*path, "Retry", i),
            )
        )
    return tuple(out)


def _catchers(raw: Mapping[str, Any], path: PathTuple, jsonata: bool) -> tuple[Catcher, ...]:
    out = []
    for i, c in enumerate(raw.get("Catch") or ()):
        out.append(
            Catcher(
                error_equals=tuple(c["ErrorEquals"]),
                next=c["Next"],
                result_path=ABSENT if jsonata else _result_path(c),
                output=compile_jsonata_template(c["Output"]) if jsonata and "Output" in c else None,
                assign=_assign(c, jsonata),
                path=(*path, "Catch", i),
            )
        )
    return tuple(out)


def _result_fields(raw: Mapping[str, Any], path: PathTuple, jsonata: bool) -> dict[str, Any]:
    """ResultSelector, ResultPath, Retry and Catch: shared by Task, Parallel and Map."""
    return {
        "result_selector": (
            compile_template(raw["ResultSelector"], field="ResultSelector")
            if not jsonata and "ResultSelector" in raw
            else None
        ),
        "result_path": ABSENT if jsonata else _result_path(raw),
        "retry": _retriers(raw, path),
        "catch": _catchers(raw, path, jsonata),
    }


def _state(
    name: str,
    raw: Mapping[str, Any],
    path: PathTuple,
    machine_language: QueryLanguage,
    scopes: dict[str, Scope],
) -> State:
    language: QueryLanguage = raw.get("QueryLanguage", machine_language)
    jsonata = language == "JSONata"
    kind = raw["Type"]
    common: dict[str, Any] = {
        "name": name,
        "type": kind,
        "path": path,
        "query_language": language,
        "comment": raw.get("Comment"),
        "next": raw.get("Next"),
        "end": bool(raw.get("End", False)),
        "assign": _assign(raw, jsonata),
    }
    if jsonata:
        if "Output" in raw:
            common["output"] = compile_jsonata_template(raw["Output"])
    else:
        common["input_path"] = _path_field(raw, "InputPath")
        common["output_path"] = _path_field(raw, "OutputPath")

    if kind == "Pass":
        return PassState(
            **common,
            result=raw.get("Result", ABSENT),
            parameters=(
                compile_template(raw["Parameters"], field="Parameters")
                if not jsonata and "Parameters" in raw
                else None
            ),
            result_path=ABSENT if jsonata else _result_path(raw),
        )
    if kind == "Task":
        params_field = "Arguments" if jsonata else "Parameters"
        return TaskState(
            **common,
            resource=raw["Resource"],
            parameters=(
                _template(raw[params_field], params_field, jsonata) if params_field in raw else None
            ),
            **_result_fields(raw, path, jsonata),
            timeout_seconds=_dyn(raw, "TimeoutSeconds", jsonata),
            heartbeat_seconds=_dyn(raw, "HeartbeatSeconds", jsonata),
            credentials=raw.get("Credentials"),
        )
    if kind == "Choice":
        branches = []
        for i, rule in enumerate(raw.get("Choices", ())):
            rpath = (*path, "Choices", i)
            if jsonata:
                branches.append(
                    ChoiceBranch(
                        next=rule["Next"],
                        condition=compile_jsonata(rule["Condition"]),
                        output=(
                            compile_jsonata_template(rule["Output"]) if "Output" in rule else None
                        ),
                        assign=_assign(rule, True),
                        path=rpath,
                    )
                )
            else:
                branches.append(
                    ChoiceBranch(
                        next=rule["Next"],
                        rule=compile_choice_rule(rule, top_level=True),
                        assign=_assign(rule, False),
                        path=rpath,
                    )
                )
        return ChoiceState(**common, choices=tuple(branches), default=raw.get("Default"))
    if kind == "Wait":
        return WaitState(
            **common,
            seconds=_dyn(raw, "Seconds", jsonata),
            timestamp=_dyn(raw, "Timestamp", jsonata),
        )
    if kind == "Succeed":
        return SucceedState(**common)
    if kind == "Fail":
        return FailState(
            **common,
            error=_dyn(raw, "Error", jsonata),
            cause=_dyn(raw, "Cause", jsonata),
        )
    if kind == "Parallel":
        branches_ = tuple(
            _scope(b, (*path, "Branches", i), "", machine_language, scopes)
            for i, b in enumerate(raw["Branches"])
        )
        params_field = "Arguments" if jsonata else "Parameters"
        return ParallelState(
            **common,
            branches=branches_,
            parameters=(
                _template(raw[params_field], params_field, jsonata) if params_field in raw else None
            ),
            **_result_fields(raw, path, jsonata),
        )
    if kind == "Map":
        proc_field = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        proc_raw = raw[proc_field]
        mode = (proc_raw.get("ProcessorConfig") or {}).get("Mode", "INLINE")
        processor = _scope(proc_raw, (*path, proc_field), mode, machine_language, scopes)
        selector_field = "ItemSelector" if "ItemSelector" in raw else "Parameters"
        item_selector = None
        if selector_field in raw:
            item_selector = _template(raw[selector_field], selector_field, jsonata)
        return MapState(
            **common,
            processor=processor,
            items_path=ABSENT if jsonata else _path_field(raw, "ItemsPath"),
            items=compile_jsonata_template(raw["Items"]) if jsonata and "Items" in raw else None,
            item_selector=item_selector,
            item_reader=raw.get("ItemReader"),
            item_batcher=raw.get("ItemBatcher"),
            result_writer=raw.get("ResultWriter"),
            max_concurrency=_dyn(raw, "MaxConcurrency", jsonata),
            tolerated_failure_percentage=_dyn(raw, "ToleratedFailurePercentage", jsonata),
            tolerated_failure_count=_dyn(raw, "ToleratedFailureCount", jsonata),
            **_result_fields(raw, path, jsonata),
            label=raw.get("Label"),
        )
    raise ValueError(f"unknown state type {kind!r} at {scope_key(path)}")
