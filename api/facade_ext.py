"""Facade calls the REST API needs and :class:`statemachine.service.Service` does not have
(yet): reading, listing and deleting state machines, knowing whether a start created the
execution, and the cheap counts behind ``/readyz`` and ``/metrics``.

They are written against the service's database with the store's tables, the way the
facade itself is, so that they can move into :mod:`statemachine.service` unchanged. Each
returns plain dataclasses, never table rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, text, update

from statemachine.errors import NotFound
from statemachine.store import executions as ex_repo
from statemachine.store.db import from_micros, now_micros
from statemachine.store.tables import definition_versions, executions, frames, state_machines

if TYPE_CHECKING:
    from statemachine.model import StateMachine
    from statemachine.service import Service

JSON = Any


@dataclass(frozen=True, slots=True)
class StateMachineInfo:
    name: str
    version: str
    latest_version: str
    created_at: datetime
    updated_at: datetime
    definition: JSON = None


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: str
    created_at: datetime


def _dt(value: int) -> datetime:
    result = from_micros(value)
    assert result is not None
    return result


def state_machine_exists(service: Service, name: str) -> bool:
    with service.db.read() as conn:
        return ex_repo.get_state_machine(conn, name) is not None


def list_state_machines(
    service: Service, *, after: str | None = None, limit: int = 100
) -> tuple[list[StateMachineInfo], str | None]:
    """By name; ``after`` is the last name of the previous page."""
    stmt = select(state_machines).where(~state_machines.c.deleted)
    if after:
        stmt = stmt.where(state_machines.c.name > after)
    stmt = stmt.order_by(state_machines.c.name).limit(limit + 1)
    with service.db.read() as conn:
        rows = list(conn.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        StateMachineInfo(
            name=r.name,
            version=r.latest_version,
            latest_version=r.latest_version,
            created_at=_dt(r.created_at),
            updated_at=_dt(r.updated_at),
        )
        for r in rows
    ]
    return items, (rows[-1].name if more else None)


def _version_belongs(conn: Any, name: str, row: Any, version: str) -> bool:
    """A version belongs to ``name`` when it is its latest, was first stored under it, or
    an execution of ``name`` is pinned to it."""
    if row.latest_version == version:
        return True
    owner = conn.execute(
        select(definition_versions.c.name).where(definition_versions.c.hash == version)
    ).scalar()
    if owner is None:
        return False
    if owner == name:
        return True
    pinned = conn.execute(
        select(executions.c.id)
        .where(executions.c.state_machine == name, executions.c.version == version)
        .limit(1)
    ).first()
    return pinned is not None


def get_state_machine(service: Service, name: str, version: str | None = None) -> StateMachineInfo:
    """The latest version of ``name``, or the given one; raises NotFound."""
    with service.db.read() as conn:
        row = ex_repo.get_state_machine(conn, name)
        if row is None:
            raise NotFound(f"State machine does not exist: '{name}'")
        wanted = version or row.latest_version
        if version is not None and not _version_belongs(conn, name, row, version):
            raise NotFound(f"State machine '{name}' has no version {version}")
        definition = ex_repo.get_definition(conn, wanted)
        created = conn.execute(
            select(definition_versions.c.created_at).where(definition_versions.c.hash == wanted)
        ).scalar()
    if definition is None:  # pragma: no cover - versions are never deleted
        raise NotFound(f"State machine '{name}' has no version {wanted}")
    return StateMachineInfo(
        name=name,
        version=wanted,
        latest_version=row.latest_version,
        created_at=_dt(created or row.created_at),
        updated_at=_dt(row.updated_at),
        definition=definition,
    )


def list_versions(service: Service, name: str) -> list[VersionInfo]:
    """Versions stored under ``name`` (and any other its executions are pinned to), newest
    first."""
    with service.db.read() as conn:
        row = ex_repo.get_state_machine(conn, name)
        if row is None:
            raise NotFound(f"State machine does not exist: '{name}'")
        pinned = select(executions.c.version).where(executions.c.state_machine == name)
        rows = conn.execute(
            select(definition_versions.c.hash, definition_versions.c.created_at)
            .where(
                or_(
                    definition_versions.c.name == name,
                    definition_versions.c.hash == row.latest_version,
                    definition_versions.c.hash.in_(pinned),
                )
            )
            .order_by(definition_versions.c.created_at.desc(), definition_versions.c.hash)
        )
        return [VersionInfo(version=r.hash, created_at=_dt(r.created_at)) for r in rows]


def delete_state_machine(service: Service, name: str) -> None:
    """Hide ``name``: no new executions start; running ones finish on their pinned version,
    and registering the name again brings it back."""
    with service.db.write() as conn:
        result = conn.execute(
            update(state_machines)
            .where(state_machines.c.name == name, ~state_machines.c.deleted)
            .values(deleted=True, updated_at=now_micros())
        )
        if result.rowcount == 0:
            raise NotFound(f"State machine does not exist: '{name}'")


def machine_of(service: Service, name: str, version: str | None = None) -> StateMachine:
    """The parsed machine of a version, for the graph."""
    from statemachine.model.build import build

    info = get_state_machine(service, name, version)
    return build(info.definition)


def ping(service: Service) -> None:
    """One round trip to the database; raises whatever the driver raises."""
    with service.db.read() as conn:
        conn.execute(text("SELECT 1")).scalar()


def execution_counts(service: Service) -> dict[str, int]:
    """Executions by status, across every process sharing the database."""
    with service.db.read() as conn:
        rows = conn.execute(
            select(executions.c.status, func.count()).group_by(executions.c.status)
        ).all()
    return {status: count for status, count in rows}


def queue_depth(service: Service) -> int:
    """Frames due to run now that no worker holds: the work waiting for a worker."""
    now = now_micros()
    with service.db.read() as conn:
        return conn.execute(
            select(func.count())
            .select_from(frames)
            .where(
                frames.c.status == "RUNNABLE",
                frames.c.run_at <= now,
                or_(frames.c.lease_owner.is_(None), frames.c.lease_expires < now),
            )
        ).scalar_one()
