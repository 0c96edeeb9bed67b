"""Rules about the shape of the state graph: scopes, transitions, names and terminals.

Each function here is one entry of :data:`statemachine.validation.rules.RULES`. A rule
yields :func:`issue` problems; the table fills in the rule id. Rules skip anything whose
shape is wrong: the JSON Schema pass has already reported it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from statemachine.validation.problem import Problem
from statemachine.validation.rules_context import (
    Path,
    RuleContext,
    ScopeInfo,
    StateInfo,
    issue,
    where,
)

# Types that move on with Next or stop with End (the spec's "non-terminal" states).
FLOW_TYPES = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
# Types that may not carry Next or End at all.
NO_TRANSITION_TYPES = frozenset({"Choice", "Succeed", "Fail"})
# Only these states retry and catch (ASL spec; AWS rejects Retry/Catch elsewhere).
RETRY_CATCH_TYPES = frozenset({"Task", "Parallel", "Map"})

# The spec reserves the ``States.`` prefix; these are the names it (and AWS) defines.
PREDEFINED_ERRORS = frozenset(
    {
        "States.ALL",
        "States.HeartbeatTimeout",
        "States.Timeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.QueryEvaluationError",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.DataLimitExceeded",
    }
)
# AWS service-integration errors under the reserved prefix (HTTP Task: States.Http.Socket).
PREDEFINED_ERROR_PREFIXES = ("States.Http.",)


# --------------------------------------------------------------------------- helpers


def transitions(state: StateInfo) -> Iterator[tuple[str, Path, str]]:
    """Every ``(target, path, field)`` a state can move to: Next, Choices, Default, Catch."""
    body = state.body
    if state.type == "Choice":
        choices = body.get("Choices")
        if isinstance(choices, list):
            for i, rule in enumerate(choices):
                if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
                    yield rule["Next"], state.at("Choices", i, "Next"), "Choice rule Next"
        if isinstance(body.get("Default"), str):
            yield body["Default"], state.at("Default"), "Default"
    elif isinstance(body.get("Next"), str):
        yield body["Next"], state.at("Next"), "Next"
    catchers = body.get("Catch")
    if isinstance(catchers, list):
        for i, catcher in enumerate(catchers):
            if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
                yield catcher["Next"], state.at("Catch", i, "Next"), "Catch Next"


def is_terminal(state: StateInfo) -> bool:
    kind = state.type
    return kind in ("Succeed", "Fail") or (kind != "Choice" and state.body.get("End") is True)


def reachable(scope: ScopeInfo) -> set[str]:
    """Names reachable from the scope's StartAt (empty when StartAt does not resolve)."""
    start = scope.start_at
    if start is None or start not in scope.states:
        return set()
    seen = {start}
    todo = [start]
    while todo:
        for target, _, _ in transitions(scope.states[todo.pop()]):
            if target in scope.states and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _elsewhere(ctx: RuleContext, scope: ScopeInfo, name: str) -> ScopeInfo | None:
    for other in ctx.states_named(name):
        if other.scope is not scope:
            return other.scope
    return None


def _unresolved(ctx: RuleContext, scope: ScopeInfo, name: str, what: str) -> str:
    other = _elsewhere(ctx, scope, name)
    if other is None:
        return f"{what} {name!r} does not name a state in {scope.describe()}"
    return (
        f"{what} {name!r} is a state of {other.describe()}, not of {scope.describe()}; "
        "a transition cannot jump into or out of a Parallel branch or Map processor"
    )


# --------------------------------------------------------------------------- rules


def start_at_exists(ctx: RuleContext) -> Iterator[Problem]:
    """StartAt names a state of the same scope (machine, branch or Map processor)."""
    for scope in ctx.scopes:
        start = scope.start_at
        if start is None or not scope.has_states_object or start in scope.states:
            continue
        yield issue(_unresolved(ctx, scope, start, "StartAt"), (*scope.path, "StartAt"))


def transition_target(ctx: RuleContext) -> Iterator[Problem]:
    """Next, Default, Choice rule Next and Catch Next resolve inside their own scope."""
    for state in ctx.states:
        for target, path, what in transitions(state):
            if target not in state.scope.states:
                yield issue(_unresolved(ctx, state.scope, target, what), path)


def unreachable_state(ctx: RuleContext) -> Iterator[Problem]:
    """Every state can be reached from its scope's StartAt."""
    for scope in ctx.scopes:
        start = scope.start_at
        if start is None or start not in scope.states:
            continue  # start-at-exists already says why nothing is reachable
        seen = reachable(scope)
        for name, state in scope.states.items():
            if name not in seen:
                yield issue(
                    f"state {name!r} cannot be reached from StartAt {start!r} "
                    f"in {scope.describe()}",
                    state.path,
                )


def terminal_reachable(ctx: RuleContext) -> Iterator[Problem]:
    """From every reachable state a terminal (Succeed, Fail, End: true) can be reached.

    A state with no usable transition at all (no Next, a Next that does not resolve, an
    unknown type) is a dead end that other rules report; it counts as an exit here, so
    that this rule only names real loops.
    """
    for scope in ctx.scopes:
        if not scope.states:
            continue
        outgoing = {
            name: [t for t, _, _ in transitions(state) if t in scope.states]
            for name, state in scope.states.items()
        }
        exits = [
            name
            for name, state in scope.states.items()
            if is_terminal(state) or not outgoing[name] or state.type is None
        ]
        if not exits:
            yield issue(
                f"{scope.describe()} has no terminal state (Succeed, Fail or End: true)",
                (*scope.path, "States"),
            )
            continue
        incoming: dict[str, set[str]] = {name: set() for name in scope.states}
        for name, targets in outgoing.items():
            for target in targets:
                incoming[target].add(name)
        can_finish = set(exits)
        todo = list(exits)
        while todo:
            for source in incoming[todo.pop()]:
                if source not in can_finish:
                    can_finish.add(source)
                    todo.append(source)
        start_ok = scope.start_at in scope.states
        candidates = reachable(scope) if start_ok else set(scope.states)
        stuck = [name for name in scope.states if name in candidates and name not in can_finish]
        if stuck:
            names = ", ".join(repr(name) for name in stuck)
            yield issue(
                f"no terminal state (Succeed, Fail or End: true) can be reached from "
                f"{names} in {scope.describe()}: the execution would loop forever",
                scope.states[stuck[0]].path,
            )


