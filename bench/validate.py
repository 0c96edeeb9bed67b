"""How fast ``statemachine validate`` is: one file as a whole process, many in one.

    python bench/validate.py [--runs 10] [--files 1000]

(a) Wall time of the whole ``statemachine validate definitions/order-pipeline.asl.json``
process, min and median of ``--runs``, next to ``python -c pass`` timed the same way and
interleaved with it: the floor that no Python command can beat on this machine. What a
pre-commit hook or an editor waits for is mostly imports, so the target (0.25 s) holds
only while the validate path stays free of FastAPI, SQLModel, OpenAI, asyncio, the
JSONata library (loaded for JSONata definitions only) and jsonschema (loaded for invalid
definitions only); ``tests/unit/test_import_rules.py`` guards that, and
``python -X importtime -m statemachine validate FILE`` shows where the time goes.
The processes run with a bytecode cache in a temporary folder (``PYTHONPYCACHEPREFIX``,
warmed by one untimed run), as after ``pip install``. Under ``PYTHONDONTWRITEBYTECODE=1``
with no ``__pycache__`` in the tree, every start compiles the project's modules again,
which adds 0.1 to 0.2 s that no installed copy pays.

(b) Files per second through :func:`statemachine.definition.validate` in one process,
over ``--files`` generated definitions of 20 to 60 states (Task with Retry and Catch,
Choice, Wait, Map, Parallel), half JSONPath and half JSONata, a quarter of them broken in
one of the ways people break them (a misspelt field, a wrong type, a missing target, a
bad expression), written half as JSON and half as YAML. Every result is checked: a valid
file must have no error and a broken one at least one.

Exits 1 if even the fastest run of (a) takes longer than the target. Beside wall time it
prints CPU time (user + system), which a busy machine inflates far less. Timing lives here
rather than in the test suite, where a busy CI machine would make it flaky; on a shared
machine compare figures from the same run only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "definitions/order-pipeline.asl.json"
TARGET_SECONDS = 0.25
MISTAKES = ("misspelt-field", "wrong-type", "missing-target", "bad-expression")


# ------------------------------------------------------------------ (a) one process


def _command() -> list[str]:
    """The installed console script when there is one (what users run), else ``-m``."""
    script = Path(sys.executable).with_name("statemachine")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "statemachine"]


def _child_env(cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


Timing = tuple[list[float], list[float]]  # wall seconds, CPU seconds (user + system)


def _run(argv: list[str], env: dict[str, str], into: Timing) -> None:
    """Time one process. CPU time barely moves when other work shares the machine, wall
    time does: the pair tells a slow command from a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    into[0].append(wall)
    into[1].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def whole_process(runs: int, cache_dir: str) -> tuple[Timing, Timing]:
    """Timings of ``python -c pass`` and of the validate command, interleaved."""
    env = _child_env(cache_dir)
    floor_argv = [sys.executable, "-c", "pass"]
    validate_argv = [*_command(), "validate", EXAMPLE]
    floor: Timing = ([], [])
    validate: Timing = ([], [])
    _run(floor_argv, env, ([], []))  # warm-up: fills the bytecode cache, checks the command
    _run(validate_argv, env, ([], []))
    for _ in range(runs):
        _run(floor_argv, env, floor)
        _run(validate_argv, env, validate)
    return floor, validate


# ----------------------------------------------------------- (b) generated files


def _scope(first: str, resource: str = "tool:notify", then: str | None = None) -> dict[str, Any]:
    """A branch or Map processor: a Task, then optionally a Pass. State names are unique
    across the whole machine (ASL), so nested ones carry their parent's name."""
    if then is None:
        states = {first: {"Type": "Task", "Resource": resource, "End": True}}
    else:
        states = {
            first: {"Type": "Task", "Resource": resource, "Next": then},
            then: {"Type": "Pass", "End": True},
        }
    return {"StartAt": first, "States": states}


