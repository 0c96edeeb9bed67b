"""Activities over REST: an external worker long-polls ``/v1/activities/{name}/poll`` for
the task of an ``activity:NAME`` state, then answers it through ``/v1/tasks``."""

from __future__ import annotations

from typing import Any

from api_helpers import TIMEOUT, finished, unique
from fastapi.testclient import TestClient


def _machine(activity: str) -> dict[str, Any]:
    return {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": f"activity:{activity}",
                "Parameters": {"n.$": "$.n"},
                "End": True,
            }
        },
    }


def test_poll_claims_the_task_and_the_answer_finishes_the_state(
    client: TestClient, register: Any
) -> None:
    activity = unique("act")
    empty = client.post(f"/v1/activities/{activity}/poll", params={"wait": 0, "worker": "w"})
    assert empty.status_code == 204

    name = register(_machine(activity))
    r = client.post("/v1/executions", json={"stateMachine": name, "input": {"n": 7}})
    assert r.status_code == 201, r.text
    execution_id = r.json()["executionId"]

    # Long poll: the task arrives once the engine has parked the frame.
    polled = client.post(f"/v1/activities/{activity}/poll", params={"wait": TIMEOUT, "worker": "w"})
    assert polled.status_code == 200, polled.text
    task = polled.json()
    assert task["input"] == {"n": 7}
    again = client.post(f"/v1/activities/{activity}/poll", params={"wait": 0, "worker": "w2"})
    assert again.status_code == 204  # handed out once

    token = task["taskToken"]
    assert client.post("/v1/tasks/heartbeat", json={"taskToken": token}).status_code == 204
    ok = client.post("/v1/tasks/success", json={"taskToken": token, "output": {"square": 49}})
    assert ok.status_code == 204
    done = finished(client, execution_id)
    assert done["status"] == "SUCCEEDED"
    assert done["output"] == {"square": 49}
