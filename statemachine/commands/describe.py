"""``statemachine describe EXECUTION_ID``: an execution's status, result or error."""

from __future__ import annotations

import argparse

from statemachine.commands.client import (
    ApiClient,
    add_connection_arguments,
    add_output_arguments,
    emit,
    execution_path,
    execution_text,
    guarded,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("execution_id", metavar="EXECUTION_ID", help="the execution ARN")
    add_connection_arguments(parser)
    add_output_arguments(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    with ApiClient.from_args(args) as client:
        execution = client.json("GET", execution_path(args.execution_id))
    emit(args, execution, execution_text)
    return 0
