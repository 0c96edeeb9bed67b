"""``statemachine test-state FILE STATE``: run one state and show its data flow.

Like AWS's TestState API: the state runs once on the given input, with a mocked result
(``--mock``), a mocked failure (``--error``) or the real registered tool, and every stage
is printed: after InputPath, after Parameters, the result, after ResultSelector, after
ResultPath, after OutputPath, and the next state (for JSONata: Arguments, result,
Output, Assign). Exit code 0 when the state succeeded or a Catch handled the error (or
a Retry would run it again), 1 when the error leaves the state, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from statemachine.commands._output import add_query_argument, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the definition (.asl.yaml / .asl.json)")
    parser.add_argument("state", metavar="STATE", help="the state to run (at any depth)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="the state's input as JSON text")
    source.add_argument("--input-file", metavar="F", help="read the input from F (- = stdin)")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument(
        "--mock",
        metavar="RESULT",
        help="the task result as JSON (Map/Parallel: the array of results; callback: the answer)",
    )
    answer.add_argument("--error", metavar="NAME", help="fail the task with this error name")
    parser.add_argument("--cause", metavar="TEXT", help="the cause that goes with --error")
    parser.add_argument(
        "--variables", metavar="JSON", help="workflow variables visible to the state (an object)"
    )
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="PY_FILE_OR_MODULE",
        help="import tool handlers for the real call (without --mock/--error)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (TestState's shape)"
    )
    add_query_argument(parser)


def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError
    from statemachine.clock import SystemClock
    from statemachine.commands.run import read_input
    from statemachine.definition import load
    from statemachine.errors import DefinitionError
    from statemachine.testing.state_test import Answer, StateTestError, run_state

    state_input = read_input(args)
    if args.cause is not None and args.error is None:
        raise UsageError("--cause needs --error")
    answer = None
    if args.mock is not None:
        answer = Answer(_json_arg("--mock", args.mock))
    elif args.error is not None:
        answer = Answer(error=args.error, cause=args.cause)
    variables = _json_arg("--variables", args.variables) if args.variables else {}
    if not isinstance(variables, dict):
        raise UsageError("--variables must be a JSON object")
    if not Path(args.file).is_file():
        raise UsageError(f"no such file: {args.file}")
    try:
        machine = load(Path(args.file))
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    _load_handlers(args.handlers)
    try:
        result = run_state(
            machine,
            args.state,
            state_input,
            answer=answer,
            variables=variables,
            real_call=_real_call,
            now=SystemClock().now(),
        )
    except StateTestError as exc:
        raise UsageError(str(exc)) from exc
    if args.json or args.query:
        print_json(result.to_json(), args.query)
    else:
        sys.stdout.write(format_run(result))
    return 1 if result.status == "FAILED" else 0


def format_run(run: Any) -> str:
    """The stages as a person reads them: a heading per stage, the value below it."""
    lines = [f"{run.state} ({run.type}, {run.query_language})", ""]
    for stage in run.stages:
        title = _TITLES.get(stage.name, stage.name)
        source = f"  [{stage.source}]" if stage.source else ""
        lines.append(f"{title}{source}")
        lines.extend("  " + line for line in _pretty(stage.value).splitlines())
    if run.failed_at:
        lines.append(f"error raised by {run.failed_at}")
    if run.assigned:
        lines.append("variables assigned")
        lines.extend("  " + line for line in _pretty(run.assigned).splitlines())
    if run.wait_until:
        lines.append(f"waits until {run.wait_until}")
    lines.append("")
    lines.append(f"status: {run.status}")
    if run.error is not None:
        cause = f": {run.cause}" if run.cause else ""
        lines.append(f"error: {run.error}{cause}")
    if run.retry_delay is not None:
        lines.append(f"retry: the next attempt starts after {run.retry_delay:g} s")
    if run.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        lines.append(f"next state: {run.next_state or '(end)'}")
    lines.extend(f"note: {note}" for note in run.notes)
    return "\n".join(lines) + "\n"


_TITLES = {
    "input": "input",
    "afterInputPath": "after InputPath",
    "afterParameters": "after Parameters",
    "afterArguments": "after Arguments",
    "iterationInputs": "iteration inputs",
    "branchInput": "branch input",
    "result": "result",
    "afterResultSelector": "after ResultSelector",
    "afterResultPath": "after ResultPath",
    "output": "output",
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _json_arg(name: str, text: str) -> Any:
    from statemachine.cli import UsageError

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{name} is not valid JSON: {exc.msg} at column {exc.colno}") from exc


def _load_handlers(specs: list[str]) -> None:
    from statemachine.cli import UsageError
    from statemachine.handlers.registry import load_handlers

    for spec in specs:
        try:
            load_handlers(spec)
        except Exception as exc:
            raise UsageError(f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}") from exc


def _real_call(resource: str, payload: Any, state: str, context: dict[str, Any]) -> Any:
    from statemachine.handlers.registry import TaskContext, default_registry

    execution = context.get("Execution", {}).get("Id", "test-state")
    ctx = TaskContext(
        execution_id=execution,
        state_name=state,
        resource=resource,
        idempotency_key=f"{execution}/test-state/{state}",
    )
    return default_registry.call(resource, payload, ctx)
