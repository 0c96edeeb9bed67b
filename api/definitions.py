"""Definitions received over REST: size, parsing, validation and the resource policy.

A definition arrives as YAML/JSON text or as a JSON object. Text is parsed from bytes, never
handed to the library as a ``str``: the library reads a one-line string ending in ``.yaml``
as a *file path*, and a client must never make the server read its own files.

The validator is given the server's :class:`Settings.resource_policy`, so a definition
submitted over REST may only name ``python:`` resources inside the packages the operator
allowed; a problem with rule ``resource-allowed`` says which one, with its line and column.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from api.security import json_depth, json_size
from api.settings import Settings
from statemachine.definition import problems_for, read_document
from statemachine.errors import DefinitionError, LoadError, PayloadTooLarge
from statemachine.loader import MAX_DEPTH, Document, load_text
from statemachine.validation.problem import Problem

JSON = Any


Source = str | bytes | dict[str, JSON]


def parse(source: Source, settings: Settings) -> Document:
    """Raises PayloadTooLarge or LoadError."""
    limit = settings.max_definition_bytes
    if isinstance(source, (str, bytes)):
        data = source.encode() if isinstance(source, str) else source
        if len(data) > limit:
            raise PayloadTooLarge(
                f"the definition is {len(data)} bytes; the limit is {limit} bytes"
            )
        return load_text(data, max_bytes=limit)
    if json_depth(source) > MAX_DEPTH:
        raise LoadError(f"lists/objects nest more than {MAX_DEPTH} levels", rule="too-deep")
    try:
        size = json_size(source)
    except ValueError:
        raise LoadError("NaN and Infinity are not JSON numbers", rule="not-json") from None
    if size > limit:
        raise PayloadTooLarge(f"the definition is {size} bytes of JSON; the limit is {limit} bytes")
    return read_document(source)


def problems_of(source: Source, settings: Settings) -> list[Problem]:
    """Every problem (errors and warnings), as ``statemachine validate`` reports them."""
    try:
        doc = parse(source, settings)
    except LoadError as exc:
        return [Problem(exc.rule, exc.message, (), None, exc.line, exc.column)]
    problems = problems_for(doc, settings.resource_policy)
    return [replace(p, file=None) for p in problems]


def checked(source: Source, settings: Settings) -> dict[str, JSON]:
    """The definition as a JSON object, or DefinitionError with every error."""
    try:
        doc = parse(source, settings)
    except LoadError as exc:
        raise DefinitionError(
            [Problem(exc.rule, exc.message, (), None, exc.line, exc.column)]
        ) from None
    problems = problems_for(doc, settings.resource_policy)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    return doc.value
