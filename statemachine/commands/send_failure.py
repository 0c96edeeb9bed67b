"""``statemachine send-failure TOKEN``: fail a callback or activity task with an error
name (which the state's Retry and Catch match) and a cause."""

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_token", metavar="TOKEN", help="the task token")
    parser.add_argument("--error", help="error name (default States.TaskFailed)")
    parser.add_argument("--cause", help="a human-readable cause")
    add_connection_arguments(parser)
    add_output_arguments(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"taskToken": args.task_token}
    if args.error is not None:
        body["error"] = args.error
    if args.cause is not None:
        body["cause"] = args.cause
    with ApiClient.from_args(args) as client:
        client.json("POST", "/v1/tasks/failure", json=body)
    emit(args, {"sent": "failure"}, lambda _: "")
    return 0