def state_name_unique(ctx: RuleContext) -> Iterator[Problem]:
    """State names are unique across the whole machine, nested scopes included."""
    first: dict[str, StateInfo] = {}
    for state in ctx.states:
        if state.name in first:
            yield issue(
                f"state name {state.name!r} is already used at {where(first[state.name].path)}; "
                "names must be unique across the whole state machine",
                state.path,
            )
        else:
            first[state.name] = state


def state_name_chars(ctx: RuleContext) -> Iterator[Problem]:
    """State names contain no control characters (the 1-80 length is a schema check)."""
    for state in ctx.states:
        if any(unicodedata.category(ch) == "Cc" for ch in state.name):
            yield issue(f"state name {state.name!r} contains a control character", state.path)


def next_or_end(ctx: RuleContext) -> Iterator[Problem]:
    """Task, Pass, Wait, Parallel and Map have exactly one of Next and End: true."""
    for state in ctx.states:
        if state.type not in FLOW_TYPES:
            continue
        body = state.body
        if "Next" in body and "End" in body:
            yield issue(f"{state.type} state has both Next and End; keep one", state.at("End"))
        elif "Next" not in body and body.get("End") is not True:
            yield issue(
                f"{state.type} state needs either Next or End: true",
                state.at("End") if "End" in body else state.path,
            )


def no_next_end(ctx: RuleContext) -> Iterator[Problem]:
    """Choice, Succeed and Fail states have no Next and no End."""
    for state in ctx.states:
        if state.type not in NO_TRANSITION_TYPES:
            continue
        for field in ("Next", "End"):
            if field in state.body:
                hint = " (use Choices and Default)" if state.type == "Choice" else ""
                yield issue(f"a {state.type} state cannot have {field}{hint}", state.at(field))


def choice_nested_next(ctx: RuleContext) -> Iterator[Problem]:
    """Rules nested in And/Or/Not have no Next (only top-level rules transition)."""
    for state in ctx.states:
        choices = state.body.get("Choices") if state.type == "Choice" else None
        if isinstance(choices, list):
            for i, rule in enumerate(choices):
                if isinstance(rule, Mapping):
                    yield from _nested_next(rule, state.at("Choices", i))


def _nested_next(rule: Mapping[str, Any], path: Path) -> Iterator[Problem]:
    for op in ("And", "Or"):
        children = rule.get(op)
        if isinstance(children, list):
            for j, child in enumerate(children):
                if isinstance(child, Mapping):
                    yield from _nested_rule(child, (*path, op, j))
    child = rule.get("Not")
    if isinstance(child, Mapping):
        yield from _nested_rule(child, (*path, "Not"))


def _nested_rule(rule: Mapping[str, Any], path: Path) -> Iterator[Problem]:
    for field in ("Next", "End"):
        if field in rule:
            yield issue(f"a Choice rule nested in And/Or/Not cannot have {field}", (*path, field))
    yield from _nested_next(rule, path)


def retry_catch_placement(ctx: RuleContext) -> Iterator[Problem]:
    """Retry and Catch exist only on Task, Parallel and Map states."""
    for state in ctx.states:
        if state.type is None or state.type in RETRY_CATCH_TYPES:
            continue
        for field in ("Retry", "Catch"):
            if field in state.body:
                yield issue(
                    f"{field} is only allowed on Task, Parallel and Map states, "
                    f"not on a {state.type} state",
                    state.at(field),
                )


def _error_lists(state: StateInfo) -> Iterator[tuple[str, int, list[Any], Path]]:
    for field in ("Retry", "Catch"):
        entries = state.body.get(field)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if isinstance(entry, Mapping) and isinstance(entry.get("ErrorEquals"), list):
                yield field, i, entry["ErrorEquals"], state.at(field, i, "ErrorEquals")


def states_all_last(ctx: RuleContext) -> Iterator[Problem]:
    """States.ALL stands alone in its ErrorEquals and only in the last retrier/catcher."""
    for state in ctx.states:
        for field, i, names, path in _error_lists(state):
            if "States.ALL" not in names:
                continue
            count = len(state.body[field])
            if len(names) > 1:
                yield issue("States.ALL must appear alone in its ErrorEquals", path)
            if i != count - 1:
                kind = "retrier" if field == "Retry" else "catcher"
                yield issue(f"States.ALL may only appear in the last {kind}", path)


def error_name_reserved(ctx: RuleContext) -> Iterator[Problem]:
    """Error names starting with ``States.`` must be predefined ones (the prefix is reserved)."""
    for state in ctx.states:
        for _, _, names, path in _error_lists(state):
            for j, name in enumerate(names):
                if (
                    isinstance(name, str)
                    and name.startswith("States.")
                    and name not in PREDEFINED_ERRORS
                    and not name.startswith(PREDEFINED_ERROR_PREFIXES)
                ):
                    yield issue(
                        f"{name!r} is not a predefined error; the States. prefix is reserved",
                        (*path, j),
                    )
