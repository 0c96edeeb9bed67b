"""``statemachine stop EXECUTION_ID``: abort a running execution."""

from __future__ import annotations

import argparse
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
    parser.add_argument("--error", help="error name to record")
    parser.add_argument("--cause", help="cause to record")
    add_connection_arguments(parser)
    add_output_arguments(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.error is not None:
        body["error"] = args.error
    if args.cause is not None:
        body["cause"] = args.cause
    with ApiClient.from_args(args) as client:
        execution = client.json("POST", execution_path(args.execution_id) + "/stop", json=body)
    emit(args, execution, lambda e: f"{e['status']}  {e['executionId']}")
    return 0
