"""The web console in headless Chromium, against ``statemachine serve`` in a subprocess.

Every wait is on a DOM condition with a generous timeout, never a fixed sleep. The page
fixture refuses (and the test then fails on) any request to another origin.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from console_support import UI_TIMEOUT, Server, Watched
from playwright.sync_api import expect

FINISH_TIMEOUT = 60_000  # ms: a Map, a 1 s Wait and a busy CI machine

NODES = {
    ("Classify", "Choice"),
    ("Review", "Task"),
    ("Rejected", "Fail"),
    ("Items", "Map"),
    ("Label", "Pass"),
    ("Pause", "Wait"),
    ("Summarize", "Task"),
    ("Done", "Succeed"),
}
PROCESSOR = "States.Items.ItemProcessor"
EDGES = {
    ("root#start", "Classify", "start"),
    ("Classify", "Review", "choice"),
    ("Classify", "Items", "default"),
    ("Review", "Items", "next"),
    ("Review", "Rejected", "catch"),
    ("Rejected", "root#end", "end"),
    ("Items", "Pause", "next"),
    ("Pause", "Summarize", "next"),
    ("Summarize", "Done", "next"),
    ("Done", "root#end", "end"),
    (f"{PROCESSOR}#start", "Label", "start"),
    ("Label", f"{PROCESSOR}#end", "end"),
}


def node(page: Any, name: str) -> Any:
    return page.locator(f'g.node[data-state="{name}"]')


def status(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s)status-{name}(\s|$)")


def open_execution(console: Watched, execution_id: str) -> Any:
    page = console.page
    page.goto(f"{console.base}/#/executions/{execution_id}")
    expect(page.locator(".execution-page")).to_be_visible()
    return page


def approve_from_page(page: Any, output: Any) -> None:
    callback = page.locator('.callback[data-state="Review"]')
    callback.locator('[data-action="approve"]').click()
    callback.locator("textarea").fill(json.dumps(output))
    callback.locator('[data-action="send-approve"]').click()
    # Once answered, the token is no longer open and the callout goes away.
    expect(callback).to_have_count(0)


def test_definition_view_draws_the_graph(console: Watched, server: Server) -> None:
    page = console.page
    page.goto(f"{server.url}/")
    page.locator("#machines-table").get_by_role("link", name="console-demo").click()
    expect(node(page, "Done")).to_be_visible()

    drawn = page.eval_on_selector_all(
        "g.node", "els => els.map(e => [e.dataset.state, e.dataset.type])"
    )
    assert {tuple(n) for n in drawn} == NODES
    assert len(drawn) == len(NODES)
    edges = page.eval_on_selector_all(
        "path.edge", "els => els.map(e => [e.dataset.from, e.dataset.to, e.dataset.kind])"
    )
    assert {tuple(e) for e in edges} == EDGES
    assert len(edges) == len(EDGES)
    cluster = page.locator("g.cluster")
    expect(cluster).to_have_count(1)
    expect(cluster).to_have_attribute("data-kind", "map-processor")
    expect(cluster).to_have_attribute("data-cluster", PROCESSOR)
    # The drawing matches the server's graph export, edge for edge.
    with server.client() as client:
        exported = client.get("/v1/state-machines/console-demo/graph").json()
    assert len(exported["nodes"]) == len(drawn)
    assert len(exported["edges"]) == len(edges)
    # Every state sits inside the canvas's drawing, none on top of another.
    boxes = page.eval_on_selector_all(
        "g.node:not(.container) > .node-box",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height]; })",
    )
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0]
            apart = apart or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]
            assert apart, f"two states overlap: {a} {b}"

    # Click a state: its definition shows in the side panel.
    node(page, "Review").click()
    panel = page.locator("#state-panel")
    expect(panel.locator(".state-title")).to_have_text("Review")
    expect(panel).to_contain_text("tool:notify.waitForTaskToken")
    expect(panel).to_contain_text('"ErrorEquals"')
    expect(node(page, "Review")).to_have_class(re.compile(r"\bselected\b"))
    console.shot("definition-view")

    # Zoom with the wheel, pan by dragging the background.
    svg = page.locator("svg.graph-svg")
    scale = float(svg.get_attribute("data-scale"))
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.wheel(0, -400)
    expect(svg).not_to_have_attribute("data-scale", f"{scale:.3f}")
    assert float(svg.get_attribute("data-scale")) > scale
    viewport = page.locator("g.viewport")
    before = viewport.get_attribute("transform")
    page.mouse.down()
    page.mouse.move(box["x"] + 140, box["y"] + 100, steps=5)
    page.mouse.up()
    expect(viewport).not_to_have_attribute("transform", before)
    # Clicking the background clears the selection.
    page.mouse.click(box["x"] + 10, box["y"] + box["height"] - 10)
    expect(panel).to_contain_text("Click a state")


def test_start_watch_live_and_approve(console: Watched, server: Server) -> None:
    page = console.page
    page.goto(f"{server.url}/#/state-machines/console-demo")
    page.locator("#start-this").click()
    expect(page.locator("#start-machine")).to_have_value("console-demo")

    # The form checks the JSON as it is typed.
    page.locator("#start-input").fill('{"amount": 500, "items": [1, 2')
    expect(page.locator("#start-input-status")).to_contain_text("Invalid JSON")
    expect(page.locator("#start-submit")).to_be_disabled()
    page.locator("#start-input").fill(json.dumps({"amount": 500, "items": [1, 2, 3]}))
    expect(page.locator("#start-input-status")).to_have_text("Valid JSON")
    expect(page.locator("#start-submit")).to_be_enabled()
    console.shot("start-form")
    name = f"approve-{uuid.uuid4().hex[:8]}"
    page.locator("#start-name").fill(name)
    page.locator("#start-submit").click()

    # The execution view opens and follows the execution live.
    expect(page).to_have_url(re.compile(r"#/executions/arn"))
    expect(page.locator(".page-header h1")).to_contain_text(name)
    page.evaluate("window.__sameDocument = true")
    expect(node(page, "Classify")).to_have_class(status("succeeded"))
    expect(node(page, "Review")).to_have_class(status("waiting"))
    expect(node(page, "Items")).to_have_class(status("not-started"))
    expect(node(page, "Pause")).to_have_class(status("not-started"))
    expect(page.locator(".live-indicator")).to_have_text("Live")
    expect(page.locator('.callback[data-state="Review"]')).to_be_visible()
    console.shot("execution-view-waiting", full_page=False)

    node(page, "Review").click()
    expect(page.locator("#state-panel")).to_contain_text("Waiting for a callback")
    approve_from_page(page, {"approved": True, "by": "browser test"})

    # Watch it finish: the page is never reloaded, the stream brings every change.
    expect(page.locator(".execution-page")).to_have_attribute(
        "data-status", "SUCCEEDED", timeout=FINISH_TIMEOUT
    )
    assert page.evaluate("window.__sameDocument") is True
    assert any("/events" in url for url in console.requests), "no SSE stream was opened"
    for state in ("Classify", "Review", "Items", "Label", "Pause", "Summarize", "Done"):
        expect(node(page, state)).to_have_class(status("succeeded"))
    expect(node(page, "Rejected")).to_have_class(status("not-started"))
    expect(page.locator(".page-header .badge")).to_have_text("Succeeded")
    expect(page.locator("#callbacks")).to_be_empty()
    expect(page.locator("#execution-output")).to_contain_text("browser test")
    usage = page.locator("#llm-usage")
    expect(usage).to_contain_text("console-test-model")
    expect(usage.locator("tfoot")).to_contain_text("150")

    # The timeline has every state, and the Map's three iterations as groups.
    timeline = page.locator("#timeline")
    for state in ("Classify", "Review", "Items", "Pause", "Summarize", "Done"):
        expect(timeline.locator(f'.tl-state[data-state="{state}"]')).to_have_count(1)
    expect(timeline.locator(".tl-group")).to_have_count(3)
    expect(timeline.locator(".tl-group").first).to_contain_text("Iteration 0")
    pause = timeline.locator('.tl-state[data-state="Pause"] .tl-duration')
    assert re.fullmatch(r"\d+\.\d+ s", pause.inner_text()), pause.inner_text()
    timeline.locator(".tl-group").nth(2).locator(".tl-toggle").click()
    expect(timeline.locator('.tl-state[data-state="Label"]')).to_have_count(1)

    # A state inside the Map: its visits, input and output per iteration.
    node(page, "Label").click()
    panel = page.locator("#state-panel")
    expect(panel.locator(".occurrence-select option")).to_have_count(3)
    expect(panel).to_contain_text("item 3")
    node(page, "Review").click()
    expect(panel).to_contain_text('"approved"')
    console.shot("execution-view")


def test_reject_a_callback_is_caught(console: Watched, server: Server) -> None:
    execution_id = server.start({"amount": 250, "items": [1]})
    page = open_execution(console, execution_id)
    callback = page.locator('.callback[data-state="Review"]')
    callback.locator('[data-action="reject"]').click()
    callback.locator('input[name="error"]').fill("Rejected")
    callback.locator('textarea[name="cause"]').fill("Too expensive")
    callback.locator('[data-action="send-reject"]').click()

    expect(page.locator(".execution-page")).to_have_attribute(
        "data-status", "FAILED", timeout=FINISH_TIMEOUT
    )
    expect(node(page, "Review")).to_have_class(status("caught"))
    expect(node(page, "Rejected")).to_have_class(status("failed"))
    expect(node(page, "Items")).to_have_class(status("not-started"))
    error = page.locator("#execution-error")
    expect(error).to_contain_text("Rejected")
    expect(error).to_contain_text("A reviewer rejected the request")
    node(page, "Review").click()
    expect(page.locator("#state-panel .error-box")).to_contain_text("Too expensive")
    expect(page.locator("#redrive-button")).to_be_visible()
    console.shot("execution-view-failed")


def test_stop_then_redrive(console: Watched, server: Server) -> None:
    execution_id = server.start({"amount": 900, "items": [7]})
    page = open_execution(console, execution_id)
    expect(node(page, "Review")).to_have_class(status("waiting"))
    page.locator("#stop-button").click()
    page.locator("#stop-confirm").click()
    expect(page.locator(".execution-page")).to_have_attribute("data-status", "ABORTED")
    expect(node(page, "Review")).not_to_have_class(status("waiting"))
    expect(page.locator("#callbacks")).to_be_empty()

    page.locator("#redrive-button").click()
    expect(page.locator(".execution-page")).to_have_attribute("data-status", "RUNNING")
    expect(node(page, "Review")).to_have_class(status("waiting"))
    approve_from_page(page, {"approved": True})
    expect(page.locator(".execution-page")).to_have_attribute(
        "data-status", "SUCCEEDED", timeout=FINISH_TIMEOUT
    )
    expect(page.locator(".meta")).to_contain_text("Redrives")


def test_executions_list_filters(console: Watched, server: Server) -> None:
    waiting = server.start({"amount": 1000, "items": []})
    with server.client() as client:
        response = client.post(
            "/v1/executions",
            params={"wait": 30},
            json={"stateMachine": "console-demo", "input": {"amount": 1, "items": [1]}},
        )
    assert response.json()["status"] == "SUCCEEDED", response.text
    finished = response.json()["executionId"]

    page = console.page
    page.goto(f"{server.url}/#/executions")
    table = page.locator("#executions-table")
    expect(table.locator(f'tr[data-execution="{waiting}"]')).to_have_count(1)
    expect(table.locator(f'tr[data-execution="{finished}"]')).to_have_count(1)

    page.locator("#filter-status").select_option("RUNNING")
    expect(page).to_have_url(re.compile(r"status=RUNNING"))
    expect(table.locator(f'tr[data-execution="{waiting}"]')).to_have_count(1)
    expect(table.locator(f'tr[data-execution="{finished}"]')).to_have_count(0)
    statuses = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert set(statuses) == {"RUNNING"}

    page.locator("#filter-status").select_option("SUCCEEDED")
    expect(table.locator(f'tr[data-execution="{finished}"]')).to_have_count(1)
    expect(table.locator(f'tr[data-execution="{waiting}"]')).to_have_count(0)
    page.locator("#filter-machine").select_option("console-demo")
    expect(page).to_have_url(re.compile(r"stateMachine=console-demo"))
    table.locator(f'tr[data-execution="{finished}"] a').first.click()
    expect(page.locator(".execution-page")).to_have_attribute("data-status", "SUCCEEDED")
    with server.client() as client:
        client.post(f"/v1/executions/{waiting}/stop", json={})


def test_errors_show_as_messages(console: Watched, server: Server) -> None:
    page = console.page
    page.goto(f"{server.url}/#/state-machines/no-such-machine")
    failed = page.locator(".failed-view")
    expect(failed).to_contain_text("Not Found")
    expect(failed).to_contain_text("404")
    expect(failed).to_contain_text("State machine does not exist: 'no-such-machine'")

    name = f"dup-{uuid.uuid4().hex[:8]}"
    server.start({"amount": 1, "items": []}, name=name)
    page.goto(f"{server.url}/#/start?stateMachine=console-demo")
    page.locator("#start-name").fill(name)
    page.locator("#start-input").fill('{"amount": 2, "items": []}')
    page.locator("#start-submit").click()
    expect(page.locator(".msg-error").last).to_contain_text("409")
    expect(page).to_have_url(re.compile(r"#/start"))


def test_bearer_token_from_the_page(token_console: Watched, token_server: Server) -> None:
    page = token_console.page
    page.goto(f"{token_server.url}/")
    failed = page.locator(".failed-view")
    expect(failed).to_contain_text("An API token is needed")
    expect(failed).to_contain_text("401")
    expect(failed).to_contain_text("Missing or invalid bearer token")
    expect(page.locator("#token-panel")).to_be_visible()
    page.locator("#token-input").fill(token_server.token or "")
    page.locator("#token-form button[type=submit]").click()
    expect(page.locator("#machines-table")).to_contain_text("console-demo", timeout=UI_TIMEOUT)
    assert page.evaluate("localStorage.getItem('statemachine.console.token')") == token_server.token
    expect(page.locator("#token-button")).to_contain_text("Token set")

    # The live stream carries the token too.
    execution_id = token_server.start({"amount": 1, "items": [1, 2]})
    page.goto(f"{token_server.url}/#/executions/{execution_id}")
    expect(page.locator(".execution-page")).to_have_attribute(
        "data-status", "SUCCEEDED", timeout=FINISH_TIMEOUT
    )
    expect(node(page, "Done")).to_have_class(status("succeeded"))
