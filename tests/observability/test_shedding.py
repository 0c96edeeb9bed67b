"""Overload protection of the span shipper: whole in-memory executions go untraced (and
are counted) while the shipping thread is over its CPU budget, never half a trace."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine.clock import VirtualClock
from statemachine.model.build import build
from statemachine.observability.agent import AgentSink
from statemachine.observability.observer import Observer
from statemachine.runner import Runner

NewSink = Callable[[], AgentSink]


@pytest.fixture
def new_sink() -> Iterator[NewSink]:
    """Make sinks whose exporter stand-in reads and drops everything; shut down after."""
    sinks: list[AgentSink] = []

    def make() -> AgentSink:
        sinks.append(AgentSink(command=["sh", "-c", "cat > /dev/null"]))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.shutdown()


FLOW = {
    "StartAt": "A",
    "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
}


def test_over_budget_executions_run_untraced_and_whole(new_sink: NewSink) -> None:
    sink = new_sink()
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


def test_the_share_traced_is_steered_to_the_budget(
    monkeypatch: pytest.MonkeyPatch, new_sink: NewSink
) -> None:
    monkeypatch.setenv("STATEMACHINE_OTEL_CPU_BUDGET", "0.1")
    sink = new_sink()
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


def test_a_large_budget_never_sheds(monkeypatch: pytest.MonkeyPatch, new_sink: NewSink) -> None:
    monkeypatch.setenv("STATEMACHINE_OTEL_CPU_BUDGET", "100")
    sink = new_sink()
    sink.adjust(0.99)
    assert all(sink.admit() for _ in range(50))
    assert sink.shed == 0


def test_the_exporter_process_survives_rows_of_a_database_it_cannot_open(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A line of rows whose database cannot be opened is reported and skipped; the lines
    after it are still turned into spans."""
    import io

    import orjson
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from statemachine.observability import exporter as agent_process
    from statemachine.observability import sdk

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
    assert agent_process.main(stream) == 0
    assert "could not turn history into spans" in caplog.text
    assert "Connection refused" in caplog.text
    assert [span.name for span in exporter.get_finished_spans()] == ["execution m"]


def test_the_engine_thread_ships_when_the_pipe_has_room(new_sink: NewSink) -> None:
    """At an execution's start, queued steps go to the exporter from the engine's own
    thread (no hand-off to the shipping thread) when that cannot block."""
    sink = new_sink()
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


