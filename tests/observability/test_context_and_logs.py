"""The trace context of the REST request that starts an execution becomes its parent;
logs are JSON lines with the execution's fields; nothing is imported when tracing is
off."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient
from otel_helpers import Telemetry, by_name

from api import Settings, create_app
from statemachine import observability
from statemachine.clock import VirtualClock
from statemachine.handlers.registry import TaskContext, ToolRegistry
from statemachine.model.build import build
from statemachine.observability.logging import JsonFormatter, configure_logging
from statemachine.runner import Runner
from statemachine.service import Service

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ONE_TASK = {
    "StartAt": "Say",
    "States": {"Say": {"Type": "Task", "Resource": "tool:say", "End": True}},
}


def test_traceparent_of_the_start_request_is_the_parent(
    telemetry: Telemetry, sqlite_db_url: str
) -> None:
    service = Service(sqlite_db_url)
    telemetry.observer.attach(service.db)
    registry = ToolRegistry()
    registry.register("say", lambda payload, ctx: {"said": payload})
    worker = service.worker(registry=registry, poll_interval=0.02)
    thread = worker.start_thread()
    try:
        app = create_app(service, Settings(max_wait_seconds=60), worker=worker)
        with TestClient(app) as client:
            r = client.post("/v1/state-machines", json={"name": "ctx", "definition": ONE_TASK})
            assert r.status_code in (200, 201), r.text
            r = client.post(
                "/v1/executions?wait=60",
                json={"stateMachine": "ctx", "input": {"x": 1}},
                headers={"traceparent": CALLER},
            )
            assert r.status_code == 200, r.text
            execution_id = r.json()["executionId"]
    finally:
        worker.stop()
        thread.join(60)
    started = service.get_history(execution_id, limit=1).events[0]
    assert started.details == {"input": {"x": 1}, "traceParent": CALLER}
    spans = telemetry.spans()
    (execution,) = by_name(spans, "execution ctx")
    assert execution.parent is not None and execution.parent.is_remote
    assert f"{execution.parent.span_id:016x}" == "b7ad6b7169203331"
    assert {f"{s.context.trace_id:032x}" for s in spans} == {"0af7651916cd43dd8448eb211c80319c"}
    service.close()


def test_a_request_without_traceparent_records_nothing(sqlite_db_url: str) -> None:
    service = Service(sqlite_db_url)
    service.register_state_machine("plain", ONE_TASK)
    execution = service.start_execution("plain", {"x": 1})
    assert service.get_history(execution.execution_id, limit=1).events[0].details == {
        "input": {"x": 1}
    }
    service.close()


def test_handler_logger_lines_carry_the_execution_fields(telemetry: Telemetry) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("statemachine.task")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    seen: list[TaskContext] = []

    def say(payload: Any, ctx: TaskContext) -> Any:
        seen.append(ctx)
        ctx.logger.info("saying %s", payload["word"], extra={"word": payload["word"]})
        return payload

    registry = ToolRegistry()
    registry.register("say", say)
    runner = Runner(
        build(ONE_TASK), registry=registry, clock=VirtualClock(), observer=telemetry.observer
    )
    try:
        assert runner.run({"word": "hi"}).status == "SUCCEEDED"
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    (task,) = by_name(telemetry.spans(), "execute_tool say")
    assert line["message"] == "saying hi"
    assert line["level"] == "INFO" and line["logger"] == "statemachine.task"
    assert line["execution_id"] == seen[0].execution_id
    assert line["state"] == "Say" and line["attempt"] == 1 and line["word"] == "hi"
    assert line["trace_id"] == f"{task.context.trace_id:032x}"
    assert line["span_id"] == f"{task.context.span_id:016x}"


def test_configure_logging_json_unless_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, is_json in ((io.StringIO(), True), (Tty(), False)):
        handler = configure_logging(stream=stream, logger="statemachine.test-logs")
        try:
            log = logging.getLogger("statemachine.test-logs")
            log.propagate = False
            log.warning("hello", extra={"execution_id": "arn:x", "state": "S"})
        finally:
            logging.getLogger("statemachine.test-logs").removeHandler(handler)
        text = stream.getvalue().strip()
        if is_json:
            entry = json.loads(text)
            assert entry["message"] == "hello" and entry["execution_id"] == "arn:x"
        else:
            assert text.endswith("hello [execution_id=arn:x state=S]"), text


def test_switched_on_only_by_the_environment() -> None:
    assert not observability.requested({})
    assert observability.requested({"OTEL_SERVICE_NAME": "x"})
    assert observability.requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert observability.requested({"STATEMACHINE_OTEL": "1"})
    assert not observability.requested({"STATEMACHINE_OTEL": "0", "OTEL_SERVICE_NAME": "x"})
    assert not observability.requested({"OTEL_SDK_DISABLED": "true", "STATEMACHINE_OTEL": "1"})


def test_no_opentelemetry_import_when_off() -> None:
    """Zero cost when disabled: a whole run, in-memory and durable, imports nothing of
    OpenTelemetry (the environment is cleaned of OTEL_* first)."""
    code = """
import sys, tempfile
from statemachine.model.build import build
from statemachine.runner import Runner
from statemachine.service import Service
definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
runner = Runner(build(definition))
assert runner.observer is None and runner.run({}).status == "SUCCEEDED"
service = Service("sqlite:///" + tempfile.mkdtemp() + "/x.db")
worker = service.worker()
assert worker.observer is None and service.db.history_listener is None
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    env.pop("STATEMACHINE_OTEL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
