"""``statemachine run FILE``: run one execution and print its output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from statemachine.commands._output import add_query_argument, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the definition (.asl.yaml / .asl.json)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="execution input as JSON text")
    source.add_argument("--input-file", metavar="F", help="read the execution input from F")
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="PY_FILE_OR_MODULE",
        help="import tool handlers from a .py file or module (repeatable)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one object {"status", "output", "error", "cause"}',
    )
    parser.add_argument(
        "--time-skip",
        action="store_true",
        help="run on a virtual clock that jumps to the next timer instead of sleeping",
    )
    parser.add_argument("--name", help="the execution name")
    parser.add_argument(
        "--payload-limit",
        type=int,
        default=262_144,
        metavar="BYTES",
        help="maximum size of a state's input/output (default 262144, AWS's 256 KiB)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="run durably on this database (sqlite:///file.db, postgresql://...): started "
        "again with the same --name after a crash, it resumes that execution",
    )
    parser.add_argument(
        "--state-machine",
        metavar="NAME",
        help="with --db: the state machine name to register FILE under (default: file stem)",
    )
    add_query_argument(parser)


def read_input(args: argparse.Namespace) -> Any:
    from statemachine.cli import UsageError

    text = None
    where = "--input"
    if args.input is not None:
        text = args.input
    elif args.input_file is not None:
        where = args.input_file
        try:
            text = sys.stdin.read() if args.input_file == "-" else Path(args.input_file).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read input file: {exc}") from exc
    if text is None or not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def run(args: argparse.Namespace) -> int:
    from statemachine import startup
    from statemachine.cli import UsageError
    from statemachine.clock import SystemClock, VirtualClock
    from statemachine.definition import load
    from statemachine.errors import DefinitionError
    from statemachine.handlers.registry import load_handlers
    from statemachine.runner import Runner

    execution_input = read_input(args)
    if not Path(args.file).is_file():
        raise UsageError(f"no such file: {args.file}")
    try:
        machine = load(Path(args.file))
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    for spec in args.handlers:
        try:
            load_handlers(spec)
        except Exception as exc:
            raise UsageError(f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}") from exc
    if args.db:
        if args.time_skip:
            raise UsageError("--time-skip runs in memory only; it cannot be used with --db")
        return run_durable(args, machine, execution_input)
    clock = VirtualClock() if args.time_skip else SystemClock()
    if args.time_skip:
        clock = VirtualClock(SystemClock().now())
    from statemachine.handlers.dispatch import default_dispatcher

    runner = Runner(
        machine,
        dispatcher=default_dispatcher(),
        clock=clock,
        payload_limit=args.payload_limit or None,
    )
    startup.resume()
    result = runner.run(execution_input, name=args.name)
    if args.json or args.query:
        print_json(result.to_json(), args.query)
    elif result.status == "SUCCEEDED":
        print(json.dumps(result.output, indent=2, ensure_ascii=False))
    else:
        print(f"{result.status}: {result.error}: {result.cause}", file=sys.stderr)
    return 0 if result.status == "SUCCEEDED" else 1


def run_durable(args: argparse.Namespace, machine: Any, execution_input: Any) -> int:
    """Register FILE, start (or find) execution ``--name`` and drive it with an embedded
    worker until it ends. A crash leaves it in the database; the same command resumes it."""
    import signal
    import threading
    import uuid

    from statemachine import startup
    from statemachine.cli import UsageError
    from statemachine.errors import ExecutionAlreadyExists
    from statemachine.service import Service

    stem = Path(args.file).name.split(".")[0]
    sm_name = args.state_machine or stem
    name = args.name or str(uuid.uuid4())
    try:
        service = Service(args.db, payload_limit=args.payload_limit or None)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    service.register_state_machine(sm_name, machine)
    from statemachine.engine.context import execution_arn

    try:
        execution = service.start_execution(sm_name, execution_input, name=name)
    except ExecutionAlreadyExists as exc:
        execution = service.describe_execution(execution_arn(sm_name, name))
        if execution.status == "RUNNING":  # same name, different input
            raise UsageError(str(exc)) from exc
    startup.resume()
    if execution.status == "RUNNING":
        worker = service.worker(worker_id=f"run-{sm_name}-{name}", poll_interval=0.05)
        interrupted = threading.Event()

        def on_signal(*_: Any) -> None:
            interrupted.set()
            worker.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        thread = worker.start_thread()
        while not interrupted.is_set():
            execution = service.wait(execution.execution_id, timeout=0.5)
            if execution.status != "RUNNING":
                break
        worker.stop()
        thread.join(worker.grace_seconds + 5)
        if interrupted.is_set() and execution.status == "RUNNING":
            print(
                f"interrupted; resume with the same command ({execution.execution_id})",
                file=sys.stderr,
            )
            return 130
    result = {
        "status": execution.status,
        "output": execution.output,
        "error": execution.error,
        "cause": execution.cause,
    }
    if args.json or args.query:
        print_json(result, args.query)
    elif execution.status == "SUCCEEDED":
        print(json.dumps(execution.output, indent=2, ensure_ascii=False))
    else:
        print(f"{execution.status}: {execution.error}: {execution.cause}", file=sys.stderr)
    return 0 if execution.status == "SUCCEEDED" else 1
