"""Support for the console's browser tests: ``statemachine serve`` as a subprocess and a
Playwright page that refuses every request to another origin.

The server runs on a free port with a temporary SQLite database and ``--definitions``
pointing at a temporary folder with ``data/console-demo.asl.yaml`` (a Choice, a Map, a
1 s Wait and a callback Task), its tool loaded with ``--handlers``. Chromium is Debian's
``/usr/bin/chromium`` (installed by ``.ci/run``); Playwright never downloads a browser.
Screenshots go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
#: Generous: two cores, tests in parallel, a server that migrates its database at start.
START_TIMEOUT = 90.0
UI_TIMEOUT = 30_000  # ms, for anything the page waits on
TOKEN = "console-test-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    token: str | None
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def start(self, execution_input: Any, name: str | None = None) -> str:
        body: dict[str, Any] = {"stateMachine": "console-demo", "input": execution_input}
        if name:
            body["name"] = name
        with self.client() as client:
            response = client.post("/v1/executions", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()["executionId"]


def serve(tmp: Path, token: str | None) -> Iterator[Server]:
    definitions = tmp / "definitions"
    definitions.mkdir()
    shutil.copy(DATA / "console-demo.asl.yaml", definitions)
    port = free_port()
    log = tmp / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "STATEMACHINE_API_TOKENS"}
    if token:
        env["STATEMACHINE_API_TOKENS"] = token
    command = [
        sys.executable, "-m", "statemachine", "serve",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--db", f"sqlite:///{tmp / 'console.db'}",
        "--definitions", str(definitions),
        "--handlers", str(DATA / "console_tools.py"),
        "--poll-interval", "0.05",
        "--log-level", "WARNING",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", token, log, process)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"statemachine serve exited early:\n{server.log.read_text()}")
        try:
            with server.client() as client:
                ready = client.get("/readyz").status_code == 200
                listed = client.get("/v1/state-machines").json().get("stateMachines", [])
            if ready and any(m["name"] == "console-demo" for m in listed):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"statemachine serve did not become ready:\n{server.log.read_text()}")


@dataclass
class Watched:
    """A page and what it did: requests to other origins (refused), uncaught errors."""

    page: Any
    base: str
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def open_page(browser: Any, server: Server) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    watched = Watched(page, server.url)

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.url + "/") or url == server.url:
            watched.requests.append(url)
            route.continue_()
        elif url.startswith("data:"):
            route.continue_()
        else:
            watched.external.append(url)
            route.abort()

    context.route("**/*", route)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    try:
        yield watched
        assert watched.external == [], f"the console requested other origins: {watched.external}"
        assert watched.errors == [], f"uncaught errors in the page: {watched.errors}"
    finally:
        context.close()