def test_the_engine_thread_never_waits_on_a_full_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel reports a pipe's room in bytes but fills it by pages, so a message that
    "fits" can still block: the engine's thread writes what the pipe takes and leaves the
    rest to the shipping thread, which writes it first, so the stream stays whole."""
    import threading

    from statemachine.observability import agent, exporter

    go, out = tmp_path / "go", tmp_path / "out"
    # An exporter stand-in that reads nothing until told, then keeps every byte.
    script = f"while [ ! -e {go} ]; do sleep 0.01; done; cat > {out}"
    sink = AgentSink(command=["sh", "-c", script])

    class Asleep(threading.Event):  # the shipping thread stays out of it: the test ships
        def set(self) -> None:
            pass

    sink.delay, sink._wake = 3600.0, Asleep()
    try:
        runner = Runner(build(FLOW), clock=VirtualClock(), observer=Observer(sink))
        assert runner.run({"x": 1}).status == "SUCCEEDED"
        sink.flush()  # starts the process; the first execution's steps are in the pipe
        process = sink._process
        assert process is not None and process.stdin is not None
        filler = b""  # blank lines (the exporter skips them) until the pipe takes no more
        while (n := agent._write_now(process.stdin.fileno(), b"\n" * 4096)) > 0:
            filler += b"\n" * n
        monkeypatch.setattr(agent, "_pipe_room", lambda pipe: 1 << 20)  # and "has room"

        assert runner.run({"x": 2}).status == "SUCCEEDED"
        steps = sink.events[:]
        done = threading.Event()
        shipped: list[bool] = []
        thread = threading.Thread(target=lambda: (shipped.append(sink.ship_here()), done.set()))
        thread.start()
        assert done.wait(10), "ship_here blocked on a full pipe"
        assert shipped == [True] and sink.events == []
        assert sink._carry == exporter.encode_steps(steps)  # nothing went in: all carried
        assert not sink.ship_here()  # nor does anything else until the carry is written

        go.touch()
        sink.flush()  # the shipping thread's way: the carry first
        assert sink._carry == b""
        sink.shutdown()
        data = out.read_bytes()
        assert data.endswith(filler + exporter.encode_steps(steps))
    finally:
        go.touch()  # whatever failed, the stand-in reads (and nothing waits on it)
        sink.shutdown()


def test_a_backlog_sheds_and_steers_the_share_down(
    monkeypatch: pytest.MonkeyPatch, new_sink: NewSink
) -> None:
    """When the exporter process falls behind, the queue grows (and with it the garbage
    collector's work in the engine's thread): trace less, whatever the measured cost."""
    import time

    from statemachine.observability import agent

    monkeypatch.setenv("STATEMACHINE_OTEL_CPU_BUDGET", "0.1")
    sink = new_sink()
    sink.events.extend([(1, 1, [], 0, 1, None)] * (agent.EVENT_BATCH + 1))
    sink._last = (time.monotonic() - 1.0, 0.0, 0)
    monkeypatch.setattr(agent, "STEP_COST", 0.0)  # tracing itself cost nothing here
    sink._measure()
    assert sink.admit_share == 0.5  # twice the budget: half the share
    sink.events.extend([(1, 1, [], 0, 1, None)] * agent.BACKLOG)
    assert not sink.admit() and sink.shed == 1  # far behind: none at all
    sink.events.clear()


def test_the_exporters_resource_hashes_once_and_equals_the_sdks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The OTLP encoder hashes the resource of every span; ours computes that hash once
    and still groups, compares and encodes as the SDK's own resource does."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource

    from statemachine.observability import sdk
    from statemachine.observability.spans import SpanRecord

    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    resource = sdk.default_resource()
    plain = Resource(dict(resource.attributes), resource.schema_url)
    assert resource == plain and hash(resource) == hash(plain)
    assert resource.attributes["service.name"] == "svc"
    calls = [0]
    real = Resource.__hash__

    def counted(self: Resource) -> int:
        calls[0] += 1
        return real(self)

    monkeypatch.setattr(Resource, "__hash__", counted)
    assert hash(resource) == hash(plain) and calls == [1]  # only the plain one computed
    record = SpanRecord(
        name="S",
        trace="0" * 31 + "1",
        span_id=2,
        parent_id=0,
        start=1,
        end=2,
        attributes={"statemachine.state.type": "Pass"},
    )
    spans = [sdk.to_readable(record, resource) for _ in range(3)]
    (group,) = encode_spans(spans).resource_spans  # one resource, three spans
    assert len(group.scope_spans[0].spans) == 3


def test_the_backlog_counts_what_the_exporter_has_not_read(tmp_path: Path) -> None:
    """``backlog()`` (what the benchmark waits on between measurements): steps queued
    here and bytes in the pipe the exporter has not read, 0 once it has read them all."""
    go = tmp_path / "go"
    script = f"while [ ! -e {go} ]; do sleep 0.01; done; cat > /dev/null"
    sink = AgentSink(command=["sh", "-c", script])
    try:
        runner = Runner(build(FLOW), clock=VirtualClock(), observer=Observer(sink))
        assert runner.run({"x": 1}).status == "SUCCEEDED"
        assert sink.backlog() == len(sink.events) > 0  # queued here, no process yet
        sink.flush()
        assert sink.events == [] and sink.backlog() > 0  # in the pipe, unread
        go.touch()
        deadline = time.monotonic() + 30
        while sink.backlog() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sink.backlog() == 0
    finally:
        go.touch()
        sink.shutdown()


def test_the_exporter_process_cpu_counts_against_the_budget(tmp_path: Path) -> None:
    """Building and encoding spans in the exporter process is most of what tracing costs,
    and on a machine without a spare core it is the engine's CPU too: it counts, except
    its start-up before the first reading."""
    done = tmp_path / "done"
    # An exporter stand-in that burns CPU until told to stop, then drains its input.
    burn = f"import os\nwhile not os.path.exists({str(done)!r}): pass\nimport sys\nsys.stdin.read()"
    sink = AgentSink(command=[sys.executable, "-c", burn])
    try:
        runner = Runner(build(FLOW), clock=VirtualClock(), observer=Observer(sink))
        assert runner.run({}).status == "SUCCEEDED"
        sink.flush()  # starts the process
        assert sink._exporter_seconds() == 0.0  # the first reading: the baseline
        deadline = time.monotonic() + 60
        while sink._exporter_seconds() < 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink.exporter_seconds >= 0.2
        # An interval in which in-memory steps were shipped: the exporter's CPU in it
        # puts tracing over its budget (0.05 of a core), so the share traced goes down.
        sink._last = (time.monotonic() - 1.0, 0.0, sink.steps_queued - 10)
        sink._measure()
        assert sink.load > sink.cpu_budget and sink.admit_share < 1.0
    finally:
        done.touch()
        sink.shutdown()
