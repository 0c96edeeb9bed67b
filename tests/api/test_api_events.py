"""The Server-Sent Events stream: history events with ids, live token deltas, the end
event, and resuming with Last-Event-ID."""

from __future__ import annotations

import json
import threading
from typing import Any

from api_helpers import CALLBACK_MACHINE, ECHO_MACHINE, TIMEOUT, token_of, wait_until
from fastapi.testclient import TestClient

from statemachine.handlers import stream

TALK_MACHINE = {
    "StartAt": "Talk",
    "States": {"Talk": {"Type": "Task", "Resource": "tool:talk", "End": True}},
}


def parse(text: str) -> list[dict[str, Any]]:
    """SSE text -> [{"event", "id", "data"}] (comments and retry lines dropped)."""
    messages = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":") or line.startswith("retry:"):
                continue
            key, _, value = line.partition(": ")
            fields[key] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            messages.append(fields)
    return messages


def read_stream(client: TestClient, execution_id: str, **headers: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/v1/executions/{execution_id}/events", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return parse(r.read().decode())


def test_stream_of_a_finished_execution_replays_history_then_ends(
    client: TestClient, register: Any
) -> None:
    name = register(ECHO_MACHINE)
    execution = client.post(
        "/v1/executions", params={"wait": TIMEOUT}, json={"stateMachine": name, "input": {"x": 1}}
    ).json()
    messages = read_stream(client, execution["executionId"])
    history = [m for m in messages if m["event"] == "history"]
    assert [int(m["id"]) for m in history] == list(range(1, len(history) + 1))
    assert history[0]["data"]["type"] == "ExecutionStarted"
    assert history[-1]["data"]["type"] == "ExecutionSucceeded"
    assert messages[-1]["event"] == "end"
    assert messages[-1]["data"]["status"] == "SUCCEEDED"
    assert messages[-1]["data"]["output"] == {"x": 1}

    # Resuming after event 3 sends 4.. and nothing before.
    resumed = read_stream(client, execution["executionId"], **{"Last-Event-ID": "3"})
    ids = [int(m["id"]) for m in resumed if m["event"] == "history"]
    assert ids == list(range(4, len(history) + 1))
    after_all = read_stream(
        client, execution["executionId"], **{"Last-Event-ID": str(len(history))}
    )
    assert [m["event"] for m in after_all] == ["end"]


def test_stream_follows_a_running_execution_to_its_end(client: TestClient, register: Any) -> None:
    name = register(CALLBACK_MACHINE)
    eid = client.post("/v1/executions", json={"stateMachine": name}).json()["executionId"]
    token = token_of(client, eid)
    messages: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: messages.extend(read_stream(client, eid)))
    reader.start()
    # Answer only once the stream is open (its subscription is registered).
    wait_until(lambda: stream.has_subscribers(eid))
    client.post("/v1/tasks/success", json={"taskToken": token, "output": {"ok": True}})
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    types = [m["data"]["type"] for m in messages if m["event"] == "history"]
    assert "TaskScheduled" in types and types[-1] == "ExecutionSucceeded"
    assert messages[-1]["event"] == "end"


def test_live_token_deltas_reach_the_stream(client: TestClient, register: Any) -> None:
    name = register(TALK_MACHINE)
    eid = client.post(
        "/v1/executions", json={"stateMachine": name, "input": {"words": ["a", "b", "c"]}}
    ).json()["executionId"]
    messages = read_stream(client, eid)
    live = [m["data"] for m in messages if m["event"] == "live"]
    assert [d["text"] for d in live] == ["a", "b", "c"]
    assert all(d["type"] == "delta" and d["state"] == "Talk" for d in live)
    assert all("id" not in m for m in messages if m["event"] == "live")
    assert messages[-1]["data"]["output"] == {"text": "abc"}


def test_stream_of_an_unknown_execution_is_404(client: TestClient) -> None:
    r = client.get("/v1/executions/arn:aws:states:local:0:execution:x:y/events")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
