"""``create_app(service, settings)``: the REST API, the web page and the metrics, as one
FastAPI application over a :class:`~statemachine.service.Service`.

The app never starts workers. ``statemachine serve`` starts one next to it and passes it
in (``worker=``), so that waiters wake on its commits and ``/metrics`` reports it; tests do
the same, or run without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.metrics import Metrics
from api.models import StateMachineUpdate, ValidateRequest
from api.notify import Notifier
from api.openapi import build_openapi
from api.routers import (
    activities,
    console,
    events,
    executions,
    health,
    pages,
    state_machines,
    tasks,
    validation,
)
from api.security import BodyLimitMiddleware, require_token
from api.settings import Settings
from statemachine import __version__
from statemachine.observability.context import TraceContextMiddleware

if TYPE_CHECKING:
    from statemachine.engine.worker import Worker
    from statemachine.service import Service

DESCRIPTION = """\
Start and watch Amazon States Language workflows over HTTP.

Errors are `application/problem+json` with a stable `type`
(`urn:statemachine:problem:<slug>`); definition errors list every problem with its line
and column. When the server has API tokens, send `Authorization: Bearer <token>`.
"""

TAGS = [
    {"name": "state machines", "description": "Definitions, versions, validation, graphs"},
    {"name": "executions", "description": "Start, watch, stop and redrive executions"},
    {"name": "tasks", "description": "Answer callback and activity tasks by token"},
    {"name": "activities", "description": "External workers polling for activity tasks"},
    {"name": "operations", "description": "Health, readiness and metrics"},
    {"name": "console", "description": "Reads for the web console"},
]


def create_app(
    service: Service, settings: Settings | None = None, *, worker: Worker | None = None
) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="statemachine",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.notifier = Notifier()
    app.state.metrics = Metrics()
    if worker is not None:
        attach_worker(app, worker)

    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(TraceContextMiddleware)  # W3C traceparent -> the execution's trace
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
            expose_headers=["Location"],
        )

    protected = [Depends(require_token)]
    for module in (state_machines, validation, executions, events, tasks, activities, console):
        app.include_router(module.router, dependencies=protected)
    app.include_router(health.router)
    app.include_router(pages.router)
    if settings.static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")

    extra_models = [StateMachineUpdate, ValidateRequest]
    app.openapi = lambda: build_openapi(app, extra_models)  # type: ignore[method-assign]
    return app


def attach_worker(app: FastAPI, worker: Worker) -> None:
    """Wake the app's waiters on ``worker``'s commits and report it in ``/metrics``
    (keeping any ``on_commit`` hook the worker already had)."""
    notifier: Notifier = app.state.notifier
    metrics: Metrics = app.state.metrics
    metrics.attach_worker(worker)
    previous = worker.on_commit

    def on_commit(w: Worker, outcomes: list) -> None:  # type: ignore[type-arg]
        if previous is not None:
            previous(w, outcomes)
        metrics.on_commit(w, outcomes)
        notifier.on_commit(w, outcomes)

    worker.on_commit = on_commit
