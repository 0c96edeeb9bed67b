"""What a worker needs to advance an execution's frames: the parsed machine of the pinned
definition version, the Context-object facts, the secret seed. Loaded once per execution
and cached; definitions are cached by version hash (they never change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from statemachine.expressions.timestamps import format_timestamp
from statemachine.interpreter import ExecutionInfo
from statemachine.model import StateMachine
from statemachine.store import executions as ex_repo
from statemachine.store.db import from_micros
from statemachine.store.jsontext import loads

ACCOUNT_PREFIX = "arn:aws:states:local:000000000000"


def execution_arn(state_machine: str, name: str) -> str:
    return f"{ACCOUNT_PREFIX}:execution:{state_machine}:{name}"


def state_machine_arn(state_machine: str) -> str:
    return f"{ACCOUNT_PREFIX}:stateMachine:{state_machine}"


@dataclass(slots=True)
class ExecutionContext:
    id: str
    machine: StateMachine
    info: ExecutionInfo
    seed: int
    payload_limit: int | None
    redrive_count: int


class Contexts:
    """A cache of :class:`ExecutionContext` by execution id."""

    def __init__(self) -> None:
        self._machines: dict[str, StateMachine] = {}
        self._executions: dict[str, ExecutionContext] = {}

    def machine(self, conn: Connection, digest: str) -> StateMachine:
        machine = self._machines.get(digest)
        if machine is None:
            from statemachine.model.build import build

            definition = ex_repo.get_definition(conn, digest)
            if definition is None:
                raise LookupError(f"no definition version {digest!r}")
            machine = build(definition)
            self._machines[digest] = machine
        return machine

    def get(
        self, conn: Connection, execution_id: str, redrive_count: int | None = None
    ) -> ExecutionContext | None:
        ctx = self._executions.get(execution_id)
        if ctx is not None and (redrive_count is None or ctx.redrive_count == redrive_count):
            return ctx
        row = ex_repo.get_execution(conn, execution_id)
        if row is None:
            return None
        start = from_micros(row.start_date)
        assert start is not None
        redrive = from_micros(row.redrive_date)
        info = ExecutionInfo(
            execution_id=row.id,
            name=row.name,
            state_machine_id=state_machine_arn(row.state_machine),
            state_machine_name=row.state_machine,
            start_time=format_timestamp(start),
            input=loads(row.input),
            redrive_count=row.redrive_count,
            redrive_time=None if redrive is None else format_timestamp(redrive),
        )
        ctx = ExecutionContext(
            id=row.id,
            machine=self.machine(conn, row.version),
            info=info,
            seed=row.seed,
            payload_limit=row.payload_limit,
            redrive_count=row.redrive_count,
        )
        if len(self._executions) >= 10_000:  # finished elsewhere, never forgotten here
            self._executions.clear()
        self._executions[execution_id] = ctx
        return ctx

    def cached(self, execution_id: str) -> ExecutionContext | None:
        return self._executions.get(execution_id)

    def forget(self, execution_id: str) -> None:
        self._executions.pop(execution_id, None)

    def __len__(self) -> int:
        return len(self._executions)


def json_or_none(text: str | None) -> Any:
    return None if text is None else loads(text)
