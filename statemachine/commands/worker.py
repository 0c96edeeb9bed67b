"""``statemachine worker --db URL``: run workflows from a database until SIGTERM/SIGINT.

Run as many as you like against one PostgreSQL database (or a few on one SQLite file):
they share the work through leases. A worker restarted with the same ``--worker-id`` takes
its own frames back at once; frames of a worker that vanished are taken over by the others
once their lease expires.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        required=True,
        metavar="URL",
        help="sqlite:///file.db, postgresql://user@host/db, or a file path",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help="frames held (tasks running) at once (default 16)",
    )
    parser.add_argument(
        "--worker-id",
        metavar="ID",
        help="a stable id, so that a restarted worker reclaims its frames at once",
    )
    parser.add_argument(
        "--handlers",
        action="append",
        default=[],
        metavar="PY_FILE_OR_MODULE",
        help="import tool handlers from a .py file or module (repeatable)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="how long another worker waits before taking over (default 30)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.25,
        metavar="S",
        help="how often an idle worker looks for work (default 0.25)",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=30.0,
        metavar="S",
        help="on SIGTERM, how long running tasks may take to finish (default 30)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")


def run(args: argparse.Namespace) -> int:
    from statemachine import startup
    from statemachine.cli import UsageError
    from statemachine.handlers.registry import load_handlers

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for spec in args.handlers:
        try:
            load_handlers(spec)
        except Exception as exc:
            raise UsageError(f"cannot load handlers {spec!r}: {type(exc).__name__}: {exc}") from exc

    import statemachine.model.build  # noqa: F401  (the first claim builds a definition)
    from statemachine.engine.worker import Worker

    try:
        worker = Worker(
            args.db,
            worker_id=args.worker_id,
            concurrency=args.concurrency,
            lease_seconds=args.lease_seconds,
            poll_interval=args.poll_interval,
            grace_seconds=args.grace_seconds,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    worker.install_signal_handlers()
    startup.resume()
    logging.getLogger("statemachine.worker").info(
        "worker %s started (concurrency %d)", worker.worker_id, worker.concurrency
    )
    clean = worker.run()
    logging.getLogger("statemachine.worker").info("worker %s stopped", worker.worker_id)
    if not clean:
        # A handler thread ignored the grace period: do not wait for it at exit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
