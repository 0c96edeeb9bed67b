"""In-memory interpreter throughput, side by side with a baseline, in one run.

    python bench/interpreter.py [--seconds 3]

(a) a 200-state Pass chain carrying ~1 KB of data; (b) a Map over 1,000 items with a Pass
inside. Baseline: moto's Step Functions interpreter (the LocalStack-derived one bundled in
moto, run in-process with ``execute_state_machine``), when moto is installed
(``pip install -e '.[bench]'``). Only ratios from the same run mean anything on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

from statemachine.clock import VirtualClock
from statemachine.model.build import build
from statemachine.runner import Runner

CHAIN = 200
ITEMS = 1000
DATA = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(20)]}


def chain_definition() -> dict[str, Any]:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(CHAIN)}
    states[f"S{CHAIN - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def map_definition() -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }


# Transitions counted as AWS would bill them: one per state entered.
CHAIN_TRANSITIONS = CHAIN
MAP_TRANSITIONS = 1 + ITEMS


def measure(fn: Callable[[], None], transitions: int, seconds: float) -> float:
    fn()  # warm up
    runs = 0
    start = time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return runs * transitions / elapsed


def ours(definition: dict[str, Any], data: Any, history: bool) -> Callable[[], None]:
    machine = build(definition)
    runner = Runner(
        machine, dispatcher=lambda *a: None, clock=VirtualClock(), record_history=history
    )

    def go() -> None:
        result = runner.run(data)
        assert result.status == "SUCCEEDED", result

    return go


def moto_baseline(
    definition: dict[str, Any], data: Any, transitions: int, seconds: float
) -> float | None:
    """Transitions/s of moto's interpreter, timing only start_execution -> finished.

    moto cannot run a second execution of the same state machine (it fails deep-copying
    a lock), so each run gets a fresh state machine, created outside the timed part.
    """
    try:
        import boto3
        from moto import mock_aws
    except ImportError:
        return None
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        timed = 0.0
        runs = 0
        while timed < seconds or runs < 1:
            arn = client.create_state_machine(
                name=f"bench{runs}",
                definition=json.dumps(definition),
                roleArn="arn:aws:iam::123456789012:role/bench",
            )["stateMachineArn"]
            start = time.perf_counter()
            ex = client.start_execution(stateMachineArn=arn, input=json.dumps(data))
            while client.describe_execution(executionArn=ex["executionArn"])["status"] == (
                "RUNNING"
            ):
                time.sleep(0.0005)
            timed += time.perf_counter() - start
            runs += 1
        return runs * transitions / timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    items = list(range(ITEMS))
    cases = [
        ("(a) 200-state Pass chain, 1 KB", chain_definition(), DATA, CHAIN_TRANSITIONS),
        ("(b) Map over 1,000 items, Pass inside", map_definition(), items, MAP_TRANSITIONS),
    ]
    print(f"{'workload':40} {'engine':34} {'transitions/s':>14}")
    for label, definition, data, transitions in cases:
        rows = [
            ("statemachine (history on)", ours(definition, data, True)),
            ("statemachine (history off)", ours(definition, data, False)),
        ]
        figures = []
        for name, fn in rows:
            rate = measure(fn, transitions, args.seconds)
            figures.append(rate)
            print(f"{label:40} {name:34} {rate:14,.0f}")
        if not args.no_baseline:
            rate = moto_baseline(definition, data, transitions, args.seconds)
            if rate is not None:
                figures.append(rate)
                print(f"{label:40} {'moto/LocalStack interpreter':34} {rate:14,.0f}")
        if len(figures) == 3:
            print(f"{'':40} {'ratio (history on / baseline)':34} {figures[0] / figures[2]:13,.1f}x")


if __name__ == "__main__":
    main()
