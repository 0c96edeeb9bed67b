"""``statemachine start STATE_MACHINE``: start an execution on a server; with ``--wait``,
follow it (live progress on a terminal) and print its result."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from statemachine.commands.client import (
    ApiClient,
    add_connection_arguments,
    add_output_arguments,
    emit,
    execution_path,
    execution_text,
    guarded,
    read_json_argument,
)

JSON = Any
#: How long the start request itself waits for the result before following the events.
FIRST_WAIT = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("state_machine", metavar="STATE_MACHINE", help="a registered name")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="execution input as JSON text")
    source.add_argument("--input-file", metavar="F", help="read the input from F (- is stdin)")
    parser.add_argument(
        "--name",
        help="execution name (starting twice with one name and input returns the same execution)",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the result")
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="with --wait: give up waiting after S seconds (exit code 1)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="with --wait: no progress line, even on a terminal",
    )
    add_connection_arguments(parser)
    add_output_arguments(parser)


class Progress:
    """One status line on stderr (spinner, elapsed time, current state, last event),
    redrawn in place by a ticker thread and on every event; only on a terminal."""

    FRAMES = "|/-\\"

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.state = ""
        self.last = ""
        self.events = 0
        self.live = 0
        self.tick = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if enabled:
            threading.Thread(target=self._ticker, daemon=True).start()

    def _ticker(self) -> None:
        while not self._stop.wait(0.2):
            self.draw()

    def history(self, event: JSON) -> None:
        self.events += 1
        self.last = str(event.get("type", ""))
        details = event.get("details") or {}
        if self.last.endswith("StateEntered") and isinstance(details, dict):
            self.state = str(details.get("name", ""))
        self.draw()

    def live_event(self, _event: JSON) -> None:
        self.live += 1
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._stop.is_set():
                return
            self.tick += 1
            elapsed = time.monotonic() - self.started
            parts = [self.FRAMES[self.tick % 4], f"{elapsed:6.1f}s", self.state or "-"]
            parts.append(self.last)
            if self.live:
                parts.append(f"{self.live} live events")
            sys.stderr.write("\r\x1b[K" + "  ".join(parts))
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            with self._lock:
                self._stop.set()
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()


def follow(
    client: ApiClient, execution_id: str, deadline: float | None, progress: Progress
) -> JSON:
    """Follow the event stream until the execution ends or ``deadline`` passes; reconnects
    with Last-Event-ID when the stream breaks, so no event is shown twice."""
    import httpx

    last = 0
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            break
        read_timeout = 30.0 if remaining is None else max(0.1, min(remaining, 30.0))
        try:
            for event, data, event_id in client.events(execution_id, last, read_timeout):
                if event == "history":
                    last = int(event_id or last)
                    progress.history(data)
                elif event == "live":
                    progress.live_event(data)
                elif event == "end":
                    return data
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except httpx.ReadTimeout:
            continue
        except httpx.TransportError:
            time.sleep(0.5)  # the server went away for a moment: try again
        else:
            time.sleep(0.1)
    return client.json("GET", execution_path(execution_id))


@guarded
def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError

    if args.timeout is not None and not args.wait:
        raise UsageError("--timeout needs --wait")
    execution_input = read_json_argument(args.input, args.input_file, "input")
    body: dict[str, JSON] = {
        "stateMachine": args.state_machine,
        "input": {} if execution_input is None else execution_input,
    }
    if args.name:
        body["name"] = args.name
    with ApiClient.from_args(args) as client:
        if not args.wait:
            execution = client.json("POST", "/v1/executions", json=body)
            emit(args, execution, lambda e: f"{e['status']}  {e['executionId']}")
            return 0
        started = time.monotonic()
        deadline = None if args.timeout is None else started + args.timeout
        first = FIRST_WAIT if args.timeout is None else min(FIRST_WAIT, args.timeout)
        execution = client.json("POST", "/v1/executions", params={"wait": first}, json=body)
        if execution["status"] == "RUNNING":
            progress = Progress(sys.stderr.isatty() and not args.no_progress)
            progress.started = started
            try:
                execution = follow(client, execution["executionId"], deadline, progress)
            finally:
                progress.close()
    emit(args, execution, execution_text)
    if execution["status"] == "RUNNING":
        print("statemachine: still RUNNING after --timeout", file=sys.stderr)
    return 0 if execution["status"] == "SUCCEEDED" else 1