def _jsonpath_states(rng: random.Random, prefix: str, count: int, end: str) -> dict[str, Any]:
    """About ``count`` JSONPath states in a chain ending at ``end``; all errors go to Failed."""
    states: dict[str, Any] = {}
    names = [f"{prefix}{i}" for i in range(count)]
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < count else end
        kind = rng.choice(("Pass", "Task", "Task", "Choice", "Wait", "Map", "Parallel"))
        if kind == "Pass":
            states[name] = {
                "Type": "Pass",
                "Parameters": {
                    "id.$": "States.Format('order-{}', $.order.id)",
                    "count.$": "States.ArrayLength($.order.items)",
                    "first.$": "$.order.items[0].sku",
                    "static": {"step": i},
                },
                "ResultPath": f"$.steps.{name}",
                "Next": nxt,
            }
        elif kind == "Task":
            states[name] = {
                "Type": "Task",
                "Resource": f"tool:step_{i % 7}",
                "Parameters": {"order.$": "$.order", "run.$": "$$.Execution.Id"},
                "ResultSelector": {"status.$": "$.status"},
                "ResultPath": f"$.results.{name}",
                "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 3, "BackoffRate": 2}],
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}
                ],
                "Next": nxt,
            }
        elif kind == "Choice":
            states[name] = {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.order.total", "NumericGreaterThan": 100},
                            {"Variable": "$.order.express", "BooleanEquals": True},
                        ],
                        "Next": nxt,
                    },
                    {"Variable": "$.order.country", "StringMatches": "N*", "Next": nxt},
                ],
                "Default": nxt,
            }
        elif kind == "Wait":
            states[name] = {"Type": "Wait", "SecondsPath": "$.delay", "Next": nxt}
        elif kind == "Map":
            states[name] = {
                "Type": "Map",
                "ItemsPath": "$.order.items",
                "ItemSelector": {"sku.$": "$$.Map.Item.Value.sku", "index.$": "$$.Map.Item.Index"},
                "MaxConcurrency": 4,
                "ItemProcessor": _scope(f"{name}Reserve", "tool:reserve", then=f"{name}Mark"),
                "ResultPath": "$.reserved",
                "Next": nxt,
            }
        else:
            states[name] = {
                "Type": "Parallel",
                "Branches": [_scope(f"{name}Charge", "tool:charge"), _scope(f"{name}Notify")],
                "ResultPath": "$.parallel",
                "Next": nxt,
            }
    return _vary(rng, states)


def _jsonata_states(rng: random.Random, prefix: str, count: int, end: str) -> dict[str, Any]:
    """The same shapes in JSONata: Arguments/Output/Assign and ``{% %}`` expressions."""
    states: dict[str, Any] = {}
    names = [f"{prefix}{i}" for i in range(count)]
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < count else end
        kind = rng.choice(("Pass", "Task", "Task", "Choice", "Wait", "Map", "Parallel"))
        if kind == "Pass":
            states[name] = {
                "Type": "Pass",
                "Assign": {"total": "{% $sum($states.input.order.items.(qty * price)) %}"},
                "Output": {
                    "id": "{% 'order-' & $states.input.order.id %}",
                    "count": "{% $count($states.input.order.items) %}",
                    "step": i,
                },
                "Next": nxt,
            }
        elif kind == "Task":
            states[name] = {
                "Type": "Task",
                "Resource": f"tool:step_{i % 7}",
                "Arguments": {"order": "{% $states.input.order %}", "total": "{% $total %}"},
                "Output": "{% $merge([$states.input, {'status': $states.result.status}]) %}",
                "TimeoutSeconds": 30,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 3, "BackoffRate": 2}],
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.errorOutput %}",
                        "Next": "Failed",
                    }
                ],
                "Next": nxt,
            }
        elif kind == "Choice":
            states[name] = {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.order.total > 100 and "
                        "$states.input.order.express %}",
                        "Next": nxt,
                    },
                    {"Condition": "{% $states.input.order.country = 'NL' %}", "Next": nxt},
                ],
                "Default": nxt,
            }
        elif kind == "Wait":
            states[name] = {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": nxt}
        elif kind == "Map":
            states[name] = {
                "Type": "Map",
                "Items": "{% $states.input.order.items %}",
                "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}"},
                "MaxConcurrency": 4,
                "ItemProcessor": _scope(f"{name}Reserve", "tool:reserve", then=f"{name}Mark"),
                "Output": "{% $merge([$states.input, {'reserved': $states.result}]) %}",
                "Next": nxt,
            }
        else:
            states[name] = {
                "Type": "Parallel",
                "Branches": [_scope(f"{name}Charge", "tool:charge"), _scope(f"{name}Notify")],
                "Next": nxt,
            }
    return _vary(rng, states)


