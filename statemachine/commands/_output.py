"""JSON output shared by commands: ``--query EXPR`` applies JMESPath as the AWS CLI does."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_query_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--query",
        metavar="EXPR",
        help="a JMESPath expression applied to the JSON output (as in the AWS CLI)",
    )


def print_json(value: Any, query: str | None = None, *, stream: Any = None) -> None:
    if query:
        import jmespath
        from jmespath.exceptions import JMESPathError

        from statemachine.cli import UsageError

        try:
            value = jmespath.search(query, value)
        except JMESPathError as exc:
            raise UsageError(f"invalid --query expression: {exc}") from exc
    out = stream or sys.stdout
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
