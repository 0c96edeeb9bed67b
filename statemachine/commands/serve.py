"""``statemachine serve``: the REST API, the web page and an embedded worker, in one
process, on an SQLite file by default.

At start every definition in ``--definitions DIR`` is registered, named after its file
(``orders.asl.yaml`` -> ``orders``); a file that fails validation is logged and skipped.
For scale-out, point several ``serve --no-worker`` processes and several ``statemachine
worker`` processes at one PostgreSQL database.

The server refuses to listen on anything but a loopback address unless API tokens are
configured (``STATEMACHINE_API_TOKENS`` or ``--token-file``): an engine that runs workflows
on request must not be open to the network by accident.

FastAPI and uvicorn are imported only here, when the command runs.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from statemachine.service import Service

DEFINITION_SUFFIXES = (".asl.yaml", ".asl.yml", ".asl.json")
#: Same rule as the API's names (:data:`api.models.NAME_PATTERN`), without importing it.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,79}")

log = logging.getLogger("statemachine.serve")
#: Idle keep-alive connections are closed after this long. Longer than clients keep idle
#: connections (httpx and Node.js: 5 s), as nginx's 75 s is: when the server closes first,
#: a client that reuses the connection at that moment has its request cut off (a
#: "connection reset" on a start), and a loaded server's late timer makes that likely.
KEEP_ALIVE_SECONDS = 75.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs API tokens)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--db",
        default="./statemachine.db",
        metavar="URL",
        help="sqlite:///file.db, postgresql+psycopg://user@host/db, or a file "
        "path (default ./statemachine.db)",
    )
    parser.add_argument(
        "--definitions",
        default="definitions",
        metavar="DIR",
        help="register every *.asl.yaml/*.asl.json here at start (default definitions/)",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="serve the API only; run `statemachine worker` processes instead",
    )
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="PY_FILE_OR_MODULE",
        help="import tool handlers from a .py file or module (repeatable)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="tasks the embedded worker runs at once (default 16)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.25,
        metavar="S",
        help="how often the idle worker looks for work (default 0.25)",
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help="API tokens, one a line (added to $STATEMACHINE_API_TOKENS)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow cross-origin calls from ORIGIN (repeatable; off by default)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=2 * 1024 * 1024,
        metavar="N",
        help="largest request body (default 2 MiB)",
    )
    parser.add_argument(
        "--max-definition-bytes",
        type=int,
        default=1024 * 1024,
        metavar="N",
        help="largest definition (default 1 MiB)",
    )
    parser.add_argument(
        "--payload-limit",
        type=int,
        default=262_144,
        metavar="BYTES",
        help="largest execution input, task result and state input/output "
        "(default 262144, AWS's 256 KiB)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="cap on ?wait= and activity long polls (default 60)",
    )
    parser.add_argument(
        "--keep-alive",
        type=float,
        default=KEEP_ALIVE_SECONDS,
        metavar="S",
        help=f"how long an idle client connection stays open (default {KEEP_ALIVE_SECONDS:g})",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")


def definition_files(directory: Path) -> list[tuple[str, Path]]:
    """``(state machine name, file)`` for every definition file directly in ``directory``."""
    found = []
    for path in sorted(directory.iterdir()):
        for suffix in DEFINITION_SUFFIXES:
            if path.is_file() and path.name.endswith(suffix):
                found.append((path.name[: -len(suffix)], path))
    return found


def load_definitions(service: Service, directory: Path) -> list[str]:
    """Register each definition file; log and skip the ones that fail. Never raises."""
    if not directory.is_dir():
        log.info("no definitions folder at %s; starting without definitions", directory)
        return []
    loaded = []
    for name, path in definition_files(directory):
        if not _NAME.fullmatch(name):
            log.warning("skipped %s: %r is not a valid state machine name", path, name)
            continue
        try:
            version = service.register_state_machine(name, path)
        except Exception as exc:  # a bad file must never stop the server
            log.warning("skipped %s: %s", path, str(exc).splitlines()[0] if str(exc) else exc)
            continue
        loaded.append(name)
        log.info("registered %s (version %s) from %s", name, version.version[:12], path)
    return loaded


def run(args: argparse.Namespace) -> int:
    from statemachine import startup
    from statemachine.cli import UsageError

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations log every plugin
    extra_tokens: list[str] = []
    if args.token_file:
        from api.settings import parse_tokens

        try:
            extra_tokens = sorted(parse_tokens(Path(args.token_file).read_text()))
        except OSError as exc:
            raise UsageError(f"cannot read --token-file: {exc}") from exc
    from api.settings import TOKENS_ENV, Settings, is_loopback

    settings = Settings.from_env(
        extra_tokens=extra_tokens,
        max_body_bytes=args.max_body_bytes,
        max_definition_bytes=args.max_definition_bytes,
        max_wait_seconds=args.max_wait,
        cors_origins=tuple(args.cors_origin),
    )
    if not is_loopback(args.host) and not settings.api_tokens:
        raise UsageError(
            f"refusing to listen on {args.host} without API tokens: set {TOKENS_ENV} or "
            "--token-file (or listen on 127.0.0.1)"
        )
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    from statemachine.handlers.registry import load_handlers

    for spec in args.handlers:
        try:
            load_handlers(spec)
        except Exception as exc:
            raise UsageError(f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}") from exc

    import uvicorn

    from api.app import create_app
    from statemachine.service import Service

    try:
        service = Service(args.db, payload_limit=args.payload_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    load_definitions(service, Path(args.definitions))
    worker = None
    if not args.no_worker:
        worker = service.worker(concurrency=args.concurrency, poll_interval=args.poll_interval)
    app = create_app(service, settings, worker=worker)
    startup.resume()
    thread = worker.start_thread() if worker is not None else None
    if worker is not None:
        log.info("embedded worker %s started", worker.worker_id)
    if not settings.api_tokens:
        log.info("no API tokens configured: the API is open to anyone on this machine")
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        lifespan="off",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=args.keep_alive,
        server_header=False,
    )
    # uvicorn handles SIGTERM/SIGINT (graceful shutdown), then re-raises the signal to the
    # handlers that were there before it: make those no-ops, so that this function goes on
    # to stop the worker and returns 0 instead of the process dying of the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.Server(config).run()
    finally:
        if worker is not None and thread is not None:
            worker.stop()
            thread.join(worker.grace_seconds + 5)
        service.close()
    return 0
