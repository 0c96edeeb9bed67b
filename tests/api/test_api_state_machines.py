"""State machines over REST: register, version, read, list, delete, validate, draw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api_helpers import ECHO_MACHINE, PASS_MACHINE, unique
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"
TYPE = "urn:statemachine:problem:"


def test_create_then_update_makes_immutable_versions(client: TestClient) -> None:
    name = unique()
    first = client.post("/v1/state-machines", json={"name": name, "definition": PASS_MACHINE})
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/state-machines/{name}"
    v1 = first.json()["version"]
    assert first.json() == {"name": name, "version": v1, "newVersion": True}

    again = client.post("/v1/state-machines", json={"name": name, "definition": PASS_MACHINE})
    assert again.status_code == 200
    assert again.json()["version"] == v1

    # A JSON object is as good as text; a different definition is a new version.
    obj = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    second = client.post("/v1/state-machines", json={"name": name, "definition": obj})
    assert second.status_code == 200
    v2 = second.json()["version"]
    assert v2 != v1

    latest = client.get(f"/v1/state-machines/{name}").json()
    assert latest["version"] == latest["latestVersion"] == v2
    assert latest["definition"] == obj
    old = client.get(f"/v1/state-machines/{name}", params={"version": v1}).json()
    assert old["version"] == v1
    assert old["latestVersion"] == v2
    assert old["definition"]["StartAt"] == "A"

    versions = client.get(f"/v1/state-machines/{name}/versions").json()["versions"]
    assert {v["version"] for v in versions} == {v1, v2}


def test_put_accepts_a_yaml_body(client: TestClient) -> None:
    name = unique()
    r = client.put(
        f"/v1/state-machines/{name}",
        content=ECHO_MACHINE.encode(),
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    fresh = f"Comment: {name}\n" + PASS_MACHINE
    r = client.put(f"/v1/state-machines/{name}", json={"definition": fresh})
    assert r.status_code == 200
    assert r.json()["newVersion"] is True
    r = client.put(
        f"/v1/state-machines/{name}", content=b"x", headers={"content-type": "image/png"}
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == PROBLEM


def test_invalid_definition_lists_problems_with_line_and_column(client: TestClient) -> None:
    text = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Nowhere\n"
    r = client.post("/v1/state-machines", json={"name": unique(), "definition": text})
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == TYPE + "invalid-definition"
    assert body["status"] == 400
    assert "Nowhere" in body["detail"]
    [problem] = body["problems"]
    assert problem["rule"] == "transition-target"
    assert (problem["line"], problem["column"]) == (5, 5)
    assert problem["path"] == "$.States.A.Next"

    syntax = client.post(
        "/v1/state-machines", json={"name": unique(), "definition": "StartAt: [unclosed\n"}
    )
    assert syntax.status_code == 400
    assert syntax.json()["problems"][0]["line"] is not None


def test_validate_without_saving_matches_the_cli(client: TestClient, tmp_path: Path) -> None:
    from statemachine.definition import validate

    text = "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Nowhere\n"
    r = client.post("/v1/validate", content=text.encode(), headers={"content-type": "text/yaml"})
    assert r.status_code == 200
    body = r.json()
    assert body["valid"] is False
    expected = [p.to_json() for p in validate(text.encode())]
    for p in expected:
        p.pop("file")
    assert body["problems"] == expected

    ok = client.post("/v1/validate", json={"definition": PASS_MACHINE})
    assert ok.json() == {"valid": True, "problems": []}
    name = unique()
    assert client.get(f"/v1/state-machines/{name}").status_code == 404


def test_python_resources_outside_allowed_packages_are_refused(client: TestClient) -> None:
    text = (
        "StartAt: A\nStates:\n  A:\n    Type: Task\n    Resource: python:os:system\n    End: true\n"
    )
    r = client.post("/v1/state-machines", json={"name": unique(), "definition": text})
    assert r.status_code == 400
    [problem] = r.json()["problems"]
    assert problem["rule"] == "resource-allowed"
    assert problem["line"] == 5
    nested = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "X",
                        "States": {
                            "X": {"Type": "Task", "Resource": "python:subprocess:run", "End": True}
                        },
                    }
                ],
            }
        },
    }
    r = client.post("/v1/validate", json={"definition": nested})
    assert [p["rule"] for p in r.json()["problems"]] == ["resource-allowed"]


def test_a_definition_string_is_never_read_as_a_server_path(
    client: TestClient, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.asl.yaml"
    secret.write_text(PASS_MACHINE)
    r = client.post("/v1/state-machines", json={"name": unique(), "definition": str(secret)})
    assert r.status_code == 400
    assert r.json()["problems"][0]["rule"] == "not-an-object"


def test_definition_size_limit(client: TestClient, settings: Any) -> None:
    big = PASS_MACHINE + "#" * settings.max_definition_bytes + "\n"
    r = client.post("/v1/state-machines", json={"name": unique(), "definition": big})
    assert r.status_code == 413
    assert r.json()["type"] == TYPE + "payload-too-large"
    assert "limit" in r.json()["detail"]


def test_list_pages_by_name_and_delete(client: TestClient, register: Any) -> None:
    prefix = unique("list")
    names = [register(name=f"{prefix}-{i}") for i in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/state-machines", params=params).json()
        seen += [m["name"] for m in page["stateMachines"]]
        assert all("definition" not in m for m in page["stateMachines"])
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert [n for n in seen if n.startswith(prefix)] == names

    assert client.delete(f"/v1/state-machines/{names[0]}").status_code == 204
    assert client.get(f"/v1/state-machines/{names[0]}").status_code == 404
    assert client.delete(f"/v1/state-machines/{names[0]}").status_code == 404
    start = client.post("/v1/executions", json={"stateMachine": names[0]})
    assert start.status_code == 404
    assert start.json()["type"] == TYPE + "not-found"


def test_graph_in_every_format(client: TestClient, register: Any) -> None:
    name = register(ECHO_MACHINE)
    graph = client.get(f"/v1/state-machines/{name}/graph")
    assert graph.status_code == 200
    body = graph.json()
    assert [n["name"] for n in body["nodes"]] == ["A"]
    assert body["edges"] and body["layout"]["width"] > 0
    mermaid = client.get(f"/v1/state-machines/{name}/graph", params={"format": "mermaid"})
    assert mermaid.text.startswith("flowchart")
    assert mermaid.headers["content-type"].startswith("text/vnd.mermaid")
    dot = client.get(f"/v1/state-machines/{name}/graph", params={"format": "dot"})
    assert "digraph" in dot.text
    svg = client.get(f"/v1/state-machines/{name}/graph", params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<")
    assert client.get("/v1/state-machines/nope-nope/graph").status_code == 404


def test_request_validation_is_a_422_problem(client: TestClient) -> None:
    r = client.post("/v1/state-machines", json={"name": "bad name!", "definition": PASS_MACHINE})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == TYPE + "invalid-request-body"
    assert body["errors"][0]["loc"] == ["body", "name"]
    typo = client.post("/v1/state-machines", json={"name": unique(), "definiton": PASS_MACHINE})
    assert typo.status_code == 422
    broken = client.post(
        "/v1/state-machines", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert json.loads(broken.text)["status"] == 422
