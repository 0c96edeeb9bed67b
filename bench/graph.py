"""Graph layout time for large definitions.

    python bench/graph.py [--repeat 3]

Builds synthetic workflows of 200 and 1,000 states shaped like real ones: Task stages
with Retry and a Catch into one shared error handler, Choice fans that rejoin, polling
loops (Wait -> Check -> Choice back to Wait), Parallel branches and Map processors with
states of their own. Prints the best of ``--repeat`` runs of the layout alone, of
:func:`graph_of` with the layout, and of the SVG rendering. Exits 1 if 200 states take a
second or more to lay out (the budget from issue 7); timing lives here rather than in
the test suite, where a busy CI machine would make it flaky.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from statemachine.graph import graph_of, to_svg
from statemachine.graph.layout import compute_layout
from statemachine.model.build import build

BUDGET_SECONDS = 1.0


def _task(name: str, next_state: str, handler: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"tool:{name.lower()}",
        "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": handler}],
        "Next": next_state,
    }


def _chain(prefix: str, length: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        name = f"{prefix}{i}"
        body: dict[str, Any] = {"Type": "Pass"}
        if i + 1 < length:
            body["Next"] = f"{prefix}{i + 1}"
        else:
            body["End"] = True
        states[name] = body
    return {"StartAt": f"{prefix}0", "States": states}


def definition(target: int) -> dict[str, Any]:
    """A machine with about ``target`` states (nested ones included)."""
    states: dict[str, Any] = {"HandleError": {"Type": "Fail", "Error": "Pipeline.Failed"}}
    count, stage = 1, 0
    names: list[str] = []
    bodies: list[dict[str, Any]] = []
    while count < target:
        kind = stage % 5
        base = f"S{stage}"
        if kind == 0:  # a Task
            names.append(base)
            bodies.append(_task(base, "", "HandleError"))
            count += 1
        elif kind == 1:  # Choice with three arms that rejoin
            arms = [f"{base}_{arm}" for arm in "abc"]
            names.append(base)
            bodies.append(
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.kind", "StringEquals": arm, "Next": arm} for arm in arms[:2]
                    ],
                    "Default": arms[2],
                }
            )
            for arm in arms:
                states[arm] = {"Type": "Pass", "Next": f"{base}_join"}
            names.append(f"{base}_join")
            bodies.append({"Type": "Pass"})
            count += 5
        elif kind == 2:  # a polling loop
            names.append(f"{base}_wait")
            bodies.append({"Type": "Wait", "Seconds": 5, "Next": f"{base}_check"})
            states[f"{base}_check"] = _task(f"{base}_check", f"{base}_done", "HandleError")
            states[f"{base}_done"] = {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.status", "StringEquals": "RUNNING", "Next": f"{base}_wait"}
                ],
                "Default": f"{base}_after",
            }
            names.append(f"{base}_after")
            bodies.append({"Type": "Pass"})
            count += 4
        elif kind == 3:  # Parallel, two branches of three
            names.append(base)
            bodies.append(
                {
                    "Type": "Parallel",
                    "Branches": [_chain(f"{base}_l", 3), _chain(f"{base}_r", 3)],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "HandleError"}],
                }
            )
            count += 7
        else:  # Map with a small processor
            names.append(base)
            bodies.append({"Type": "Map", "ItemProcessor": _chain(f"{base}_m", 3)})
            count += 4
        stage += 1
    # wire the top-level stages in sequence: each "open" state points at the next stage
    ordered = list(zip(names, bodies, strict=True))
    for i, (name, body) in enumerate(ordered):
        following = ordered[i + 1][0] if i + 1 < len(ordered) else None
        if body["Type"] in ("Choice",):
            states[name] = body
            continue
        if following is None:
            body.pop("Next", None)
            body["End"] = True
        else:
            body["Next"] = following
        if name.endswith("_wait"):
            body["Next"] = f"{name[:-5]}_check"
        states[name] = body
    return {"StartAt": names[0], "States": states}


def count_states(machine: Any) -> int:
    return len(machine.iter_states())


def best(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    failed = False
    for target in (200, 1000):
        machine = build(definition(target))
        graph = graph_of(machine, layout=False)
        layout_s = best(lambda g=graph: compute_layout(g), args.repeat)
        full_s = best(lambda m=machine: graph_of(m), args.repeat)
        laid_out = graph_of(machine)
        svg_s = best(lambda g=laid_out: to_svg(g), args.repeat)
        print(
            f"{count_states(machine):5d} states, {len(graph.edges):5d} edges: "
            f"layout {layout_s * 1000:7.1f} ms, graph_of {full_s * 1000:7.1f} ms, "
            f"svg {svg_s * 1000:6.1f} ms"
        )
        if target == 200 and layout_s >= BUDGET_SECONDS:
            print(f"FAIL: 200 states took {layout_s:.2f} s (budget {BUDGET_SECONDS} s)")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
