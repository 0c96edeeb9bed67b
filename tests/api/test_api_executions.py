"""Executions over REST: start (and wait), idempotency, describe, list, history, stop,
redrive, and answering callback tasks by token."""

from __future__ import annotations

from typing import Any

from api_helpers import CALLBACK_MACHINE, ECHO_MACHINE, TIMEOUT, finished, token_of, unique
from fastapi.testclient import TestClient

TYPE = "urn:statemachine:problem:"
FAIL_MACHINE = {
    "StartAt": "F",
    "States": {"F": {"Type": "Task", "Resource": "tool:fail", "End": True}},
}


def start(client: TestClient, machine: str, **body: Any) -> Any:
    r = client.post("/v1/executions", json={"stateMachine": machine, **body})
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_start_and_wait_returns_the_result(client: TestClient, register: Any) -> None:
    name = register(ECHO_MACHINE)
    r = client.post(
        "/v1/executions",
        params={"wait": TIMEOUT},
        json={"stateMachine": name, "input": {"order": 42, "items": [1, 2]}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "SUCCEEDED"
    assert body["output"] == {"order": 42, "items": [1, 2]}
    assert body["error"] is None and body["cause"] is None
    assert body["startDate"] and body["stopDate"]
    assert body["executionId"].endswith(f":{name}:{body['name']}")
    assert r.headers["location"] == f"/v1/executions/{body['executionId']}"


def test_wait_that_runs_out_answers_202_with_a_location(client: TestClient, register: Any) -> None:
    name = register(CALLBACK_MACHINE)
    r = client.post(
        "/v1/executions", params={"wait": 0.3}, json={"stateMachine": name, "input": {}}
    )
    assert r.status_code == 202
    assert r.json()["status"] == "RUNNING"
    again = client.get(r.headers["location"])
    assert again.status_code == 200
    assert again.json()["executionId"] == r.json()["executionId"]


def test_start_without_wait_is_201_and_idempotent_by_name(
    client: TestClient, register: Any
) -> None:
    name = register(CALLBACK_MACHINE)
    body = {"stateMachine": name, "input": {"a": 1}, "name": "run-1"}
    first = client.post("/v1/executions", json=body)
    assert first.status_code == 201
    assert first.json()["name"] == "run-1"
    same = client.post("/v1/executions", json=body)
    assert same.status_code == 200
    assert same.json()["executionId"] == first.json()["executionId"]
    other = client.post("/v1/executions", json={**body, "input": {"a": 2}})
    assert other.status_code == 409
    assert other.json()["type"] == TYPE + "execution-already-exists"


def test_start_errors(client: TestClient, register: Any, settings: Any, service: Any) -> None:
    missing = client.post("/v1/executions", json={"stateMachine": "no-such-machine"})
    assert missing.status_code == 404
    assert missing.json()["type"] == TYPE + "not-found"
    name = register(ECHO_MACHINE)
    big = {"blob": "x" * (service.payload_limit + 1)}
    too_big = client.post("/v1/executions", json={"stateMachine": name, "input": big})
    assert too_big.status_code == 413
    assert "input" in too_big.json()["detail"]
    bad_name = client.post("/v1/executions", json={"stateMachine": name, "name": "a b"})
    assert bad_name.status_code == 422


def test_describe_list_and_history_pages(client: TestClient, register: Any) -> None:
    name = register(ECHO_MACHINE)
    ids = [
        client.post(
            "/v1/executions", params={"wait": TIMEOUT}, json={"stateMachine": name, "input": {}}
        ).json()["executionId"]
        for _ in range(3)
    ]
    described = client.get(f"/v1/executions/{ids[0]}").json()
    assert described["status"] == "SUCCEEDED"
    assert described["stateMachine"] == name

    listed: list[str] = []
    params: dict[str, Any] = {"stateMachine": name, "limit": 2}
    while True:
        page = client.get("/v1/executions", params=params).json()
        listed += [e["executionId"] for e in page["executions"]]
        if not page["nextCursor"]:
            break
        params["cursor"] = page["nextCursor"]
    assert listed == list(reversed(ids))  # newest first
    filtered = client.get("/v1/executions", params={"stateMachine": name, "status": "FAILED"})
    assert filtered.json()["executions"] == []
    assert client.get("/v1/executions", params={"status": "NOPE"}).status_code == 422
    assert client.get("/v1/executions", params={"cursor": "!!"}).status_code == 400

    types: list[str] = []
    event_ids: list[int] = []
    hparams: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get(f"/v1/executions/{ids[0]}/history", params=hparams).json()
        types += [e["type"] for e in page["events"]]
        event_ids += [e["id"] for e in page["events"]]
        if not page["nextCursor"]:
            break
        hparams["cursor"] = page["nextCursor"]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert event_ids == list(range(1, len(event_ids) + 1))
    newest = client.get(f"/v1/executions/{ids[0]}/history", params={"reverse": True, "limit": 1})
    assert newest.json()["events"][0]["type"] == "ExecutionSucceeded"
    assert client.get("/v1/executions/arn:nope/history").status_code == 404
    assert client.get("/v1/executions/arn:nope").status_code == 404


def test_callback_success_and_single_use_tokens(client: TestClient, register: Any) -> None:
    name = register(CALLBACK_MACHINE)
    execution = start(client, name, input={"ask": "approve?"})
    token = token_of(client, execution["executionId"])
    assert len(token) >= 32
    beat = client.post("/v1/tasks/heartbeat", json={"taskToken": token})
    assert beat.status_code == 204
    ok = client.post("/v1/tasks/success", json={"taskToken": token, "output": {"approved": True}})
    assert ok.status_code == 204
    done = finished(client, execution["executionId"])
    assert done["status"] == "SUCCEEDED"
    assert done["output"] == {"approved": True}

    reused = client.post("/v1/tasks/success", json={"taskToken": token, "output": {}})
    assert reused.status_code == 400
    assert reused.json()["type"] == TYPE + "invalid-request"
    unknown = client.post("/v1/tasks/failure", json={"taskToken": "0" * 64})
    assert unknown.status_code == 404


def test_callback_result_size_limit(client: TestClient, register: Any, service: Any) -> None:
    name = register(CALLBACK_MACHINE)
    execution = start(client, name)
    token = token_of(client, execution["executionId"])
    big = {"taskToken": token, "output": "x" * (service.payload_limit + 1)}
    r = client.post("/v1/tasks/success", json=big)
    assert r.status_code == 413
    assert client.post("/v1/executions/" + execution["executionId"] + "/stop").status_code == 200


def test_failure_then_redrive_then_success(client: TestClient, register: Any) -> None:
    name = register(CALLBACK_MACHINE)
    execution = start(client, name)
    eid = execution["executionId"]
    first = token_of(client, eid)
    r = client.post(
        "/v1/tasks/failure", json={"taskToken": first, "error": "Human.Rejected", "cause": "no"}
    )
    assert r.status_code == 204
    failed = finished(client, eid)
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "Human.Rejected",
        "no",
    )
    assert client.post(f"/v1/executions/{eid}/stop").status_code == 400  # not running

    redriven = client.post(f"/v1/executions/{eid}/redrive")
    assert redriven.status_code == 200
    assert redriven.json()["status"] == "RUNNING"
    assert redriven.json()["redriveCount"] == 1

    def second_token() -> str | None:
        events = client.get(f"/v1/executions/{eid}/history").json()["events"]
        tokens = [
            e["details"]["parameters"]["token"] for e in events if e["type"] == "TaskScheduled"
        ]
        return tokens[-1] if len(tokens) > 1 else None

    from api_helpers import wait_until

    second = wait_until(second_token)
    assert second != first
    client.post("/v1/tasks/success", json={"taskToken": second, "output": "ok"})
    assert finished(client, eid)["status"] == "SUCCEEDED"
    again = client.post(f"/v1/executions/{eid}/redrive")
    assert again.status_code == 400


def test_stop_aborts_and_records_error(client: TestClient, register: Any) -> None:
    name = register(CALLBACK_MACHINE)
    execution = start(client, name)
    eid = execution["executionId"]
    r = client.post(f"/v1/executions/{eid}/stop", json={"error": "Ops.Cancel", "cause": "test"})
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["error"], body["cause"]) == ("ABORTED", "Ops.Cancel", "test")
    history = client.get(f"/v1/executions/{eid}/history", params={"reverse": True, "limit": 1})
    assert history.json()["events"][0]["type"] == "ExecutionAborted"
    assert client.post("/v1/executions/arn:nope/stop").status_code == 404


def test_task_failure_is_reported_as_data(client: TestClient, register: Any) -> None:
    name = register(FAIL_MACHINE)
    r = client.post(
        "/v1/executions",
        params={"wait": TIMEOUT},
        json={"stateMachine": name, "input": {"why": "broken"}},
    )
    body = r.json()
    assert (body["status"], body["error"], body["cause"]) == ("FAILED", "Test.Failed", "broken")
    assert body["output"] is None


def test_unknown_tool_fails_the_execution_not_the_server(client: TestClient, register: Any) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": f"tool:{unique('missing')}", "End": True}},
    }
    name = register(definition)
    r = client.post("/v1/executions", params={"wait": TIMEOUT}, json={"stateMachine": name})
    assert r.json()["status"] == "FAILED"
    assert r.json()["error"] == "States.Runtime"
