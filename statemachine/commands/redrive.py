"""``statemachine redrive EXECUTION_ID``: restart a failed, timed-out or aborted execution
from where it stopped (completed steps are not run again)."""

from __future__ import annotations

import argparse

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
    add_connection_arguments(parser)
    add_output_arguments(parser)


@guarded
def run(args: argparse.Namespace) -> int:
    with ApiClient.from_args(args) as client:
        execution = client.json("POST", execution_path(args.execution_id) + "/redrive")
    emit(
        args,
        execution,
        lambda e: f"{e['status']}  {e['executionId']}  (redrive {e['redriveCount']})",
    )
    return 0
