"""Overload protection of the span shipper: whole in-memory executions go untraced (and
are counted) while the shipping thread is over its CPU budget, never half a trace."""

from __future__ import annotations

import pytest

from statemachine.clock import VirtualClock
from statemachine.model.build import build
from statemachine.observability.agent import AgentSink
from statemachine.observability.observer import Observer
from statemachine.runner import Runner

FLOW = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
}


def test_over_budget_executions_run_untraced_and_whole() -> None:
    sink = AgentSink(command=["sh", "-c", "cat > /dev/null"])
    try:
        runner = Runner(build(FLOW), clock=VirtualClock(), observer=Observer(sink))

        sink.admit_share = 0.0  # tracing has cost far over its budget: shed
        assert runner.run({"x": 1}).status == "SUCCEEDED"
        assert sink.shed == 1
        assert sink.events == [] and sink.pending_rows == 0
        assert runner.execution is not None and runner.execution.observe is None

        sink.admit_share = 1.0  # caught up: the next execution is traced, every event of it
        assert runner.run({"x": 2}).output == {"x": 2}
        assert sink.shed == 1
        # One item per step (skipping the stream header), its events inside.
        kinds = [kind for step in sink.events if step[1] for kind, _ in step[2]]
        assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionSucceeded"
        assert len(kinds) == 6
        ids = [step[1] for step in sink.events if step[1]]
        assert ids == sorted(ids) and ids[0] == 1
    finally:
        sink.shutdown()


def test_the_share_traced_is_steered_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEMACHINE_OTEL_CPU_BUDGET", "0.1")
    sink = AgentSink(command=["sh", "-c", "cat > /dev/null"])
    try:
        assert sink.cpu_budget == 0.1 and sink.admit_share == 1.0
        sink.adjust(0.4)  # four times the budget with everything traced
        assert sink.admit_share == 0.25
        admitted = [sink.admit() for _ in range(100)]
        assert admitted.count(True) == 25  # evenly: every fourth execution
        assert admitted[3] and not any(admitted[:3])
        sink.adjust(0.1)  # on budget: stay
        assert sink.admit_share == 0.25
        sink.adjust(10.0)  # an odd interval moves the share by a factor 4 at most
        assert sink.admit_share == 0.0625
        sink.adjust(0.0)  # nothing cost anything: back up, doubling
        sink.adjust(0.0)
        sink.adjust(0.0)
        assert sink.admit_share == 0.5
        sink.adjust(0.0)
        sink.adjust(0.0)
        assert sink.admit_share == 1.0
    finally:
        sink.shutdown()


def test_a_large_budget_never_sheds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEMACHINE_OTEL_CPU_BUDGET", "100")
    sink = AgentSink(command=["sh", "-c", "cat > /dev/null"])
    try:
        sink.adjust(0.99)
        assert all(sink.admit() for _ in range(50))
        assert sink.shed == 0
    finally:
        sink.shutdown()


def test_the_exporter_process_survives_rows_of_a_database_it_cannot_open(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A line of rows whose database cannot be opened is reported and skipped; the lines
    after it are still turned into spans."""
    import io

    import orjson
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from statemachine.observability import agent, sdk

    exporter = InMemorySpanExporter()
    monkeypatch.setattr(sdk, "exporter_from_env", lambda: exporter)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    monkeypatch.setenv("STATEMACHINE_OTEL_NICE", "0")  # this is the test process itself
    execution = "arn:aws:states:local:000000000000:execution:m:e"
    bad = {
        "db": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "r": [[execution, 2, "PassStateEntered", 1, 5, '{"name": "A"}']],
    }
    good = {
        "e": [
            [1, 0, execution, True, "m", "0" * 31 + "1"],
            [1, 1, [["ExecutionStarted", {"input": {}}]], 1_000, 1, []],
            [1, 2, [["ExecutionSucceeded", {"output": {}}]], 2_000, 1, None],
        ]
    }
    stream = io.BytesIO(orjson.dumps(bad) + b"\n" + orjson.dumps(good) + b"\n")
    assert agent.main(stream) == 0
    assert "could not turn history into spans" in caplog.text
    assert "Connection refused" in caplog.text
    assert [span.name for span in exporter.get_finished_spans()] == ["execution m"]


def test_the_engine_thread_ships_when_the_pipe_has_room() -> None:
    """At an execution's start, queued steps go to the exporter from the engine's own
    thread (no hand-off to the shipping thread) when that cannot block."""
    sink = AgentSink(command=["sh", "-c", "cat > /dev/null"])
    try:
        runner = Runner(build(FLOW), clock=VirtualClock(), observer=Observer(sink))
        assert runner.run({"x": 1}).status == "SUCCEEDED"
        assert sink.events and not sink.ship_here()  # no exporter process started yet
        sink.flush()  # the shipping thread's way: starts the process, ships everything
        assert sink.events == [] and sink.events_shipped == 6
        assert runner.run({"x": 2}).status == "SUCCEEDED"
        with sink._lock:  # another thread is writing: the engine's thread leaves it
            assert not sink.ship_here()
        assert sink.ship_here()
        assert sink.events == [] and sink.events_shipped == 12 and sink.dropped == 0
        assert sink.shipped_here_seconds > 0
    finally:
        sink.shutdown()
