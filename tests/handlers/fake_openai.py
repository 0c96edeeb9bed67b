"""A small OpenAI-compatible Chat Completions server on 127.0.0.1, scripted per test.

The real ``openai`` client talks to it over real HTTP, so requests, status codes,
headers and Server-Sent Events go through the same code paths as with a provider. Each
``POST .../chat/completions`` takes the next scripted :class:`Reply` (or asks the
``responder`` function, for scripts that depend on the request), and every request is
recorded in ``requests`` for assertions.

    with FakeOpenAI() as server:
        server.script(completion("hello"), error(429, headers={"Retry-After": "7"}))
        client = openai.OpenAI(base_url=server.url, api_key="test")
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON = Any


@dataclass
class Reply:
    """One scripted answer: a JSON body, or a list of SSE chunks when ``events`` is set.
    ``delay`` seconds pass before answering (cut short when the server stops)."""

    status: int = 200
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[JSON] | None = None
    delay: float = 0.0


@dataclass
class Request:
    """A recorded request; header names are lower-cased."""

    path: str
    headers: dict[str, str]
    body: JSON


# --- reply builders ---------------------------------------------------------------------------


def tool_call(name: str, arguments: JSON, call_id: str | None = None) -> dict[str, JSON]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "id": call_id or f"call_{name}",
        "type": "function",
        "function": {"name": name, "arguments": text},
    }


def completion(
    content: str | None = None,
    *,
    tool_calls: list[JSON] | None = None,
    finish_reason: str | None = None,
    model: str = "fake-model",
    usage: dict[str, int] | None = None,
    refusal: str | None = None,
) -> Reply:
    message: dict[str, JSON] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if refusal is not None:
        message["refusal"] = refusal
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": usage or {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }
    return Reply(body=body)


def stream(
    pieces: Iterable[str] = (),
    *,
    tool_calls: list[JSON] | None = None,
    model: str = "fake-model",
    usage: dict[str, int] | None = None,
) -> Reply:
    """SSE chunks as OpenAI streams them: a role chunk, one chunk per content piece,
    tool calls split into a head (id, name) and argument fragments, a finish chunk and
    a final usage chunk with no choices."""

    def chunk(delta: JSON, finish: str | None = None) -> JSON:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces]
    for index, call in enumerate(tool_calls or ()):
        args = call["function"]["arguments"]
        head = {"index": index, "id": call["id"], "type": "function"}
        head["function"] = {"name": call["function"]["name"], "arguments": ""}
        events.append(chunk({"tool_calls": [head]}))
        middle = len(args) // 2
        for part in (args[:middle], args[middle:]):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            )
    events.append(chunk({}, "tool_calls" if tool_calls else "stop"))
    events.append(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [],
            "usage": usage or {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }
    )
    return Reply(events=events)


def error(
    status: int,
    message: str = "scripted failure",
    *,
    code: str | None = None,
    kind: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return Reply(status=status, body=body, headers=dict(headers or {}))


def slow(seconds: float, reply: Reply | None = None) -> Reply:
    """``reply`` (a plain completion by default) after ``seconds``."""
    base = reply or completion("too late")
    base.delay = seconds
    return base


# --- the server -------------------------------------------------------------------------------


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.responder: Callable[[JSON], Reply] | None = None
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -----------------------------------------------------------------------------

    def script(self, *replies: Reply) -> FakeOpenAI:
        with self._lock:
            self._replies.extend(replies)
        return self

    def respond_with(self, responder: Callable[[JSON], Reply]) -> FakeOpenAI:
        """Answer every request with ``responder(request body)`` (after the queue)."""
        self.responder = responder
        return self

    def next_reply(self, body: JSON) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        if self.responder is not None:
            return self.responder(body)
        return error(500, "the fake server has no scripted reply left", kind="server_error")

    @property
    def bodies(self) -> list[JSON]:
        return [r.body for r in self.requests]

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The base URL an OpenAI client takes (``.../v1``)."""
        return self.root + "/v1"

    def start(self) -> FakeOpenAI:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, the body ends when the socket closes
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode(errors="replace")
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.requests.append(Request(self.path, headers, body))
            if not self.path.split("?")[0].endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            reply = fake.next_reply(body)
            if reply.delay and fake.stopping.wait(reply.delay):
                return
            try:
                if reply.events is not None:
                    self._send_events(reply)
                else:
                    self._send_json(reply.status, reply.body, reply.headers)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up
                return

        def _send_json(self, status: int, body: JSON, headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_events(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            for event in reply.events or ():
                self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler
