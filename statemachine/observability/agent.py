"""Exporting spans from a helper process, so the engine's thread does not pay for it.

Encoding a span for OTLP costs several times what the interpreter spends on a state
transition, and in CPython a background thread still takes that time from the engine
(one interpreter lock). So the engine only queues finished records; a thread ships them
every ``STATEMACHINE_OTEL_FLUSH_MS`` (200 ms) or every 512 spans as one JSON line to a
child process, ``python -m statemachine.observability.agent``, which builds the SDK spans
and runs the exporter named by ``OTEL_TRACES_EXPORTER`` (OTLP over HTTP by default, with
the standard ``OTEL_EXPORTER_OTLP_*`` settings: the child inherits the environment).

When the engine process dies, even by ``kill -9``, the child reads end-of-file, exports
what it received and exits; only the records of the last flush interval are lost. At a
normal exit the queue is flushed first. Beyond ``OTEL_BSP_MAX_QUEUE_SIZE`` queued
records (default 2048 per interval, as the SDK's batch processor) new ones are dropped
and counted in :attr:`AgentSink.dropped`.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import IO

import orjson

from statemachine.observability.spans import SpanRecord

log = logging.getLogger("statemachine.observability")
BATCH = 512


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class AgentSink:
    """Queue span records and ship them to an exporter child process."""

    def __init__(
        self, command: list[str] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.command = command or [sys.executable, "-m", "statemachine.observability.agent"]
        self.env = None if env is None else dict(env)  # the exporter's; default: ours
        self.delay = _env_int("STATEMACHINE_OTEL_FLUSH_MS", 200) / 1000
        self.max_queue = max(BATCH, _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048))
        self.dropped = 0
        self.exported = 0
        self._queue: list[SpanRecord] = []
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one writer to the pipe at a time
        self._process: subprocess.Popen[bytes] | None = None
        self._failures = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        atexit.register(self.shutdown)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def __call__(self, record: SpanRecord) -> None:
        queue = self._queue  # never replaced: taking from it and appending both hold the GIL
        queue.append(record)
        if len(queue) == BATCH:  # once per batch: Event.set is not cheap
            self._wake.set()
        if self._thread is None:
            self._start()

    # -- shipping ----------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="statemachine-otel", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.delay)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Ship what is queued now (the caller waits until it is in the pipe)."""
        with self._lock:
            batch = self._queue[:]
            del self._queue[: len(batch)]
            if not batch:
                return
            if len(batch) > self.max_queue:
                self.dropped += len(batch) - self.max_queue
                del batch[self.max_queue :]
            pipe = self._pipe()
            if pipe is None:
                self.dropped += len(batch)
                return
            try:
                for start in range(0, len(batch), BATCH):
                    chunk = batch[start : start + BATCH]
                    pipe.write(orjson.dumps([tuple(r) for r in chunk]) + b"\n")
                pipe.flush()
                self.exported += len(batch)
            except (BrokenPipeError, OSError, TypeError) as exc:
                log.warning("could not ship spans to the exporter process: %s", exc)
                self.dropped += len(batch)
                self._lost()

    def _pipe(self) -> IO[bytes] | None:
        process = self._process
        if process is not None and process.poll() is None:
            return process.stdin
        if process is not None:
            self._lost()
        if self._failures > 3:
            return None
        try:
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=self.env
            )
        except OSError as exc:  # pragma: no cover - no Python to start
            log.warning("could not start the span exporter process: %s", exc)
            self._failures += 1
            return None
        return self._process.stdin

    def _lost(self) -> None:
        self._failures += 1
        process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()

    def _forget(self) -> None:
        """In a forked child: the pipe and the thread belong to the parent."""
        self._queue.clear()
        self._process = None
        self._thread = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Flush, close the pipe and give the exporter ``timeout`` seconds to finish."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._wake.set()
        process = self._process
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            log.warning("the span exporter process did not finish in %.0f s", timeout)


def main(stream: IO[bytes] | None = None) -> int:
    """The child: read JSON lines of records, count the span metrics, export the sampled
    spans; at end of input flush both and stop."""
    from statemachine.observability.metrics import SpanMetrics, provider_from_env
    from statemachine.observability.sdk import (
        decode,
        default_resource,
        exporter_from_env,
        to_readable,
    )

    exporter = exporter_from_env()
    provider = provider_from_env()
    metrics = SpanMetrics(provider) if provider is not None else None
    resource = default_resource()
    source = stream if stream is not None else sys.stdin.buffer
    try:
        for line in source:
            if not line.strip():
                continue
            try:
                records = [decode(row) for row in orjson.loads(line)]
            except (ValueError, TypeError) as exc:
                print(f"statemachine otel agent: bad record: {exc}", file=sys.stderr)
                continue
            if metrics is not None:
                for record in records:
                    metrics(record)
            if exporter is not None:
                spans = [to_readable(r, resource) for r in records if r.sampled]
                if spans:
                    exporter.export(spans)
    finally:
        if exporter is not None:
            exporter.shutdown()
        if metrics is not None:
            metrics.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
