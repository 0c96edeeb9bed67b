"""``statemachine list``: executions, newest first, with filters."""

from __future__ import annotations

import argparse
from typing import Any

from statemachine.commands.client import (
    ApiClient,
    add_connection_arguments,
    add_output_arguments,
    emit,
    guarded,
)

STATUSES = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-machine", metavar="NAME", help="only this state machine")
    parser.add_argument("--status", choices=STATUSES, help="only executions in this status")
    parser.add_argument("--started-after", metavar="ISO8601", help="started at or after")
    parser.add_argument("--started-before", metavar="ISO8601", help="started before")
    parser.add_argument(
        "--limit",
        type=int,
        default=100,
        metavar="N",
        help="executions per page (default 100, at most 1000)",
    )
    parser.add_argument("--cursor", metavar="C", help="nextCursor of a previous page")
    parser.add_argument("--all", action="store_true", help="follow nextCursor to the end")
    add_connection_arguments(parser)
    add_output_arguments(parser)


def _table(page: dict[str, Any]) -> str:
    rows = [("STATUS", "STARTED", "STATE MACHINE", "NAME")]
    rows += [
        (e["status"], e["startDate"][:19], e["stateMachine"], e["name"]) for e in page["executions"]
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
        for r in rows
    ]
    if page.get("nextCursor"):
        lines.append(f"(more: --cursor {page['nextCursor']})")
    return "\n".join(lines)


@guarded
def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError

    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be between 1 and 1000")
    params: dict[str, Any] = {"limit": args.limit}
    for key, value in (
        ("stateMachine", args.state_machine),
        ("status", args.status),
        ("startedAfter", args.started_after),
        ("startedBefore", args.started_before),
        ("cursor", args.cursor),
    ):
        if value:
            params[key] = value
    executions: list[Any] = []
    with ApiClient.from_args(args) as client:
        while True:
            page = client.json("GET", "/v1/executions", params=params)
            executions.extend(page["executions"])
            if not (args.all and page.get("nextCursor")):
                break
            params["cursor"] = page["nextCursor"]
    result = {"executions": executions, "nextCursor": page.get("nextCursor")}
    emit(args, result, _table)
    return 0
