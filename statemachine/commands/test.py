"""``statemachine test [PATH...]``: run the ``*.test.yaml`` cases of workflows, offline.

Exit codes: 0 every case passed, 1 a case failed or could not run, 2 usage errors (no
test files found, a path that does not exist).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from statemachine.commands._output import add_query_argument, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="test files, or folders searched recursively for *.test.yaml (default: .)",
    )
    parser.add_argument(
        "--format",
        choices=["text", "github", "json"],
        default="text",
        help="text (pytest-like), github (Actions annotations + summary) or json",
    )
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    parser.add_argument(
        "--strict-mocks",
        action="store_true",
        help="fail a case when a Task has no mock, instead of calling the real tool",
    )
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="PY_FILE_OR_MODULE",
        help="import tool handlers for unmocked Tasks from a .py file or module (repeatable)",
    )
    parser.add_argument(
        "-k", dest="keyword", metavar="TEXT", help="only cases whose FILE::NAME contains TEXT"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    add_query_argument(parser)


def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError
    from statemachine.handlers.registry import load_handlers
    from statemachine.testing import reporters
    from statemachine.testing.cases import discover
    from statemachine.testing.execute import run_paths

    files, missing = discover(args.paths)
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(missing))
    if not files:
        raise UsageError("no test files found (looked for *.test.yaml, *.test.yml, *.test.json)")
    for spec in args.handlers:
        try:
            load_handlers(spec)
        except Exception as exc:
            raise UsageError(f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}") from exc
    report = run_paths(files, strict_mocks=args.strict_mocks, keyword=args.keyword)
    if args.format == "json" or args.query:
        print_json(reporters.to_json(report), args.query)
    elif args.format == "github":
        reporters.write_github(report, sys.stdout)
    else:
        reporters.write_text(report, sys.stdout, verbose=args.verbose)
    if args.junit:
        try:
            Path(args.junit).parent.mkdir(parents=True, exist_ok=True)
            Path(args.junit).write_bytes(reporters.junit_xml(report))
        except OSError as exc:
            raise UsageError(f"cannot write the JUnit report: {exc}") from exc
    return 0 if report.ok else 1
