"""Request bodies that may be JSON or raw YAML/JSON definition text.

`PUT /v1/state-machines/{name}` and `POST /v1/validate` accept either a JSON object
(`{"definition": ...}`) or the definition file itself with a YAML content type, so that
`curl --data-binary @flow.asl.yaml -H 'Content-Type: application/yaml'` works. FastAPI
cannot declare two body types for one route, so these routes read the body here and
describe it to OpenAPI with :func:`definition_body_openapi`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

YAML_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}
)


async def definition_from_body(request: Request, model: type[BaseModel]) -> Any:
    """The `definition` of a JSON body validated by `model`, or the raw text (bytes)
    of a YAML body."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";")[0].strip().lower()
    body = await request.body()
    if media in YAML_TYPES:
        return body
    if media != "application/json" and not media.endswith("+json"):
        raise HTTPException(
            status_code=415,
            detail=f"Unsupported content type {media!r}: send application/json or application/yaml",
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": f"invalid JSON: {exc}"}]
        ) from None
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None
    return parsed.definition  # type: ignore[attr-defined]


def definition_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route reading its body with :func:`definition_from_body`."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    text = {"type": "string", "description": "the definition file itself (YAML or JSON)"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": ref},
                "application/yaml": {"schema": text},
            },
        }
    }
