"""What the client commands (``start``, ``describe``, ``list``, ``history``, ``stop``,
``redrive``, ``send-success``, ``send-failure``) share: the server address and token, an
HTTP client (httpx, imported only when a client command runs), error reporting, and the
``--json``/``--query`` output.

The server is ``--url``, else ``STATEMACHINE_URL``, else ``http://127.0.0.1:8000``. The
token is ``--token``, else ``STATEMACHINE_TOKEN``, else the first of the server-side
``STATEMACHINE_API_TOKENS`` (handy when client and server share a shell).

Exit codes: 0 success; 1 the server refused the request, could not be reached, or (for
``start --wait``) the execution did not succeed; 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from statemachine.commands._output import add_query_argument, print_json

if TYPE_CHECKING:
    import httpx

URL_ENV = "STATEMACHINE_URL"
TOKEN_ENV = "STATEMACHINE_TOKEN"
SERVER_TOKENS_ENV = "STATEMACHINE_API_TOKENS"
DEFAULT_URL = "http://127.0.0.1:8000"

JSON = Any


class ClientError(Exception):
    """The request failed: printed as one message (plus any definition problems), exit 1."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", metavar="URL", help=f"the server (default ${URL_ENV} or {DEFAULT_URL})"
    )
    parser.add_argument("--token", metavar="TOKEN", help=f"API token (default ${TOKEN_ENV})")
    parser.add_argument(
        "--http-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for the server to answer one request (default 30)",
    )


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    add_query_argument(parser)


def wants_json(args: argparse.Namespace) -> bool:
    return bool(args.json or args.query)


def emit(args: argparse.Namespace, value: JSON, text: Callable[[JSON], str]) -> None:
    """``--json``/``--query``: JSON on stdout; otherwise ``text(value)``."""
    if wants_json(args):
        print_json(value, args.query)
    else:
        out = text(value)
        if out:
            sys.stdout.write(out if out.endswith("\n") else out + "\n")


def read_json_argument(text: str | None, file: str | None, what: str) -> JSON:
    """A JSON value from ``--X JSON`` or ``--X-file F`` (``-`` is stdin); None if neither."""
    from statemachine.cli import UsageError

    where = f"--{what}"
    if file is not None:
        where = file
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {what} file: {exc}") from exc
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def execution_path(execution_id: str) -> str:
    return f"/v1/executions/{quote(execution_id, safe=':')}"


class ApiClient:
    """A thin wrapper over ``httpx.Client`` that turns problem+json answers into
    :class:`ClientError`."""

    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        import httpx

        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ApiClient:
        url = args.url or os.environ.get(URL_ENV) or DEFAULT_URL
        token = args.token or os.environ.get(TOKEN_ENV)
        if not token:
            server_tokens = os.environ.get(SERVER_TOKENS_ENV, "")
            token = next((t.strip() for t in server_tokens.split(",") if t.strip()), None)
        return cls(url, token, args.http_timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx

        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ClientError(f"the server at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach the server at {self.url}: {exc}") from None
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def events(
        self, execution_id: str, after: int, read_timeout: float
    ) -> Iterator[tuple[str, JSON, str | None]]:
        """Server-Sent Events of an execution as ``(event, data, id)``, resuming after
        history event ``after``. Ends with the stream (after ``end``); raises
        ``httpx.ReadTimeout`` when nothing (not even a keep-alive) came for
        ``read_timeout`` seconds."""
        import httpx

        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        path = execution_path(execution_id) + "/events"
        with self.http.stream("GET", path, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from(response)
            event, data, event_id = "message", [], None
            for line in response.iter_lines():
                if not line:
                    if data:
                        yield event, json.loads("\n".join(data)), event_id
                    event, data, event_id = "message", [], None
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "event":
                        event = value
                    elif field == "data":
                        data.append(value)
                    elif field == "id":
                        event_id = value


def error_from(response: httpx.Response) -> ClientError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        slug = str(body.get("type", "")).rsplit(":", 1)[-1]
        message = f"{response.status_code} {slug}: {body['detail']}"
        return ClientError(message, body.get("problems") or [])
    return ClientError(f"{response.status_code} {response.reason_phrase}")


def guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command's ``run``: a :class:`ClientError` is printed, exit code 1."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except ClientError as exc:
            print(f"statemachine: error: {exc}", file=sys.stderr)
            for problem in exc.problems:
                where = (
                    f"{problem.get('line')}:{problem.get('column')}: "
                    if problem.get("line")
                    else ""
                )
                print(
                    f"  {where}[{problem.get('rule')}] {problem.get('message')} "
                    f"(at {problem.get('path')})",
                    file=sys.stderr,
                )
            return 1

    wrapper.__doc__ = run.__doc__
    return wrapper


def execution_text(execution: JSON) -> str:
    """``describe``-style text: one field a line, the output as indented JSON."""
    lines = [
        f"executionId:  {execution['executionId']}",
        f"status:       {execution['status']}",
        f"stateMachine: {execution['stateMachine']}",
        f"startDate:    {execution['startDate']}",
    ]
    if execution.get("stopDate"):
        lines.append(f"stopDate:     {execution['stopDate']}")
    if execution.get("redriveCount"):
        lines.append(f"redriveCount: {execution['redriveCount']}")
    if execution.get("error") or execution.get("cause"):
        lines.append(f"error:        {execution.get('error')}")
        lines.append(f"cause:        {execution.get('cause')}")
    if execution["status"] == "SUCCEEDED":
        lines.append("output:")
        body = json.dumps(execution.get("output"), indent=2, ensure_ascii=False)
        lines.extend("  " + line for line in body.splitlines())
    return "\n".join(lines)
