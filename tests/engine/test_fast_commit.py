"""The one-frame fast path (statemachine.store.fast) and one commit per state entered,
on real SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from statemachine.store.executions import lock_executions
from statemachine.store.fast import FastCommit
from statemachine.store.jsontext import dumps
from statemachine.store.tables import executions, frames, history


def _chain(length: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        nxt = {"Next": f"S{i + 1}"} if i + 1 < length else {"End": True}
        if i % 2:
            states[f"S{i}"] = {"Type": "Task", "Resource": "tool:inc", "ResultPath": "$.n", **nxt}
        else:
            states[f"S{i}"] = {"Type": "Pass", **nxt}
    return {"StartAt": "S0", "States": states}


def test_one_commit_per_state_entered(harness: Any) -> None:
    calls: list[int] = []

    @harness.tool("inc")
    def inc(payload: Any, ctx: Any) -> Any:
        calls.append(payload["n"])
        return payload["n"] + 1

    worker = harness.start_worker()
    result = harness.run(_chain(10), {"n": 0})
    assert result.status == "SUCCEEDED" and result.output == {"n": 5}
    assert calls == [0, 1, 2, 3, 4]
    kinds = [kind for _, kind, _ in harness.history(result.execution_id)]
    entered = sum(1 for kind in kinds if kind.endswith("StateEntered"))
    assert entered == 10
    # A task's result is committed with the entry of the next state; the last result
    # (which ends the execution) is the one commit that enters no state.
    assert worker.commits == entered + 1
    # Every commit of this chain but the first and last went through the fast path, and
    # the history is still gapless and in AWS order.
    ids = [event_id for event_id, _, _ in harness.history(result.execution_id)]
    assert ids == list(range(1, len(ids) + 1))


def _root(service: Any, execution_id: str) -> tuple[int, int, int, int]:
    """The root frame, its version, the execution's last event id as the store reads it
    (on SQLite the fast path leaves the column behind: the history says) and the number
    of history rows."""
    with service.db.read() as conn:
        last = lock_executions(conn, [execution_id], for_update=False)[execution_id][0]
        frame_id, count = conn.execute(
            select(
                executions.c.root_frame,
                select(func.count())
                .select_from(history)
                .where(history.c.execution_id == execution_id)
                .scalar_subquery(),
            ).where(executions.c.id == execution_id)
        ).one()
        version = conn.execute(select(frames.c.version).where(frames.c.id == frame_id)).scalar()
    return frame_id, version, last, count


def _rows(execution_id: str, frame_id: int, first: int) -> list[dict[str, Any]]:
    return [
        {
            "execution_id": execution_id,
            "id": first + i,
            "type": kind,
            "timestamp": 1,
            "frame_id": frame_id,
            "details": dumps({"name": "S0"}),
        }
        for i, kind in enumerate(("PassStateEntered", "PassStateExited"))
    ]


def test_fast_commit_writes_all_or_nothing(harness: Any) -> None:
    service = harness.service
    service.register_state_machine("m", _chain(2))
    execution_id = service.start_execution("m", {"n": 0}, name="f").execution_id
    frame_id, version, last, count = _root(service, execution_id)
    fast = FastCommit(service.db)
    try:

        def frame(ver: int) -> dict[str, Any]:
            return {"fid": frame_id, "ver": ver, "b_snapshot": "{}", "b_inbox": '{"k":"enter"}'}

        rows = _rows(execution_id, frame_id, last + 1)
        # A stale frame version: nothing is written, not even last_event_id.
        assert not fast.commit(frame(version + 5), execution_id, last, last + 2, rows)
        assert _root(service, execution_id) == (frame_id, version, last, count)
        # A stale execution row (another transaction appended history since it was read).
        assert not fast.commit(frame(version), execution_id, last - 1, last + 1, rows)
        assert _root(service, execution_id) == (frame_id, version, last, count)
        # Both current: frame, history and last_event_id in one commit.
        assert fast.commit(frame(version), execution_id, last, last + 2, rows)
        assert _root(service, execution_id) == (frame_id, version + 1, last + 2, count + 2)
        # The same write again is now stale (the version moved): a duplicate is a no-op.
        assert not fast.commit(frame(version), execution_id, last + 2, last + 4, rows)
        assert _root(service, execution_id) == (frame_id, version + 1, last + 2, count + 2)
    finally:
        fast.close()


def test_two_workers_interleave_fast_commits_of_one_execution(harness: Any) -> None:
    """The children of one Map, three states each, moved by two workers at once: each
    worker's cached last event id goes stale as the other appends, so its fast path must
    see that (on SQLite from the history itself: the fast path writes no execution row)
    and fall back, and the history stays gapless with every event once."""

    @harness.tool("inc")
    def inc(payload: Any, ctx: Any) -> Any:
        return payload["n"] + 1

    child = _chain(4)  # Pass, Task, Pass, Task
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 10,
                "ItemProcessor": child,
                "End": True,
            }
        },
    }
    harness.start_worker(concurrency=8)
    harness.start_worker(concurrency=8)
    result = harness.run(definition, [{"n": i} for i in range(60)])
    assert result.status == "SUCCEEDED"
    assert result.output == [{"n": i + 2} for i in range(60)]
    history = harness.history(result.execution_id)
    assert [event_id for event_id, _, _ in history] == list(range(1, len(history) + 1))
    kinds = [kind for _, kind, _ in history]
    assert kinds.count("TaskSucceeded") == 120 and kinds.count("MapIterationSucceeded") == 60
    with harness.service.db.read() as conn:
        state = lock_executions(conn, [result.execution_id], for_update=False)
    assert state[result.execution_id][0] == len(history)
