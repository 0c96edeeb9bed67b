"""The OpenAPI document, made to say exactly what the API answers.

Routes list the errors they can return with :func:`errors`; :func:`build_openapi` then
gives every 4xx/5xx response the ``application/problem+json`` body it really has (FastAPI
would document JSON, and its own 422 shape), adds 401 to every route that needs a token,
413 to every route with a body, and 500 and 503
(database unavailable) everywhere, and registers the schemas of bodies
that routes read themselves (YAML or JSON definitions).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.models import DefinitionProblem, ProblemDetails

ERROR_DESCRIPTIONS = {
    400: "Invalid request or definition (see `problems` for definition errors)",
    401: "Missing or invalid bearer token",
    404: "No such state machine, version, execution or task",
    409: "Conflict: an execution with this name exists with another input, or is closed",
    413: "A body, definition, input or task result is over its size limit",
    415: "Unsupported content type",
    422: "The request does not match its schema (see `errors`)",
    500: "Internal error (details are in the server log only)",
    501: "Not available in this server",
    503: "The database is unavailable or busy (retry after a moment)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses; their bodies are filled in later."""
    return {
        code: {"description": ERROR_DESCRIPTIONS.get(code, HTTPStatus(code).phrase)}
        for code in codes
    }


def _problem_content() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def _add_models(schemas: dict[str, Any], models: list[type[BaseModel]]) -> None:
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas.setdefault(model.__name__, schema)


def build_openapi(app: FastAPI, extra_models: list[type[BaseModel]]) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    _add_models(schemas, [ProblemDetails, DefinitionProblem, *extra_models])
    for ops in schema.get("paths", {}).values():
        for method, op in ops.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            responses = op.setdefault("responses", {})
            if op.get("security"):
                responses.setdefault("401", {"description": ERROR_DESCRIPTIONS[401]})
            if "requestBody" in op:
                responses.setdefault("413", {"description": ERROR_DESCRIPTIONS[413]})
                responses.setdefault("422", {"description": ERROR_DESCRIPTIONS[422]})
            responses.setdefault("500", {"description": ERROR_DESCRIPTIONS[500]})
            responses.setdefault("503", {"description": ERROR_DESCRIPTIONS[503]})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = _problem_content()
                    if code == "422":
                        response["description"] = ERROR_DESCRIPTIONS[422]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema
