"""A damaged frame row fails its execution with a clear cause; the worker carries on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from statemachine.store.tables import executions, frames


def test_unreadable_snapshot_fails_the_execution_not_the_worker(harness: Any) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    service = harness.service
    service.register_state_machine("m", definition)
    broken = service.start_execution("m", {"a": 1}, name="broken").execution_id
    with service.db.write() as conn:
        conn.execute(
            update(frames).where(frames.c.execution_id == broken).values(snapshot='{"x": 1}')
        )
    harness.start_worker()
    result = harness.wait(broken)
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "cannot be read" in (result.cause or "") and "KeyError" in (result.cause or "")
    kinds = [kind for _, kind, _ in harness.history(broken)]
    assert kinds == ["ExecutionStarted", "ExecutionFailed"]
    # The same worker still runs other executions.
    fine = service.start_execution("m", {"a": 2}, name="fine").execution_id
    assert harness.wait(fine).output == {"a": 2}
    with service.db.read() as conn:
        status = conn.execute(
            executions.select()
            .with_only_columns(executions.c.status)
            .where(executions.c.id == broken)
        ).scalar()
    assert status == "FAILED"
