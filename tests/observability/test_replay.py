"""The property resumption rests on: a process that replays the first part of a history
silently and then handles the rest emits exactly the spans that a single process would
have emitted for the rest, with the same ids, parents and times."""

from __future__ import annotations

from typing import Any

import pytest
from test_span_tree import DEFINITION, Tools, llm  # noqa: F401  (llm is a fixture)

from statemachine.engine.worker import Worker
from statemachine.observability import ids
from statemachine.observability.spans import ExecutionTrace, SpanRecord
from statemachine.service import Service
from statemachine.store import executions as ex_repo
from statemachine.store.jsontext import loads
from statemachine.store.tables import frames


def durable_history(url: str) -> tuple[str, list[Any], dict[int, tuple[int, int] | None]]:
    service = Service(url)
    worker = Worker(service.db, registry=Tools(), poll_interval=0.02)
    thread = worker.start_thread()
    try:
        service.register_state_machine("shapes", DEFINITION)
        execution = service.start_execution("shapes", {"items": [1, 2]}, name="replay")
        assert service.wait(execution.execution_id, 120).status == "SUCCEEDED"
    finally:
        worker.stop()
        thread.join(60)
    with service.db.read() as conn:
        rows = ex_repo.history_page(conn, execution.execution_id, 0, 10_000)
        topology = {
            r.id: None if r.parent_id is None else (r.parent_id, r.group_index)
            for r in conn.execute(frames.select())
        }
    service.close()
    return execution.execution_id, rows, topology


def key(record: SpanRecord) -> tuple[Any, ...]:
    return (*record[:6], tuple(sorted(record.attributes.items())), *record[7:])


def replay(
    execution_id: str,
    rows: list[Any],
    topology: dict[int, Any],
    live_from: int,
    live_until: int | None = None,
) -> list[SpanRecord]:
    out: list[SpanRecord] = []
    trace = ExecutionTrace(execution_id, "shapes", out.append)
    for row in rows:
        if live_until is not None and row.id >= live_until:
            break
        trace.feed(
            row.id,
            row.type,
            row.timestamp * 1000,
            row.frame_id,
            loads(row.details),
            topology.get,
            silent=row.id < live_from,
        )
    return out


@pytest.mark.usefixtures("llm")
def test_split_histories_give_the_same_spans(sqlite_db_url: str) -> None:
    execution_id, rows, topology = durable_history(sqlite_db_url)
    whole = {key(r) for r in replay(execution_id, rows, topology, 0)}
    assert len(whole) == 18
    for split in range(2, len(rows) + 1):
        before = {key(r) for r in replay(execution_id, rows, topology, 0, live_until=split)}
        after = {key(r) for r in replay(execution_id, rows, topology, split)}
        assert before | after == whole, f"split at event {split}"
        assert not before & after, f"a span emitted twice at split {split}"


def test_ids_and_traceparent() -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    parsed = ids.parse_traceparent(header)
    assert parsed is not None and parsed.sampled
    assert parsed.header() == header
    for bad in ("", "00-0000-00f067aa0ba902b7-01", header.upper(), "ff" + header[2:]):
        assert ids.parse_traceparent(bad) is None
    assert ids.parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    trace = parsed.trace_id
    seen = {
        ids.span_id(trace, kind, a, b)
        for kind in (ids.STATE, ids.TASK, ids.ITERATION)
        for a in range(200)
        for b in range(20)
    }
    assert len(seen) == 3 * 200 * 20 and 0 not in seen
    assert ids.span_id(trace, ids.STATE, 7) == ids.span_id(trace, ids.STATE, 7)
    assert ids.span_id(trace, ids.STATE, 7) != ids.span_id(trace + 1, ids.STATE, 7)


def test_sampling_is_decided_per_execution() -> None:
    out: list[SpanRecord] = []

    def never(parent: Any, trace_id: int) -> bool:
        return False

    trace = ExecutionTrace("arn:x", "m", out.append, sampler=never)
    trace.feed(1, "ExecutionStarted", 0, 1, {"input": {}}, lambda f: None)
    trace.feed(2, "PassStateEntered", 1, 1, {"name": "P", "input": {}}, lambda f: None)
    trace.feed(3, "PassStateExited", 2, 1, {"name": "P", "output": {}}, lambda f: None)
    trace.feed(4, "ExecutionSucceeded", 3, 1, {"output": {}}, lambda f: None)
    # Records still come out, for the metrics, marked for exporters to skip.
    assert [r.name for r in out] == ["P", "execution m"] and trace.closed
    assert not any(r.sampled for r in out)
    half = [ids.ratio_sampled(ids.derived_trace_id("arn:x", n), 0.5) for n in range(2000)]
    assert 800 < sum(half) < 1200
