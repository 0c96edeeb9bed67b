"""The durable CLI as a user drives it: ``statemachine run --db --name`` killed and started
again resumes the same execution; ``statemachine worker`` stops gracefully on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from crash_support import (
    TOOLS,
    CallLog,
    committed_keys,
    environment,
    kill,
    spawn_worker,
    wait_until,
)

from statemachine.service import Service

STEPS = 8


def _flow(path: Path) -> Path:
    states = {
        f"S{i}": {
            "Type": "Task",
            "Resource": "tool:step",
            "Parameters": {"i": i, "v.$": "$.r.v"},
            "ResultPath": "$.r",
            **({"Next": f"S{i + 1}"} if i + 1 < STEPS else {"End": True}),
        }
        for i in range(STEPS)
    }
    path.write_text(json.dumps({"StartAt": "S0", "States": states}))
    return path


def _expected() -> dict:
    v = 1
    for i in range(STEPS):
        v = (v * 31 + i) % 1_000_003
    return {"r": {"v": v}}


def test_run_with_db_resumes_after_kill9(sqlite_db_url: str, tmp_path: Path) -> None:
    env = environment(tmp_path)
    env["CRASH_MAX_SLEEP"] = "0.3"
    log = CallLog(Path(env["CRASH_LOG"]))
    flow = _flow(tmp_path / "flow.asl.json")
    command = [
        sys.executable, "-m", "statemachine", "run", str(flow),
        "--db", sqlite_db_url, "--name", "nightly", "--handlers", str(TOOLS),
        "--input", json.dumps({"r": {"v": 1}}),
    ]  # fmt: skip
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: len(log.started()) >= 3)
    kill(first)
    assert first.stdout is not None
    first.stdout.close()
    done_before = len(log.started())

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == _expected()
    starts = log.starts()
    assert len(starts) == STEPS  # the same execution resumed: no step of a new one
    assert sum(count - 1 for count in starts.values()) <= 1  # only the interrupted step
    assert max(starts.values()) <= 2 and done_before < STEPS

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout) == _expected()
    assert log.starts() == starts  # finished: nothing ran again


def test_worker_sigterm_finishes_running_task_and_releases_leases(
    db_url: str, tmp_path: Path
) -> None:
    env = environment(tmp_path)
    env["CRASH_MAX_SLEEP"] = "1.5"
    log = CallLog(Path(env["CRASH_LOG"]))
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "tool:step",
                "Parameters": {"i": 0, "v": 1},
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    service = Service(db_url)
    service.register_state_machine("graceful", definition)
    execution = service.start_execution("graceful", {}, name="g")
    worker = spawn_worker(db_url, "graceful", env, lease=30.0)
    wait_until(lambda: len(log.started()) == 1)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    (key,) = log.started()
    assert key in committed_keys(service, execution.execution_id)  # finished and committed
    kinds = [e.type for e in service.get_history(execution.execution_id).events]
    assert kinds[-1] == "TaskStateExited"
    with service.db.read() as conn:
        from sqlalchemy import select

        from statemachine.store.tables import frames

        assert conn.execute(select(frames.c.lease_owner)).scalar() is None

    # Any other worker carries on at once (no lease to wait for).
    other = spawn_worker(db_url, "other", env, lease=30.0)
    try:
        assert service.wait(execution.execution_id, 120).output == {"v": 31}
    finally:
        kill(other)
    assert log.starts()[key] == 1
    service.close()