def _vary(rng: random.Random, states: dict[str, Any]) -> dict[str, Any]:
    """Give each state its own data field in place of ``order``, so that expressions differ
    between states and files as they do in real definitions (compiled expressions are
    cached by their text)."""

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, str):
            return value.replace(".order", f".{key}")
        if isinstance(value, dict):
            return {name: walk(item, key) for name, item in value.items()}
        if isinstance(value, list):
            return [walk(item, key) for item in value]
        return value

    return {name: walk(state, f"order{rng.randrange(10**6)}") for name, state in states.items()}


def _state_count(states: dict[str, Any]) -> int:
    total = 0
    for state in states.values():
        total += 1
        for scope in (*state.get("Branches", ()), state.get("ItemProcessor")):
            if scope:
                total += _state_count(scope["States"])
    return total


def definition(rng: random.Random, jsonata: bool, states_wanted: int) -> dict[str, Any]:
    """A machine of about ``states_wanted`` states (nested ones included)."""
    make = _jsonata_states if jsonata else _jsonpath_states
    count = states_wanted
    while True:  # nested states make the chain count more than its length: shorten it
        states = make(random.Random(rng.random()), "Step", count, "Done")
        states["Done"] = {"Type": "Succeed"}
        states["Failed"] = {"Type": "Fail", "Error": "Order.Failed", "Cause": "a step failed"}
        if _state_count(states) <= states_wanted or count == 1:
            break
        count -= 1
    machine: dict[str, Any] = {"Comment": "generated by bench/validate.py", "StartAt": "Step0"}
    if jsonata:
        machine["QueryLanguage"] = "JSONata"
    machine["States"] = states
    return machine


def break_it(rng: random.Random, machine: dict[str, Any], mistake: str, jsonata: bool) -> None:
    """Make one mistake in a top-level state of ``machine``."""
    steps = [s for name, s in machine["States"].items() if name.startswith("Step")]
    if mistake == "misspelt-field":
        state = rng.choice([s for s in steps if "Next" in s])
        state["Nxt"] = state.pop("Next")
    elif mistake == "wrong-type":
        rng.choice(steps)["TimeoutSeconds"] = "30"
    elif mistake == "missing-target":
        rng.choice([s for s in steps if "Next" in s])["Next"] = "NoSuchState"
    elif jsonata:
        rng.choice(steps)["Assign"] = {"broken": "{% $states.input.order. %}"}
    else:
        rng.choice(steps)["Assign"] = {"broken.$": "$.order.items[?(@.qty >)]"}


def _write(folder: Path, stem: str, machine: dict[str, Any], as_yaml: bool) -> Path:
    if as_yaml:
        import yaml

        path = folder / f"{stem}.asl.yaml"
        path.write_text(yaml.safe_dump(machine, sort_keys=False))
    else:
        path = folder / f"{stem}.asl.json"
        path.write_text(json.dumps(machine, indent=2))
    return path


