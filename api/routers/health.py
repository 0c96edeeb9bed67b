"""`/healthz` (the process answers), `/readyz` (the database answers) and `/metrics`."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Response
from fastapi.responses import PlainTextResponse

from api import facade_ext
from api.deps import MetricsDep, ServiceDep
from api.errors import problem_response
from api.metrics import CONTENT_TYPE
from api.models import Health, Readiness
from api.openapi import errors
from api.security import require_token

router = APIRouter(tags=["operations"])
log = logging.getLogger("statemachine.api")


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers",
    responses=errors(503),
)
def readyz(service: ServiceDep) -> Readiness | Response:
    try:
        facade_ext.ping(service)
    except Exception as exc:  # any driver error means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return problem_response(503, "unavailable", "The database does not answer")
    return Readiness(database=service.db.dialect)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (text format 0.0.4)",
    dependencies=[Depends(require_token)],
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(service: ServiceDep, collected: MetricsDep) -> PlainTextResponse:
    return PlainTextResponse(collected.render(service), media_type=CONTENT_TYPE)
