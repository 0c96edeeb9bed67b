"""End to end: `statemachine serve` as a subprocess on a free port, driven over real HTTP
(httpx) and by the client commands (`statemachine start|describe|list|history|stop|
send-success|send-failure`): start and wait, a live SSE stream, a callback, a stop, and a
clean shutdown on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TIMEOUT = 60.0
TOKEN = "e2e-token"

TOOLS = """
import statemachine

@statemachine.tool("greet")
def greet(payload):
    return {"greeting": "Hello, " + payload["name"]}

@statemachine.tool("approve")
def approve(payload, ctx):
    return None  # answered later by send-success / send-failure
"""

GREET = """\
StartAt: Greet
States:
  Greet:
    Type: Task
    Resource: tool:greet
    End: true
"""

APPROVAL = """\
StartAt: Ask
States:
  Ask:
    Type: Task
    Resource: tool:approve.waitForTaskToken
    Parameters:
      token.$: $$.Task.Token
    End: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "STATEMACHINE_URL": self.url, "STATEMACHINE_TOKEN": TOKEN}
        return subprocess.run(
            [sys.executable, "-m", "statemachine", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT,
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path
    (root / "defs").mkdir()
    (root / "defs" / "greet.asl.yaml").write_text(GREET)
    (root / "defs" / "approval.asl.yaml").write_text(APPROVAL)
    (root / "defs" / "broken.asl.yaml").write_text("StartAt: Nowhere\nStates: {}\n")
    (root / "tools.py").write_text(TOOLS)
    port = free_port()
    log = root / "serve.log"
    env = {**os.environ, "STATEMACHINE_API_TOKENS": TOKEN}
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "statemachine", "serve",
                "--port", str(port),
                "--db", str(root / "sm.db"),
                "--definitions", str(root / "defs"),
                "--handlers", str(root / "tools.py"),
                "--poll-interval", "0.05",
                "--log-level", "WARNING",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=root,
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if server.http.get("/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    try:
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.http.close()


def definitions_are_loaded_and_bad_ones_skipped(server: Server) -> None:
    names = [m["name"] for m in server.http.get("/v1/state-machines").json()["stateMachines"]]
    assert names == ["approval", "greet"]
    assert "broken.asl.yaml" in server.log.read_text()
    assert server.http.get("/v1/state-machines", headers={"Authorization": ""}).status_code == 401


def start_and_wait_over_http_and_with_the_cli(server: Server) -> None:
    r = server.http.post(
        "/v1/executions",
        params={"wait": 30},
        json={"stateMachine": "greet", "input": {"name": "Ada"}},
    )
    assert r.status_code == 200
    assert r.json()["output"] == {"greeting": "Hello, Ada"}

    done = server.cli("start", "greet", "--input", '{"name": "Bo"}', "--wait", "--json")
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "SUCCEEDED"
    assert execution["output"] == {"greeting": "Hello, Bo"}

    status = server.cli("describe", execution["executionId"], "--query", "status")
    assert json.loads(status.stdout) == "SUCCEEDED"
    listed = server.cli("list", "--state-machine", "greet", "--query", "executions[].status")
    assert json.loads(listed.stdout) == ["SUCCEEDED", "SUCCEEDED"]
    history = server.cli("history", execution["executionId"], "--query", "events[-1].type")
    assert json.loads(history.stdout) == "ExecutionSucceeded"
    missing = server.cli("start", "nope", "--wait")
    assert missing.returncode == 1
    assert "404 not-found" in missing.stderr


def read_events(server: Server, execution_id: str, seen: list[dict[str, Any]]) -> None:
    """Collect SSE messages as they arrive, until the stream ends."""
    with server.http.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        assert response.status_code == 200
        message: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line:
                if "data" in message:
                    message["data"] = json.loads(message["data"])
                    seen.append(message)
                message = {}
            elif not line.startswith((":", "retry:")):
                key, _, value = line.partition(": ")
                message[key] = value


def live_stream_callback_and_stop(server: Server) -> None:
    started = server.http.post("/v1/executions", json={"stateMachine": "approval"})
    assert started.status_code == 201
    execution_id = started.json()["executionId"]
    seen: list[dict[str, Any]] = []
    reader = threading.Thread(target=read_events, args=(server, execution_id, seen))
    reader.start()

    # The stream shows the task being scheduled while the execution waits for its answer.
    deadline = time.monotonic() + TIMEOUT
    token = None
    while token is None and time.monotonic() < deadline:
        for message in list(seen):
            if message.get("event") == "history" and message["data"]["type"] == "TaskScheduled":
                token = message["data"]["details"]["parameters"]["token"]
        time.sleep(0.05)
    assert token, seen
    assert reader.is_alive()  # still streaming: the execution is waiting

    answered = server.cli("send-success", token, "--output", '{"approved": true}')
    assert answered.returncode == 0, answered.stderr
    reader.join(TIMEOUT)
    assert not reader.is_alive()
    assert seen[-1]["event"] == "end"
    assert seen[-1]["data"]["status"] == "SUCCEEDED"
    assert seen[-1]["data"]["output"] == {"approved": True}
    again = server.cli("send-failure", token, "--error", "Too.Late")
    assert again.returncode == 1  # tokens are single use

    other = server.http.post("/v1/executions", json={"stateMachine": "approval"}).json()
    stopped = server.cli("stop", other["executionId"], "--cause", "e2e", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["status"] == "ABORTED"
    resumed: list[dict[str, Any]] = []
    read_events(server, other["executionId"], resumed)  # a closed execution: replay, end
    assert resumed[-1]["data"]["status"] == "ABORTED"
    redriven = server.cli("redrive", other["executionId"], "--query", "[status, redriveCount]")
    assert json.loads(redriven.stdout) == ["RUNNING", 1], redriven.stderr
    assert server.cli("stop", other["executionId"]).returncode == 0


IDLE_SECONDS = 6.0  # longer than uvicorn's default keep-alive (5 s) and httpx's (5 s)


def _get_healthz(sock: socket.socket) -> bytes:
    """One request on ``sock`` and its whole response (b"" when the server closed it)."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")[1:]
        if line.startswith(b"content-length:")
    )  # fmt: skip
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def idle_connection_stays_open(server: Server, answers: list[bytes]) -> None:
    """A client's idle keep-alive connection outlives the client's own idle timeout, so
    that the server never closes it under a request the client sends at that moment (the
    requests cut off with a "connection reset" under load, found by bench/load.py)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        answers.append(_get_healthz(sock))
        time.sleep(IDLE_SECONDS)
        try:
            answers.append(_get_healthz(sock))
        except OSError as exc:  # reset: the server closed the connection meanwhile
            answers.append(repr(exc).encode())


def metrics_and_clean_shutdown(server: Server) -> None:
    metrics = server.http.get("/metrics").text
    assert 'statemachine_executions{status="SUCCEEDED"}' in metrics
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(TIMEOUT) == 0


def test_serve_end_to_end(server: Server) -> None:
    """One server for every step (starting one costs seconds): the steps run in order,
    while one connection idles beside them."""
    answers: list[bytes] = []
    idler = threading.Thread(target=idle_connection_stays_open, args=(server, answers))
    idler.start()
    definitions_are_loaded_and_bad_ones_skipped(server)
    start_and_wait_over_http_and_with_the_cli(server)
    live_stream_callback_and_stop(server)
    idler.join(TIMEOUT)
    assert len(answers) == 2 and all(a.startswith(b"HTTP/1.1 200") for a in answers), answers
    metrics_and_clean_shutdown(server)
