"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis):
for generated requests, valid and invalid, no answer is a 5xx and every answer matches the
status codes, content types, headers and schemas the document declares.

Bounded to stay fast: a few examples per operation (about 100 in all), on SQLite only
(the database is not what is under test here), with a short cap on ``?wait=``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_helpers import make_registry
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import Settings, create_app
from statemachine.service import Service
from statemachine.store.testing import database_url

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    for url in database_url("sqlite", directory):
        service = Service(url)
        worker = service.worker(registry=make_registry(), poll_interval=0.05)
        thread = worker.start_thread()
        service.register_state_machine(
            "fuzz", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
        )
        try:
            yield create_app(service, Settings(max_wait_seconds=0.5), worker=worker)
        finally:
            worker.stop()
            thread.join(30)
            service.close()


#: Examples per operation and generation mode: ~20 operations x (3 + 2) = ~100 requests.
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}


def test_api_conforms_to_its_openapi_document(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    document = fuzz_app.openapi()

    def declared(operation: Any) -> dict[str, Any]:
        return document["paths"][operation.path][operation.method.lower()]["responses"]

    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        responses = declared(operation)
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                response = case.call()
                # No 5xx, except a 501 that the document declares (a feature this build
                # lacks, e.g. activities without engine support).
                allowed = response.status_code == 501 and "501" in responses  # noqa: B023
                assert response.status_code < 500 or allowed, (
                    f"{response.status_code} from {case.method} {case.formatted_path}: "
                    f"{response.text[:500]}"
                )
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # no invalid request exists (an operation without inputs)
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collect them all, then report
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
