"""From text or a file to a validated, frozen :class:`~statemachine.model.StateMachine`.

``validate`` yields every problem (loader, JSON Schema, semantic rules) with file:line:col;
``load`` raises :class:`~statemachine.errors.DefinitionError` carrying all of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from statemachine.errors import DefinitionError, ExpressionError, LoadError
from statemachine.loader import Document, load_file, load_text
from statemachine.model import StateMachine
from statemachine.validation.problem import Problem

Source = str | bytes | os.PathLike[str] | Mapping[str, Any]


def read_document(source: Source, *, file: str | None = None) -> Document:
    """Accept a path, YAML/JSON text, bytes or an already-parsed mapping."""
    if isinstance(source, Mapping):
        return Document(value=dict(source), file=file, source_map={})
    if isinstance(source, os.PathLike):
        return load_file(source)
    if isinstance(source, str) and "\n" not in source and source.strip()[:1] not in "{[":
        path = Path(source)
        if path.suffix in {".yaml", ".yml", ".json"} and path.is_file():
            return load_file(path)
    return load_text(source, file)


def _locate(problem: Problem, doc: Document) -> Problem:
    if problem.line is not None and problem.file is not None:
        return problem
    where = doc.locate(problem.path) if problem.path or doc.source_map else None
    line, column = where if where else (problem.line, problem.column)
    return replace(problem, file=problem.file or doc.file, line=line, column=column)


def _iter_tasks(node: Any, path: tuple[str | int, ...]) -> Any:
    """Every Task state (nested ones included) with its path."""
    states = node.get("States") if isinstance(node, Mapping) else None
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        here = (*path, "States", name)
        if state.get("Type") == "Task":
            yield here, state
        for i, branch in enumerate(state.get("Branches") or ()):
            yield from _iter_tasks(branch, (*here, "Branches", i))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from _iter_tasks(state[key], (*here, key))


def _policy_problems(definition: Any, reported: set[Any], policy: Any) -> list[Problem]:
    """Resources the operator's policy refuses (``python:`` outside the allowed packages):
    rejected now, not only when the Task runs."""
    from statemachine.handlers.resources import check_resource_allowed

    out = []
    for path, state in _iter_tasks(definition, ()):
        resource = state.get("Resource")
        where = (*path, "Resource")
        if isinstance(resource, str) and where not in reported:
            message = check_resource_allowed(resource, policy)
            if message:
                out.append(Problem("resource-allowed", message, where))
    return out


def problems_for(doc: Document, policy: Any = None) -> list[Problem]:
    from statemachine.validation.rules import iter_rule_problems
    from statemachine.validation.schema import iter_schema_problems

    definition = doc.value
    problems = list(iter_schema_problems(definition))
    # The schema and a rule can see the same mistake (an unknown field that a rule also
    # explains); report each place once, the schema's wording first.
    seen = {p.path for p in problems}
    for problem in iter_rule_problems(definition):
        if problem.path not in seen:
            problems.append(problem)
    problems.extend(_policy_problems(definition, {p.path for p in problems}, policy))
    if not any(p.severity == "error" for p in problems):
        # The model builder is the last line of defence: anything it cannot compile is a
        # problem too, never a traceback later at run time.
        try:
            from statemachine.model.build import build

            build(definition)
        except ExpressionError as exc:
            problems.append(Problem("expression", str(exc)))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(Problem("model", f"cannot build the state machine: {exc!r}"))
    return [_locate(p, doc) for p in problems]


def validate(source: Source, *, file: str | None = None, policy: Any = None) -> list[Problem]:
    """Every problem in a definition; an empty list means it is valid. ``policy`` is a
    :class:`~statemachine.handlers.resources.ResourcePolicy` (None: from the environment,
    ``STATEMACHINE_PYTHON_ALLOW``)."""
    try:
        doc = read_document(source, file=file)
    except LoadError as exc:
        return [Problem(exc.rule, exc.message, (), exc.file or file, exc.line, exc.column)]
    return problems_for(doc, policy)


def load(source: Source, *, file: str | None = None, policy: Any = None) -> StateMachine:
    """Load, validate and compile a definition. Raises DefinitionError with every problem."""
    from statemachine.model.build import build

    try:
        doc = read_document(source, file=file)
    except LoadError as exc:
        raise DefinitionError(
            [Problem(exc.rule, exc.message, (), exc.file or file, exc.line, exc.column)]
        ) from exc
    problems = [p for p in problems_for(doc, policy) if p.severity == "error"]
    if problems:
        raise DefinitionError(problems)
    return build(doc.value)
