"""Kill -9 at random moments: the promise of the durable engine.

A workflow of 50 tool steps and a Map of 200 items runs on worker subprocesses that are
killed with SIGKILL at 20 random moments and restarted. At the end the output equals an
uninterrupted run; every step ran once, except those in flight at a kill, which ran at
most twice; no step ever ran twice at the same time; the history has no gaps or
duplicates. Each kill waits until the steps interrupted by the previous one are
committed, so that no step is interrupted twice.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from crash_support import (
    PATIENCE,
    CallLog,
    check_history,
    committed_keys,
    definition,
    environment,
    expected_output,
    kill,
    spawn_worker,
    stop,
    wait_until,
    workflow_input,
)

from statemachine.service import Service

KILLS = 20


def _crash_run(url: str, tmp_path: Path, worker_ids: list[str], lease: float) -> None:
    rng = random.Random()
    env = environment(tmp_path)
    log = CallLog(Path(env["CRASH_LOG"]))
    service = Service(url)
    service.register_state_machine("crash", definition())
    execution = service.start_execution("crash", workflow_input(), name="crash")
    workers = {wid: spawn_worker(url, wid, env, lease) for wid in worker_ids}
    interrupted: set[str] = set()
    kills = 0
    try:
        while kills < KILLS:
            # Random moment: once every step interrupted so far is committed and some new
            # work has started, wait a random while, then kill one worker.
            starts_before = len(log.lines())

            def settled(pending: set[str] = interrupted, seen: int = starts_before) -> bool:
                if service.describe_execution(execution.execution_id).status != "RUNNING":
                    return True
                done = committed_keys(service, execution.execution_id)
                return pending <= done and len(log.lines()) > seen

            wait_until(settled)
            if service.describe_execution(execution.execution_id).status != "RUNNING":
                break
            # A step takes 10 to 50 ms: a moment within the next few steps. (The window
            # is short enough that the run, which progresses about one step per 30 ms of
            # worker time, lasts the 20 kills however fast the engine commits.)
            time.sleep(rng.uniform(0.0, 0.1))
            victim = rng.choice(worker_ids)
            kill(workers[victim])
            kills += 1
            started = log.started()
            interrupted |= started - committed_keys(service, execution.execution_id)
            # Usually restart under the same id (reclaims at once); sometimes as a new
            # worker, so the survivors must wait for the lease to expire.
            new_id = victim if rng.random() < 0.7 or len(worker_ids) == 1 else f"{victim}-r{kills}"
            workers.pop(victim)
            worker_ids[worker_ids.index(victim)] = new_id
            workers[new_id] = spawn_worker(url, new_id, env, lease)
        result = service.wait(execution.execution_id, PATIENCE)
    finally:
        errors = [stop(process) for process in workers.values()]
    assert result.status == "SUCCEEDED", (result, errors)
    assert kills >= KILLS // 2, f"the run finished after only {kills} kills"
    assert result.output == expected_output()
    assert log.concurrent() == [], "a step ran twice at the same time"
    starts = log.starts()
    assert set(starts) == committed_keys(service, execution.execution_id)
    for key, count in starts.items():
        if key in interrupted:
            assert count <= 2, (key, count)
        else:
            assert count == 1, (key, count)
    check_history(service, execution.execution_id)
    service.close()


def test_kill9_sqlite_single_worker(sqlite_db_url: str, tmp_path: Path) -> None:
    _crash_run(sqlite_db_url, tmp_path, ["crash-worker"], lease=5.0)


def test_kill9_postgresql_two_workers_racing(pg_db_url: str, tmp_path: Path) -> None:
    _crash_run(pg_db_url, tmp_path, ["racer-a", "racer-b"], lease=2.0)
