"""``statemachine history EXECUTION_ID``: an execution's history events."""

from __future__ import annotations

import argparse
import json
from typing import Any

from statemachine.commands.client import (
    ApiClient,
    add_connection_arguments,
    add_output_arguments,
    emit,
    execution_path,
    guarded,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("execution_id", metavar="EXECUTION_ID", help="the execution ARN")
    parser.add_argument("--reverse", action="store_true", help="newest first")
    parser.add_argument("--max-items", type=int, metavar="N", help="at most N events")
    add_connection_arguments(parser)
    add_output_arguments(parser)


def _text(page: dict[str, Any]) -> str:
    lines = []
    for event in page["events"]:
        details = event.get("details") or {}
        extra = ""
        if "name" in details:
            extra = str(details["name"])
        elif details.get("error"):
            extra = f"{details['error']}: {details.get('cause')}"
        elif "output" in details and event["type"].startswith("Execution"):
            extra = json.dumps(details["output"], ensure_ascii=False)[:80]
        lines.append(f"{event['id']:>5}  {event['timestamp'][:23]}  {event['type']:<28} {extra}")
    return "\n".join(lines)


@guarded
def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError

    if args.max_items is not None and args.max_items < 1:
        raise UsageError("--max-items must be at least 1")
    path = execution_path(args.execution_id) + "/history"
    events: list[Any] = []
    params: dict[str, Any] = {"limit": 1000, "reverse": str(args.reverse).lower()}
    with ApiClient.from_args(args) as client:
        while True:
            page = client.json("GET", path, params=params)
            events.extend(page["events"])
            if not page.get("nextCursor") or (
                args.max_items is not None and len(events) >= args.max_items
            ):
                break
            params["cursor"] = page["nextCursor"]
    if args.max_items is not None:
        events = events[: args.max_items]
    emit(args, {"events": events}, _text)
    return 0
