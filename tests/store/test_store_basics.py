"""The store on real SQLite and real PostgreSQL: schema, versions, idempotent start, the
unique history key, optimistic frame versions, listing and pagination."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from statemachine.errors import ExecutionAlreadyExists, InvalidRequest, NotFound
from statemachine.service import Service
from statemachine.store import HEAD_REVISION, Database
from statemachine.store import executions as ex_repo
from statemachine.store import frames as fr_repo
from statemachine.store.db import current_revision, now_micros
from statemachine.store.tables import metadata

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def test_schema_is_migrated_to_head_and_matches_the_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(db_url)
    assert current_revision(db) == HEAD_REVISION
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    db.dispose()


def test_definition_versions_are_content_hashed_and_immutable(db_url: str) -> None:
    service = Service(db_url)
    first = service.register_state_machine("m", PASS)
    again = service.register_state_machine("m", dict(PASS))
    assert first.version == again.version and first.created and not again.created
    other = service.register_state_machine("m", {**PASS, "Comment": "v2"})
    assert other.version != first.version
    with service.db.read() as conn:
        assert ex_repo.get_definition(conn, first.version) == PASS
        assert ex_repo.get_state_machine(conn, "m").latest_version == other.version


def test_an_execution_stays_pinned_to_its_version(db_url: str) -> None:
    service = Service(db_url)
    v1 = service.register_state_machine("m", WAIT)
    execution = service.start_execution("m", {}, name="pinned")
    service.register_state_machine("m", PASS)
    assert service.describe_execution(execution.execution_id).version == v1.version
    assert service.start_execution("m", {}, name="new").version != v1.version


def test_start_is_idempotent_by_name(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", WAIT)
    first = service.start_execution("m", {"a": 1}, name="once")
    again = service.start_execution("m", {"a": 1}, name="once")
    assert again.execution_id == first.execution_id and again.start_date == first.start_date
    with pytest.raises(ExecutionAlreadyExists):
        service.start_execution("m", {"a": 2}, name="once")
    service.stop_execution(first.execution_id)
    with pytest.raises(ExecutionAlreadyExists):
        service.start_execution("m", {"a": 1}, name="once")
    with pytest.raises(NotFound):
        service.start_execution("missing", {})


def test_of_identical_starts_racing_exactly_one_created_the_execution(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", WAIT)
    racers = 6
    barrier = threading.Barrier(racers)
    results: list[tuple[str, bool]] = []

    def start() -> None:
        barrier.wait()
        description, created = service.start("m", {"a": 1}, name="raced")
        results.append((description.execution_id, created))

    threads = [threading.Thread(target=start) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == racers
    assert len({execution_id for execution_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert service.start("m", {"a": 1}, name="raced")[1] is False


def test_start_writes_execution_root_frame_and_first_event(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", PASS)
    execution = service.start_execution("m", {"x": 1}, name="e")
    assert execution.status == "RUNNING" and execution.input == {"x": 1}
    events = service.get_history(execution.execution_id).events
    assert [(e.id, e.type, e.details) for e in events] == [
        (1, "ExecutionStarted", {"input": {"x": 1}})
    ]


def test_duplicate_history_id_is_a_conflict(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", PASS)
    execution = service.start_execution("m", {}, name="e")
    row = ex_repo.history_row(execution.execution_id, 1, "PassStateEntered", 0, None, {})
    with pytest.raises(IntegrityError), service.db.write() as conn:
        ex_repo.append_history(conn, [row])
    assert len(service.get_history(execution.execution_id).events) == 1


def test_a_stale_frame_write_matches_nothing(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", PASS)
    execution = service.start_execution("m", {}, name="e")
    now = now_micros()
    with service.db.write() as conn:
        (claimed,) = fr_repo.claim(conn, "w1", now, now + 10**6, 10, service.db.is_postgres)
    params = {
        "b_snapshot": claimed.snapshot,
        "b_status": "RUNNABLE",
        "b_inbox": claimed.inbox,
        "b_run_at": now,
        "b_owner": "w1",
        "b_expires": now,
    }
    with service.db.write() as conn:
        stale = {**params, "fid": claimed.id, "ver": claimed.version - 1}
        assert conn.execute(fr_repo.WRITE_FRAME, stale).rowcount == 0
        fresh = {**params, "fid": claimed.id, "ver": claimed.version}
        assert conn.execute(fr_repo.WRITE_FRAME, fresh).rowcount == 1
        again = {**params, "fid": claimed.id, "ver": claimed.version}
        assert conn.execute(fr_repo.WRITE_FRAME, again).rowcount == 0
    assert execution.status == "RUNNING"


def test_claim_respects_leases(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", PASS)
    service.start_execution("m", {}, name="e")
    now = now_micros()
    pg = service.db.is_postgres
    with service.db.write() as conn:
        assert len(fr_repo.claim(conn, "w1", now, now + 10**7, 10, pg)) == 1
    with service.db.write() as conn:
        assert fr_repo.claim(conn, "w2", now + 1, now + 10**7, 10, pg) == []
        # after the lease expires another worker may take the frame
        assert len(fr_repo.claim(conn, "w2", now + 10**7 + 1, now + 10**8, 10, pg)) == 1
    with service.db.write() as conn:
        assert fr_repo.renew_leases(conn, "w1", now + 10**9, pg) == set()
        assert len(fr_repo.renew_leases(conn, "w2", now + 10**9, pg)) == 1


def test_list_executions_filters_and_pages(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("a", WAIT)
    service.register_state_machine("b", WAIT)
    for i in range(5):
        service.start_execution("a", {}, name=f"a{i}")
    service.start_execution("b", {}, name="b0")
    stopped = service.stop_execution(service.start_execution("b", {}, name="b1").execution_id)
    assert stopped.status == "ABORTED"

    names: list[str] = []
    cursor = None
    while True:
        page = service.list_executions(state_machine="a", cursor=cursor, limit=2)
        names += [e.name for e in page.executions]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(names) == [f"a{i}" for i in range(5)] and len(names) == 5
    assert [e.name for e in service.list_executions(status="ABORTED").executions] == ["b1"]
    assert len(service.list_executions().executions) == 7
    future = datetime.now(UTC) + timedelta(hours=1)
    assert service.list_executions(started_after=future).executions == []
    assert len(service.list_executions(started_before=future).executions) == 7
    with pytest.raises(InvalidRequest):
        service.list_executions(cursor="!!not-a-cursor")


def test_history_pages(db_url: str) -> None:
    service = Service(db_url)
    service.register_state_machine("m", WAIT)
    execution = service.start_execution("m", {}, name="e")
    rows = [
        ex_repo.history_row(execution.execution_id, i, "Custom", 0, None, {"i": i})
        for i in range(2, 12)
    ]
    with service.db.write() as conn:
        ex_repo.append_history(conn, rows)
    ids: list[int] = []
    cursor = None
    while True:
        page = service.get_history(execution.execution_id, cursor=cursor, limit=3)
        ids += [e.id for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids == list(range(1, 12))
    newest = service.get_history(execution.execution_id, limit=2, reverse=True)
    assert [e.id for e in newest.events] == [11, 10]
    with pytest.raises(NotFound):
        service.get_history("nope")


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    safe = Database(f"sqlite:///{tmp_path / 'a.db'}")
    fast = Database(f"sqlite:///{tmp_path / 'b.db'}?synchronous=NORMAL")
    with safe.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    with fast.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    with pytest.raises(ValueError):
        Database(f"sqlite:///{tmp_path / 'c.db'}?synchronous=SOMETIMES")
    with pytest.raises(ValueError):
        Database("sqlite://")


def test_opening_a_migrated_database_again_is_cheap(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Database(url).dispose()
    started = time.perf_counter()
    db = Database(url + "?busy_timeout=1000")
    assert current_revision(db) == HEAD_REVISION
    assert time.perf_counter() - started < 30  # sanity only; never a timing assertion
