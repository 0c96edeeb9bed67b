"""``statemachine send-success TOKEN``: complete a callback or activity task."""

from __future__ import annotations

import argparse

from statemachine.commands.client import (
    ApiClient,
    add_connection_arguments,
    add_output_arguments,
    emit,
    guarded,
    read_json_argument,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_token", metavar="TOKEN", help="the task token")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--output", metavar="JSON", help="the task result as JSON (default {})")
    source.add_argument("--output-file", metavar="F", help="read the result from F (- is stdin)")
    add_connection_arguments(parser)
    add_output_arguments(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    output = read_json_argument(args.output, args.output_file, "output")
    body = {"taskToken": args.task_token, "output": {} if output is None else output}
    with ApiClient.from_args(args) as client:
        client.json("POST", "/v1/tasks/success", json=body)
    emit(args, {"sent": "success"}, lambda _: "")
    return 0
