"""`/v1/state-machines`: register (each change is a new immutable version), list, read,
delete, and draw state machines."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api import definitions, facade_ext
from api.deps import ServiceDep, SettingsDep
from api.models import (
    NAME_PATTERN,
    GraphPublic,
    StateMachineCreate,
    StateMachineList,
    StateMachinePublic,
    StateMachineRegistered,
    StateMachineSummary,
    StateMachineUpdate,
    VersionList,
    VersionPublic,
)
from api.openapi import errors
from api.routers._body import definition_body_openapi, definition_from_body
from api.settings import Settings
from statemachine.service import Service

router = APIRouter(prefix="/v1/state-machines", tags=["state machines"])

MachineName = Annotated[str, Path(description="the state machine's name")]
VersionQuery = Annotated[
    str | None, Query(description="a version hash; the latest version when left out")
]


def _location(name: str) -> str:
    return f"/v1/state-machines/{quote(name, safe='')}"


def _register(
    service: Service, settings: Settings, name: str, source: object
) -> tuple[StateMachineRegistered, bool]:
    definition = definitions.checked(source, settings)  # type: ignore[arg-type]
    existed = facade_ext.state_machine_exists(service, name)
    version = service.register_state_machine(name, definition)
    body = StateMachineRegistered(
        name=version.name, version=version.version, new_version=version.created
    )
    return body, not existed


@router.post(
    "",
    status_code=201,
    response_model=StateMachineRegistered,
    summary="Register a state machine, or a new version of one",
    responses={
        200: {"model": StateMachineRegistered, "description": "a new version of an existing one"},
        **errors(400, 413),
    },
)
def create_state_machine(
    body: StateMachineCreate, response: Response, service: ServiceDep, settings: SettingsDep
) -> StateMachineRegistered:
    """Validate the definition and store it as the latest version of `name`: 201 when the
    name is new, 200 when it adds a version to an existing state machine (or the same
    definition again). Running executions keep the version they started with."""
    result, created = _register(service, settings, body.name, body.definition)
    response.status_code = 201 if created else 200
    response.headers["Location"] = _location(body.name)
    return result


@router.put(
    "/{name}",
    response_model=StateMachineRegistered,
    summary="Store a new version of a state machine (YAML or JSON body)",
    openapi_extra=definition_body_openapi(StateMachineUpdate),
    responses={
        201: {"model": StateMachineRegistered, "description": "the state machine was created"},
        **errors(400, 413, 415, 422),
    },
)
async def put_state_machine(
    name: Annotated[str, Path(pattern=NAME_PATTERN)],
    request: Request,
    response: Response,
    service: ServiceDep,
    settings: SettingsDep,
) -> StateMachineRegistered:
    """The body is `{"definition": ...}` as JSON, or the definition file itself with
    `Content-Type: application/yaml`."""
    source = await definition_from_body(request, StateMachineUpdate)
    result, created = await run_in_threadpool(_register, service, settings, name, source)
    response.status_code = 201 if created else 200
    response.headers["Location"] = _location(name)
    return result


@router.get("", response_model=StateMachineList, summary="List state machines")
def list_state_machines(
    service: ServiceDep,
    cursor: Annotated[str | None, Query(description="nextCursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> StateMachineList:
    items, next_cursor = facade_ext.list_state_machines(service, after=cursor, limit=limit)
    return StateMachineList(
        state_machines=[
            StateMachineSummary(
                name=i.name,
                latest_version=i.latest_version,
                created_at=i.created_at,
                updated_at=i.updated_at,
            )
            for i in items
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/{name}",
    response_model=StateMachinePublic,
    summary="Read a state machine (its latest or a given version)",
    responses=errors(404),
)
def get_state_machine(
    name: MachineName, service: ServiceDep, version: VersionQuery = None
) -> StateMachinePublic:
    info = facade_ext.get_state_machine(service, name, version)
    return StateMachinePublic(
        name=info.name,
        version=info.version,
        latest_version=info.latest_version,
        created_at=info.created_at,
        updated_at=info.updated_at,
        definition=info.definition,
    )


@router.get(
    "/{name}/versions",
    response_model=VersionList,
    summary="List the versions of a state machine, newest first",
    responses=errors(404),
)
def list_versions(name: MachineName, service: ServiceDep) -> VersionList:
    versions = facade_ext.list_versions(service, name)
    return VersionList(
        versions=[VersionPublic(version=v.version, created_at=v.created_at) for v in versions]
    )


@router.delete(
    "/{name}",
    status_code=204,
    response_class=Response,
    summary="Delete a state machine",
    responses=errors(404),
)
def delete_state_machine(name: MachineName, service: ServiceDep) -> Response:
    """No new executions can start; running ones finish on the version they pinned.
    Registering the name again brings it back."""
    facade_ext.delete_state_machine(service, name)
    return Response(status_code=204)


GRAPH_MEDIA_TYPES = {
    "mermaid": "text/vnd.mermaid; charset=utf-8",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "svg": "image/svg+xml",
}


@router.get(
    "/{name}/graph",
    response_model=GraphPublic,
    summary="The state machine as a graph: JSON nodes and edges, Mermaid, DOT or SVG",
    responses={
        200: {
            "description": "JSON by default; text for format=mermaid|dot|svg",
            "content": {
                "text/vnd.mermaid": {"schema": {"type": "string"}},
                "text/vnd.graphviz": {"schema": {"type": "string"}},
                "image/svg+xml": {"schema": {"type": "string"}},
            },
        },
        **errors(404, 501),
    },
)
def get_graph(
    name: MachineName,
    service: ServiceDep,
    version: VersionQuery = None,
    format: Annotated[Literal["json", "mermaid", "dot", "svg"], Query()] = "json",
) -> GraphPublic | Response:
    try:
        from statemachine import graph
    except ImportError:  # pragma: no cover - the graph package is optional in a build
        from fastapi import HTTPException

        raise HTTPException(status_code=501, detail="graph export is not available") from None
    machine = facade_ext.machine_of(service, name, version)
    drawn = graph.graph_of(machine)
    if format == "json":
        return GraphPublic.model_validate(drawn.to_dict())
    render = {"mermaid": graph.to_mermaid, "dot": graph.to_dot, "svg": graph.to_svg}[format]
    return Response(render(drawn), media_type=GRAPH_MEDIA_TYPES[format])
