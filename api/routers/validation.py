"""`POST /v1/validate`: check a definition without storing it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api import definitions
from api.deps import SettingsDep
from api.errors import problem_json
from api.models import DefinitionProblem, ValidateRequest, ValidationResult
from api.openapi import errors
from api.routers._body import definition_body_openapi, definition_from_body

router = APIRouter(prefix="/v1", tags=["state machines"])


@router.post(
    "/validate",
    response_model=ValidationResult,
    summary="Validate a definition without saving it",
    openapi_extra=definition_body_openapi(ValidateRequest),
    responses=errors(413, 415, 422),
)
async def validate_definition(request: Request, settings: SettingsDep) -> ValidationResult:
    """Every problem (errors and warnings) with its rule id, JSON path, line and column, as
    `statemachine validate --format json` reports them. An invalid definition is still a
    200: the answer is the list of problems. Definitions that name `python:` resources
    outside the allowed packages get a `resource-allowed` problem, since the server
    would refuse to register them."""
    source = await definition_from_body(request, ValidateRequest)
    problems = await run_in_threadpool(definitions.problems_of, source, settings)
    return ValidationResult(
        valid=not any(p.severity == "error" for p in problems),
        problems=[DefinitionProblem.model_validate(problem_json(p)) for p in problems],
    )
