"""The ``statemachine`` command line.

Exit codes: 0 success, 1 the thing checked or run failed, 2 usage or definition error.
Commands import only what they need, so ``statemachine validate`` never loads FastAPI,
SQLModel or OpenAI.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from statemachine import startup

# command name -> (module, summary); each module exposes add_arguments(parser) and run(args)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("statemachine.commands.validate", "check definitions (for CI and pre-commit)"),
    "run": ("statemachine.commands.run", "run one execution and print its result"),
    "graph": ("statemachine.commands.graph", "draw a definition: mermaid, dot, json or svg"),
    "worker": ("statemachine.commands.worker", "run workflows from a database (durable worker)"),
    "test": ("statemachine.commands.test", "run workflow test cases (*.test.yaml) offline"),
    "test-state": ("statemachine.commands.test_state", "run one state and show its data flow"),
    "serve": ("statemachine.commands.serve", "serve the REST API, web page and a worker"),
    "start": ("statemachine.commands.start", "start an execution on a server (--wait)"),
    "describe": ("statemachine.commands.describe", "describe an execution on a server"),
    "list": ("statemachine.commands.list_executions", "list executions on a server"),
    "history": ("statemachine.commands.history", "show an execution's history events"),
    "stop": ("statemachine.commands.stop", "stop a running execution"),
    "redrive": ("statemachine.commands.redrive", "redrive a failed or stopped execution"),
    "send-success": ("statemachine.commands.send_success", "complete a task by its token"),
    "send-failure": ("statemachine.commands.send_failure", "fail a task by its token"),
}


#: Commands that call :func:`statemachine.startup.resume` themselves, after their imports.
FAST_START = frozenset({"worker", "serve", "run"})


class UsageError(Exception):
    """A bad command line; printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statemachine",
        description="A durable engine for Amazon States Language workflows.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, summary) in COMMANDS.items():
        sub.add_parser(name, help=summary, description=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; ``argv`` None means this process's own command line, which is
    when the start-up pauses the garbage collector (see :mod:`statemachine.startup`)."""
    if argv is None:
        startup.pause()
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        startup.resume()


def _main(argv: list[str]) -> int:
    parser = build_parser()
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        if argv and argv[0] not in {"-h", "--help"}:
            parser.print_usage(sys.stderr)
            print(f"statemachine: error: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0 if argv else 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    sub = argparse.ArgumentParser(prog=f"statemachine {name}", description=COMMANDS[name][1])
    module.add_arguments(sub)
    try:
        args = sub.parse_args(argv[1:])
    except SystemExit as exc:
        return 2 if exc.code not in (0, None) else 0
    if name not in FAST_START:
        startup.resume()
    runner: Callable[[argparse.Namespace], int] = module.run
    try:
        return runner(args)
    except UsageError as exc:
        print(f"statemachine {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