def write_corpus(folder: Path, files: int, seed: int) -> list[tuple[Path, str, bool]]:
    """``files`` definitions as (path, language, valid): a seeded mix, see the module doc."""
    rng = random.Random(seed)
    corpus = []
    broken = 0
    for i in range(files):
        jsonata = rng.random() < 0.5
        valid = rng.random() < 0.75
        machine = definition(rng, jsonata, rng.randint(20, 60))
        if not valid:
            break_it(rng, machine, MISTAKES[broken % len(MISTAKES)], jsonata)
            broken += 1
        path = _write(folder, f"m{i:04d}", machine, as_yaml=rng.random() < 0.5)
        corpus.append((path, "JSONata" if jsonata else "JSONPath", valid))
    return corpus


def _warm_up(folder: Path, seed: int) -> None:
    """Pay every first-use cost before the clock starts: imports, the schema compile, the
    YAML loader, the JSONata library (first JSONata file) and jsonschema (first invalid)."""
    from statemachine.definition import validate

    rng = random.Random(seed)
    kinds = [(False, True), (False, False), (True, True), (True, False)]  # (JSONata, valid)
    for i, (jsonata, valid) in enumerate(kinds):
        machine = definition(rng, jsonata, 20)
        if not valid:
            break_it(rng, machine, "misspelt-field", jsonata)
        validate(_write(folder, f"warm{i}", machine, as_yaml=i % 2 == 0))


def many_files(files: int, seed: int) -> dict[tuple[str, bool], Timing]:
    """Wall and CPU seconds of each file, by (language, valid)."""
    from statemachine.definition import validate

    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        corpus = write_corpus(Path(tmp), files, seed)
        _warm_up(Path(tmp), seed + 1)
        times: dict[tuple[str, bool], Timing] = defaultdict(lambda: ([], []))
        for path, language, valid in corpus:
            wall, cpu = time.perf_counter(), time.process_time()
            problems = validate(path)
            spent = times[language, valid]
            spent[0].append(time.perf_counter() - wall)
            spent[1].append(time.process_time() - cpu)
            errors = [p for p in problems if p.severity == "error"]
            if valid == bool(errors):
                detail = "\n".join(p.format() for p in errors) or "no error"
                raise SystemExit(
                    f"{path.name} should be {'valid' if valid else 'invalid'}:\n{detail}"
                )
    return times


# -------------------------------------------------------------------------- main


def _seconds(timing: Timing) -> str:
    wall, cpu = timing
    return (
        f"wall min {min(wall):.3f} s  median {statistics.median(wall):.3f} s   "
        f"cpu min {min(cpu):.3f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="processes timed in (a)")
    parser.add_argument("--files", type=int, default=1000, help="definitions validated in (b)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sm-pycache-") as cache:
        floor, validate = whole_process(args.runs, cache)
    load, cpus = os.getloadavg()[0], os.cpu_count()
    print(f"(a) statemachine validate {EXAMPLE}: whole process, {args.runs} runs")
    print(f"    load average {load:.1f} on {cpus} CPUs; target: wall <= {TARGET_SECONDS} s")
    print(f"    python -c pass           {_seconds(floor)}")
    print(f"    statemachine validate    {_seconds(validate)}")

    times = many_files(args.files, args.seed)
    print(f"(b) {args.files:,} generated definitions (20-60 states) in one process")
    everything: Timing = ([], [])
    for wall, cpu in times.values():
        everything[0].extend(wall)
        everything[1].extend(cpu)
    rows = [("all", everything)]
    for (language, valid), spent in sorted(times.items()):
        rows.append((f"{language} {'valid' if valid else 'invalid'}", spent))
    for label, (wall, cpu) in rows:
        print(
            f"    {label:24} {len(wall) / sum(wall):6,.0f} files/s   "
            f"wall {1000 * statistics.mean(wall):6.2f} ms/file   "
            f"cpu {1000 * statistics.mean(cpu):6.2f} ms/file   ({len(wall)} files)"
        )
    return 0 if min(validate[0]) <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
