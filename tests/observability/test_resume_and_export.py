"""Spans leave the process over OTLP/HTTP, and a durable execution interrupted by
``kill -9`` and resumed by another worker process is one trace with one tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from otel_collector import PATIENCE, Collector

from statemachine.clock import VirtualClock
from statemachine.model.build import build
from statemachine.observability.agent import AgentSink
from statemachine.observability.observer import Observer
from statemachine.runner import Runner
from statemachine.service import Service

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(__file__).with_name("kill_tools.py")

FLOW: dict[str, Any] = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": [1, 2, 3], "ResultPath": "$.items", "Next": "Gate"},
        "Gate": {"Type": "Task", "Resource": "tool:gate", "ResultPath": "$.gate", "Next": "Fan"},
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "tool:work", "End": True}},
            },
            "ResultPath": "$.results",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def otel_env(collector: Collector, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="statemachine-test",
        OTEL_METRICS_EXPORTER="none",
        STATEMACHINE_OTEL_FLUSH_MS="50",
        # The exporter process yields to everything at its default nice 19; next to two
        # busy test workers it would take a minute to start. These tests check what it
        # exports, not its priority.
        STATEMACHINE_OTEL_NICE="0",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra)
    return env


def test_otlp_http_exporter_reaches_a_collector(collector: Collector) -> None:
    """The production path: the exporter process started by AgentSink sends OTLP/HTTP
    (protobuf) to the endpoint of ``OTEL_EXPORTER_OTLP_ENDPOINT``, spans and the metrics
    it computes from them."""
    sink = AgentSink(env=otel_env(collector, OTEL_METRICS_EXPORTER="otlp"))
    runner = Runner(
        build(FLOW), dispatcher=lambda r, p, c: {"passed": True} if r == "tool:gate" else p,
        clock=VirtualClock(), state_machine_name="otlp", observer=Observer(sink),
    )  # fmt: skip
    assert runner.run({}).status == "SUCCEEDED"
    sink.shutdown(timeout=PATIENCE)
    spans = collector.wait_for(lambda got: len(got) == 15)
    assert Counter(s["name"] for s in spans) == {
        "execution otlp": 1,
        "Prepare": 1,
        "Gate": 1,
        "execute_tool gate": 1,
        "Fan": 1,
        "Fan iteration": 3,
        "Work": 3,
        "execute_tool work": 3,
        "Done": 1,
    }
    assert {s["service"] for s in spans} == {"statemachine-test"}
    assert len({s["trace_id"] for s in spans}) == 1
    assert_one_tree(spans)
    assert collector.sums["statemachine.transitions"] == 7
    assert collector.sums["statemachine.executions"] == 1


def assert_one_tree(spans: list[dict[str, Any]]) -> None:
    """One trace; every span's parent is in it, except the execution span's."""
    assert len({s["trace_id"] for s in spans}) == 1, "more than one trace"
    ids_ = [s["span_id"] for s in spans]
    assert len(ids_) == len(set(ids_)), "a span was exported twice"
    roots = [s for s in spans if s["parent_id"] not in set(ids_)]
    assert len(roots) == 1 and roots[0]["name"].startswith("execution"), roots


def spawn_worker(url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "statemachine", "worker",
        "--db", url,
        "--handlers", str(TOOLS),
        "--worker-id", "otel-worker",  # the same id again: the new process reclaims at once
        "--poll-interval", "0.05",
        "--lease-seconds", "30",
        "--log-level", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(predicate: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_kill_9_and_resume_is_one_trace(
    collector: Collector, sqlite_db_url: str, tmp_path: Path
) -> None:
    gate = str(tmp_path / "gate")
    env = otel_env(collector, GATE=gate)
    service = Service(sqlite_db_url)
    service.register_state_machine("resume", FLOW)
    execution = service.start_execution("resume", {}, name="r1")
    first = spawn_worker(sqlite_db_url, env)
    try:
        # In flight: the gate task runs, and the spans that ended before it were exported.
        wait_until(lambda: Path(gate + ".started").exists())
        collector.wait_for(lambda got: any(s["name"] == "Prepare" for s in got))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        if first.stderr is not None:
            first.stderr.close()
    Path(gate + ".open").touch()
    second = spawn_worker(sqlite_db_url, env)
    try:
        result = service.wait(execution.execution_id, PATIENCE)
        assert result.status == "SUCCEEDED", result
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop flushes the spans
        _, err = second.communicate(timeout=PATIENCE)
    assert second.returncode == 0, err.decode(errors="replace")
    spans = collector.wait_for(lambda got: any(s["name"] == "execution resume" for s in got))
    assert_one_tree(spans)
    names = Counter(s["name"] for s in spans)
    assert names == {
        "execution resume": 1,
        "Prepare": 1,
        "Gate": 1,
        "execute_tool gate": 1,  # started by the first process, ended by the second
        "Fan": 1,
        "Fan iteration": 3,
        "Work": 3,
        "execute_tool work": 3,
        "Done": 1,
    }
    by_name = {s["name"]: s for s in spans}
    gate_state, gate_task = by_name["Gate"], by_name["execute_tool gate"]
    assert gate_task["parent_id"] == gate_state["span_id"]
    assert gate_state["parent_id"] == by_name["execution resume"]["span_id"]
    assert gate_state["start"] < gate_state["end"]
    service.close()
