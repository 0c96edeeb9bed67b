"""The console's own endpoints (``api/routers/console.py``) on real SQLite and PostgreSQL:
the trace places every event in its frame (Map iterations apart), and the open callback
tokens are listed until they are answered."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from statemachine.handlers.registry import TaskContext, ToolRegistry
from statemachine.service import Service
from statemachine.store.testing import database_url

JSON = Any
TIMEOUT = 30.0

MACHINE = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "tool:notify.waitForTaskToken",
            "ResultPath": "$.answer",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "One",
                "States": {"One": {"Type": "Pass", "End": True}},
            },
            "End": True,
        },
    },
}


def _registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("notify")
    def notify(payload: JSON, ctx: TaskContext) -> JSON:
        return None  # the token is answered over REST

    return registry


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    for url in database_url(request.param, tmp_path_factory.mktemp("db")):
        service = Service(url)
        worker = service.worker(registry=_registry(), poll_interval=0.05)
        thread = worker.start_thread()
        try:
            app = create_app(service, Settings(api_tokens=frozenset({"s3cret"})), worker=worker)
            with TestClient(app, headers={"Authorization": "Bearer s3cret"}) as test_client:
                yield test_client
        finally:
            worker.stop()
            thread.join(TIMEOUT)
            service.close()


def wait_for(check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


def start(client: TestClient, items: list[int]) -> str:
    name = f"console-{uuid.uuid4().hex[:8]}"
    created = client.post("/v1/state-machines", json={"name": name, "definition": MACHINE})
    assert created.status_code == 201, created.text
    started = client.post("/v1/executions", json={"stateMachine": name, "input": {"items": items}})
    assert started.status_code == 201, started.text
    return started.json()["executionId"]


def open_tasks(client: TestClient, execution_id: str) -> list[JSON]:
    response = client.get(f"/v1/console/executions/{execution_id}/tasks")
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def test_open_tasks_are_listed_until_answered(client: TestClient) -> None:
    execution_id = start(client, [1])
    tasks = wait_for(lambda: open_tasks(client, execution_id))
    assert len(tasks) == 1
    task = tasks[0]
    assert task["stateName"] == "Ask"
    assert task["scope"] == ""
    assert task["mapIndex"] is None
    assert len(task["taskToken"]) >= 32

    answered = client.post(
        "/v1/tasks/success", json={"taskToken": task["taskToken"], "output": {"ok": True}}
    )
    assert answered.status_code == 204, answered.text
    assert open_tasks(client, execution_id) == []
    done = wait_for(
        lambda: (
            (d := client.get(f"/v1/executions/{execution_id}").json())["status"] != "RUNNING" and d
        )
    )
    assert done["status"] == "SUCCEEDED"


def test_trace_places_map_iterations_in_their_frames(client: TestClient) -> None:
    execution_id = start(client, [10, 20, 30])
    token = wait_for(lambda: open_tasks(client, execution_id))[0]["taskToken"]
    client.post("/v1/tasks/success", json={"taskToken": token, "output": "yes"})
    wait_for(lambda: client.get(f"/v1/executions/{execution_id}").json()["status"] == "SUCCEEDED")

    trace = client.get(f"/v1/console/executions/{execution_id}/trace").json()
    assert trace["status"] == "SUCCEEDED"
    assert trace["more"] is False
    frames = {f["id"]: f for f in trace["frames"]}
    root = [f for f in frames.values() if f["parentId"] is None]
    assert len(root) == 1 and root[0]["scope"] == ""
    children = [f for f in frames.values() if f["parentId"] == root[0]["id"]]
    assert sorted(f["groupIndex"] for f in children) == [0, 1, 2]
    assert {f["scope"] for f in children} == {"States.Each.ItemProcessor"}

    inputs = {}
    for event in trace["events"]:
        assert event["frameId"] in frames
        if event["type"] == "PassStateEntered":
            inputs[frames[event["frameId"]]["groupIndex"]] = event["details"]["input"]
    assert inputs == {0: 10, 1: 20, 2: 30}
    ids = [e["id"] for e in trace["events"]]
    assert ids == list(range(1, len(ids) + 1))
    assert trace["lastEventId"] == ids[-1]


def test_trace_pages_after_an_event_id(client: TestClient) -> None:
    execution_id = start(client, [1, 2])
    wait_for(lambda: open_tasks(client, execution_id))
    first = client.get(f"/v1/console/executions/{execution_id}/trace", params={"limit": 2}).json()
    assert [e["id"] for e in first["events"]] == [1, 2]
    assert first["more"] is True
    rest = client.get(
        f"/v1/console/executions/{execution_id}/trace", params={"after": first["lastEventId"]}
    ).json()
    assert rest["events"][0]["id"] == 3
    assert rest["status"] == "RUNNING"
    client.post(f"/v1/executions/{execution_id}/stop", json={})


def test_unknown_execution_is_a_problem(client: TestClient) -> None:
    for path in ("trace", "tasks"):
        response = client.get(f"/v1/console/executions/arn:nope/{path}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "urn:statemachine:problem:not-found"


def test_console_endpoints_need_the_token(client: TestClient) -> None:
    response = client.get(
        "/v1/console/executions/arn:nope/tasks", headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401
