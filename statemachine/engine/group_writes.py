"""The Map and Parallel side of a transition batch: spawning child frames (beyond
MaxConcurrency as PENDING rows), a child's finish moving its parent's counters, releasing
a pending sibling or waking the parent, and the results a redrive keeps.

:class:`GroupWrites` is a mixin of :class:`~statemachine.engine.commit.BatchWriter`, whose
transaction, history recording and outcomes it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from statemachine.engine.held import Held, Outcome, held_from_row, inbox_event
from statemachine.interpreter import Finish, Frame, SpawnChildren, tolerance_exceeded
from statemachine.store import frames as fr_repo
from statemachine.store.jsontext import dumps, loads

if TYPE_CHECKING:
    from statemachine.engine.context import ExecutionContext

JSON = Any
ENTER_INBOX = dumps({"k": "enter"})


class GroupWrites:
    """Map/Parallel writes of a batch (needs the attributes of ``BatchWriter``)."""

    __slots__ = ()
    conn: Connection
    now: int
    owner: str
    lease_until: int
    capacity: int
    runnable_created: bool
    outcomes: list[Outcome]

    def record(self, state: list, execution_id: str, frame_id: int | None, events: Any) -> None:
        raise NotImplementedError  # pragma: no cover - BatchWriter's

    def write(self, stmt: Any, held: Held, params: dict[str, JSON]) -> None:
        raise NotImplementedError  # pragma: no cover - BatchWriter's

    def done(
        self, kind: str, held: Held, frame: Frame | None, inbox: Any = None, **extra: Any
    ) -> None:
        raise NotImplementedError  # pragma: no cover - BatchWriter's

    def spawn(
        self,
        ctx: ExecutionContext,
        state: list,
        held: Held,
        frame: Frame,
        snapshot: str,
        effect: SpawnChildren,
    ) -> None:
        previous = held.group_spec or {}
        generation = int(previous.get("gen", 0)) + 1
        total = len(effect.children)
        limit = effect.max_concurrency or total
        spec = {
            "gen": generation,
            "kind": effect.kind,
            "name": frame.state,
            "max": effect.max_concurrency,
            "tc": effect.tolerated_count,
            "tp": effect.tolerated_percentage,
            "entered": frame.entered_event_id,
            "total": total,
        }
        reused = reusable_results(self.conn, frame.state, previous, total)
        variables = dict(effect.variables)
        rows = []
        started_events = []
        done = 0
        for child in effect.children:
            start_at = ctx.machine.scopes[child.scope].start_at
            snap = Frame(scope=child.scope, state=start_at, input=child.input, variables=variables)
            row = {
                "execution_id": held.execution_id,
                "parent_id": held.id,
                "generation": generation,
                "group_index": child.index,
                "scope": child.scope,
                "status": "PENDING",
                "snapshot": dumps(snap.to_json()),
                "inbox": ENTER_INBOX,
                "run_at": None,
                "lease_owner": None,
                "lease_expires": None,
                "version": 0,
                "result": None,
                "group_spec": None,
                "child_total": 0,
                "child_started": 0,
                "child_done": 0,
                "child_failed": 0,
            }
            if child.index in reused:
                row.update(status="DONE", inbox=None, result=reused[child.index])
                done += 1
            rows.append(row)
        started = done
        for row in rows:
            if row["status"] == "PENDING" and started - done < limit:
                row["status"] = "RUNNABLE"
                row["run_at"] = self.now
                started += 1
                if effect.kind == "map":
                    started_events.append(
                        ("MapIterationStarted", {"index": row["group_index"], "name": spec["name"]})
                    )
        # PENDING rows are released in index order: keep the started ones a prefix.
        self.conn.execute(fr_repo.INSERT_FRAME, rows)
        self.record(state, held.execution_id, held.id, started_events)
        params = {
            "b_snapshot": snapshot,
            "b_spec": dumps(spec),
            "b_total": total,
            "b_started": started,
            "b_done": done,
        }
        self.write(fr_repo.WRITE_FRAME_GROUP, held, params)
        self.done("release", held, frame, group_spec=spec)
        self.runnable_created = True
        if total and done == total:
            # Every child was reused from before a redrive: wake the parent at once.
            self.wake_parent(held.id, {"k": "children", "ok": True}, started, done, 0)

    def child_results(self, held: Held) -> list[JSON]:
        spec = held.group_spec or {}
        out: list[JSON] = []
        for row in fr_repo.child_results(self.conn, held.id, int(spec.get("gen", 0))):
            result = loads(row.result) if row.result else {"ok": False, "error": None}
            if result.get("ok"):
                out.append(result.get("output"))
            else:
                value = {"Error": result.get("error")}
                if result.get("cause") is not None:
                    value["Cause"] = result["cause"]
                out.append(value)
        return out

    def child_finished(self, state: list, held: Held, ok: bool, effect: Finish) -> None:
        parent_id = held.parent_id
        assert parent_id is not None
        group = fr_repo.group_of(self.conn, parent_id)
        if group is None or group.status != "CHILDREN" or not group.group_spec:
            return
        spec = loads(group.group_spec)
        if spec["gen"] != held.generation:
            return
        total, started = group.child_total, group.child_started
        done, failed = group.child_done + 1, group.child_failed + (0 if ok else 1)
        name = spec["name"]
        is_map = spec["kind"] == "map"
        if is_map:
            kind = "MapIterationSucceeded" if ok else "MapIterationFailed"
            self.record(
                state,
                held.execution_id,
                parent_id,
                [(kind, {"index": held.group_index, "name": name})],
            )
        if not ok and (
            not is_map or tolerance_exceeded(failed, total, spec.get("tc"), spec.get("tp"))
        ):
            error, cause = effect.error or "States.TaskFailed", effect.cause
            if is_map and (spec.get("tc") is not None or spec.get("tp") is not None):
                error = "States.ExceedToleratedFailureThreshold"
                cause = "The specified tolerated failure threshold was exceeded"
            fr_repo.cancel_subtree(self.conn, parent_id, held.generation)
            inbox = {"k": "children", "ok": False, "error": error, "cause": cause}
            self.wake_parent(parent_id, inbox, started, done, failed)
            return
        if done >= total:
            self.wake_parent(parent_id, {"k": "children", "ok": True}, started, done, failed)
            return
        limit = spec.get("max") or total
        while started < total and started - done < limit:
            index = started
            started += 1
            if fr_repo.release_child(self.conn, parent_id, held.generation, index, self.now):
                self.runnable_created = True
                if is_map:
                    self.record(
                        state,
                        held.execution_id,
                        parent_id,
                        [("MapIterationStarted", {"index": index, "name": name})],
                    )
        fr_repo.set_counters(self.conn, parent_id, started, done, failed)

    def wake_parent(
        self, parent_id: int, inbox: dict[str, JSON], started: int, done: int, failed: int
    ) -> None:
        take = self.capacity > 0
        params = {
            "b_inbox": dumps(inbox),
            "now": self.now,
            "b_owner": self.owner if take else None,
            "b_expires": self.lease_until if take else None,
            "b_started": started,
            "b_done": done,
            "b_failed": failed,
        }
        row = fr_repo.resume_parent(self.conn, parent_id, params)
        if not take:
            self.runnable_created = True
            return
        self.capacity -= 1
        parent = held_from_row(row)
        event = inbox_event(parent.inbox)
        self.outcomes.append(Outcome("resumed", parent, event=event))


def reusable_results(
    conn: Connection, state_name: str, previous: dict[str, JSON], total: int
) -> dict[int, str]:
    """After a redrive, a Map/Parallel state re-entered at the state that failed keeps the
    results of the children that succeeded before (only failed children run again)."""
    reuse = previous.get("reuse")
    if (
        not reuse
        or previous.get("name") != state_name
        or previous.get("total")
        not in (
            None,
            total,
        )
    ):
        return {}
    rows = fr_repo.child_results(conn, int(reuse["parent"]), int(reuse["gen"]))
    out: dict[int, str] = {}
    for row in rows:
        if row.result and loads(row.result).get("ok") and row.group_index < total:
            out[row.group_index] = row.result
    return out
