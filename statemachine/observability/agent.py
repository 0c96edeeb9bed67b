"""Exporting spans from a helper process, so the engine's thread does not pay for it.

Encoding a span for OTLP costs several times what the interpreter spends on a state
transition, and in CPython a background thread still takes that time from the engine
(one interpreter lock). So the engine only queues what the spans are made of: finished
records, the in-memory runner's steps (:class:`~.observer.RunnerFeed`), a durable
database's committed history rows (:class:`~.rows.RowFeed`). A thread ships them every
``STATEMACHINE_OTEL_FLUSH_MS`` (200 ms) or every batch to a child process, ``python -m
statemachine.observability.exporter`` (:mod:`.exporter`): records and rows as JSON lines,
steps as pickled frames (see :func:`~.exporter.frame`). The child builds the spans and
runs the exporter named by ``OTEL_TRACES_EXPORTER`` (OTLP over HTTP by default, with the
standard ``OTEL_EXPORTER_OTLP_*`` settings: the child inherits the environment).

When the engine process dies, even by ``kill -9``, the child reads end-of-file, exports
what it received and exits; only the records of the last flush interval are lost. At a
normal exit the queue is flushed first. Beyond ``OTEL_BSP_MAX_QUEUE_SIZE`` queued
records (default 2048 per interval, as the SDK's batch processor) new ones are dropped
and counted in :attr:`AgentSink.dropped`.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

import orjson

from statemachine.observability.exporter import encode_steps
from statemachine.observability.spans import SpanRecord

log = logging.getLogger("statemachine.observability")
BATCH = 512
EVENT_BATCH = 2048  # history events per wake-up (a transition writes two or three)
DEFAULT_BUDGET = 0.05  # share of a core that tracing in-memory executions may cost
#: What tracing one in-memory step costs the engine beyond the shipping thread's own CPU
#: (seconds): queueing it, the garbage the queue keeps alive, waiting for the interpreter
#: lock while the shipper holds it. Measured on the 2-core development machine as the
#: slow-down of the in-memory runner at a traced share of 5 to 20% (bench/tracing.py,
#: workloads c to e), divided by the steps traced: 4 to 14 us per step, most of it not in
#: the shipping thread; set near the largest, so the budget errs on the safe side.
STEP_COST = 12e-6
#: Queued steps beyond which new in-memory executions run untraced at once: the exporter
#: process is behind, and a longer queue costs the engine's thread garbage-collector
#: passes over every object it keeps alive (tens of milliseconds per pass at 100,000).
BACKLOG = 4 * EVENT_BATCH
SHIP_HERE = 256  # queued steps that an execution's start ships from the engine's thread


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of process ``pid`` (None where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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
        self.command = command or [sys.executable, "-m", "statemachine.observability.exporter"]
        self.env = None if env is None else dict(env)  # the exporter's; default: ours
        self.delay = _env_int("STATEMACHINE_OTEL_FLUSH_MS", 200) / 1000
        self.max_queue = max(BATCH, _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048))
        self.dropped = 0
        self.shed = 0  # in-memory executions left untraced to bound the overhead
        self.load = 0.0  # recent share of one core tracing cost (see admit)
        budget = os.environ.get("STATEMACHINE_OTEL_CPU_BUDGET", str(DEFAULT_BUDGET))
        try:
            self.cpu_budget = float(budget)
        except ValueError:
            self.cpu_budget = DEFAULT_BUDGET
        self.steps_queued = 0  # in-memory steps shipped so far (see STEP_COST)
        self.admit_share = 1.0  # share of new in-memory executions traced (see adjust)
        self._credit = 0.0
        self._cpu_clock: int | None = None  # the shipping thread's CPU-time clock
        self.shipped_here_seconds = 0.0  # spent shipping in the engine's threads
        self.exporter_seconds = 0.0  # CPU time of the exporter processes (see _measure)
        self._exporter_cpu: tuple[int, float] | None = None  # (pid, its CPU time) last read
        # (when, shipping seconds so far in both places, steps) at the last measurement
        self._last = (time.monotonic(), 0.0, 0)
        self.exported = 0
        self.events_shipped = 0
        self._queue: list[SpanRecord] = []
        self._carry = b""  # the unwritten rest of a message (see ship_here)
        # The steps of in-memory executions, each with its history events (see
        # RunnerFeed): the spans are built from them in the exporter process.
        self.events: list[tuple[Any, ...]] = []
        # History rows committed to durable databases (see RowFeed): (database URL, rows).
        self.rows: list[tuple[str, list[dict[str, Any]]]] = []
        self.pending_rows = 0
        self.streams = itertools.count(1)
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

    def wake(self) -> None:
        """Called by a feed once per :data:`EVENT_BATCH` queued events."""
        if not self.ship_here():
            self._wake.set()

    def ship_here(self) -> bool:
        """Ship the queued steps from the calling (engine) thread, when that cannot block:
        the pipe has room for them and no other thread is writing. Handing the work to the
        shipping thread costs the engine more than the work (in CPython the two take
        turns at one interpreter lock). False: nothing shipped (the thread will).

        The write itself is non-blocking: the room the kernel reports is in bytes, but a
        pipe holds whole pages, so a write that "fits" could still wait (for 100 ms and
        more, seen) until the exporter process reads. What the pipe does not take now is
        left in :attr:`_carry`, which the shipping thread writes before anything else."""
        if not self.events or self._carry or not self._lock.acquire(blocking=False):
            return False
        started = time.perf_counter()
        try:
            process = self._process
            if process is None or process.stdin is None or process.poll() is not None:
                return False
            room = _pipe_room(process.stdin)
            if room is None:
                return False
            steps = self.events[:]
            try:
                data = encode_steps(steps)
            except Exception:  # let the thread report it
                return False
            if len(data) > room:
                return False
            del self.events[: len(steps)]
            self.steps_queued += len(steps)
            self.events_shipped += _events_in(steps)
            try:
                process.stdin.flush()  # (nothing is left buffered: every writer flushes)
                written = _write_now(process.stdin.fileno(), data)
            except (BrokenPipeError, OSError) as exc:
                log.warning("could not ship history events to the exporter process: %s", exc)
                self.dropped += len(steps)
                self._lost()
                return True
            if written < len(data):
                self._carry = data[written:]
                self._wake.set()
            return True
        finally:
            self._lock.release()
            self.shipped_here_seconds += time.perf_counter() - started

    def started(self) -> None:
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

    def admit(self) -> bool:
        """Whether to trace one more in-memory execution (decided once, at its start).

        Tracing an in-memory execution costs the exporter process the building and
        encoding of its spans (on a machine without a spare core, taken from the
        engine), this process the shipping thread's CPU (in CPython taken from the
        engine's thread: one interpreter lock) and, in the engine's own thread, queueing
        every step and collecting the garbage that the queue keeps alive, estimated at
        :data:`STEP_COST` per step. When that sum over the last half second is above
        ``STATEMACHINE_OTEL_CPU_BUDGET`` of a core (default 0.05; a large number turns
        shedding off), or the queue has grown past
        what the thread ships in one go, new executions run untraced, whole (never a
        trace with holes), and are counted in :attr:`shed`, until it has caught up:
        under a flood of trivial executions, bounded overhead and whole traces, as a
        rate-limiting sampler gives, instead of events dropped at random. Executions
        whose steps do real work (a model call, I/O) cost little per second and are all
        traced; so are all durable ones, whose commits dwarf the cost.

        The share admitted is steered every half second (:meth:`adjust`) and applied
        evenly (every n-th execution), not on and off: a whole interval traced at full
        cost, then one untraced, would average the budget out at the cost of a far
        larger overhead half of the time."""
        self._measure()
        if len(self.events) >= SHIP_HERE:
            self.ship_here()
        if len(self.events) > BACKLOG:
            self.shed += 1
            return False
        self._credit += self.admit_share
        if self._credit >= 1.0:
            self._credit -= 1.0
            return True
        self.shed += 1
        return False

    def adjust(self, load: float) -> None:
        """Steer :attr:`admit_share` towards the budget, given the cost ``load`` (share
        of a core) measured at the current share: the cost is proportional to the share
        traced, so the share that meets the budget is ``share * budget / load``; each
        step moves by at most a factor of 2 up or 4 down, so one odd interval does not
        swing it."""
        self.load = load
        share = self.admit_share
        target = share * 2 if load <= 0 else share * self.cpu_budget / load
        self.admit_share = min(1.0, max(0.001, share / 4, min(share * 2, target)))

    def _run(self) -> None:
        self._cpu_clock = _thread_cpu_clock()
        while not self._closed:
            self._wake.wait(self.delay)
            self._wake.clear()
            self.flush()

    def _measure(self) -> None:
        """Every half second, from :meth:`admit` (so also while the shipping thread waits
        on a full pipe): the cost of tracing since the last time (the exporter process's
        CPU, shipping in the shipping thread and in :meth:`ship_here`, plus
        :data:`STEP_COST` per step), as a share of a core, handed to :meth:`adjust` when
        in-memory executions ran."""
        wall = time.monotonic()
        last_wall, last_cpu, last_steps = self._last
        if wall - last_wall < 0.5:
            return
        try:
            clock = self._cpu_clock
            used = time.clock_gettime(clock) if clock is not None else 0.0
        except OSError:  # the thread has ended
            self._cpu_clock, used = None, 0.0
        used += self.shipped_here_seconds + self._exporter_seconds()
        queued = len(self.events)
        steps = self.steps_queued + queued
        if steps != last_steps:  # else no in-memory execution ran: nothing learnt
            cost = (used - last_cpu + (steps - last_steps) * STEP_COST) / (wall - last_wall)
            if queued > EVENT_BATCH:
                # The exporter process is behind (the pipe is full): the queue grows, and
                # with it the garbage collector's passes over it, which the engine pays.
                # Trace less until it has caught up, whatever the shipping cost here.
                cost = max(cost, 2 * self.cpu_budget)
            self.adjust(cost)
        self._last = (wall, used, steps)

    def _exporter_seconds(self) -> float:
        """CPU time the exporter processes have used so far (Linux; elsewhere 0): building
        and encoding the spans is most of what tracing costs, and on a machine without a
        spare core it is taken from the engine. A new process's CPU before its first
        reading (its start-up, importing the SDK) is not counted."""
        process = self._process
        if process is not None:
            used = _cpu_seconds(process.pid)
            if used is not None:
                last = self._exporter_cpu
                if last is not None and last[0] == process.pid:
                    self.exporter_seconds += used - last[1]
                self._exporter_cpu = (process.pid, used)
        return self.exporter_seconds

    def flush(self) -> None:
        """Ship what is queued now (the caller waits until it is in the pipe)."""
        with self._lock:
            self._flush_carry()
            self._flush_events()
            self._flush_rows()
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

    def _flush_carry(self) -> None:
        """The rest of a message that :meth:`ship_here` could not write without waiting:
        first, so that the messages on the pipe stay whole and in order."""
        carry, self._carry = self._carry, b""
        if not carry:
            return
        process = self._process
        if process is None or process.stdin is None or process.poll() is not None:
            return  # the process it was meant for is gone, and with it the stream
        try:
            process.stdin.write(carry)
            process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            log.warning("could not ship history events to the exporter process: %s", exc)
            self._lost()

    def _flush_events(self) -> None:
        """Ship the queued steps as pickled frames (see :func:`~.exporter.frame`), one per chunk.

        Pickling runs in C, allocates no Python containers (so it hardly feeds the
        garbage collector, whose passes the engine's thread pays for too) and writes a
        payload shared by several events once; the exporter process measures the
        payloads. The producer wakes this thread every EVENT_BATCH steps, so the queue
        stays short unless the exporter process falls behind (the pipe is full); then,
        beyond 64 times ``OTEL_BSP_MAX_QUEUE_SIZE`` steps, the rest are dropped rather
        than letting memory grow (the spans they would have opened or closed are lost;
        counted in :attr:`dropped` as steps)."""
        steps = self.events[:]
        del self.events[: len(steps)]
        if not steps:
            return
        self.steps_queued += len(steps)
        limit = 64 * self.max_queue
        if len(steps) > limit:
            self.dropped += len(steps) - limit
            del steps[limit:]
        pipe = self._pipe()
        if pipe is None:
            self.dropped += len(steps)
            return
        try:
            for start in range(0, len(steps), BATCH):
                chunk = steps[start : start + BATCH]
                try:
                    data = encode_steps(chunk)
                except Exception as exc:  # a payload that cannot be pickled: lose the chunk
                    log.warning("could not encode history events for the exporter: %s", exc)
                    self.dropped += len(chunk)
                    continue
                pipe.write(data)
                self.events_shipped += _events_in(chunk)
            pipe.flush()
        except (BrokenPipeError, OSError) as exc:
            log.warning("could not ship history events to the exporter process: %s", exc)
            self.dropped += len(steps)
            self._lost()

    def _flush_rows(self) -> None:
        """Ship committed history rows as ``{"db": url, "r": [...]}`` lines. A row's
        details are JSON text already, sent as a string: nothing is parsed here. Beyond 64
        times ``OTEL_BSP_MAX_QUEUE_SIZE`` rows (the exporter process is behind) the rest
        are dropped; the exporter then reads the history it missed from the database, but
        cannot emit the spans of those rows."""
        batches = self.rows[:]
        del self.rows[: len(batches)]
        self.pending_rows = 0
        if not batches:
            return
        by_db: dict[str, list[tuple[Any, ...]]] = {}
        kept = 0
        limit = 64 * self.max_queue
        for key, rows in batches:
            if kept + len(rows) > limit:
                self.dropped += len(rows)
                continue
            kept += len(rows)
            by_db.setdefault(key, []).extend(
                (r["execution_id"], r["id"], r["type"], r["timestamp"], r["frame_id"], r["details"])
                for r in rows
            )
        pipe = self._pipe()
        if pipe is None:
            self.dropped += kept
            return
        try:
            for key, items in by_db.items():
                for start in range(0, len(items), EVENT_BATCH):
                    line = {"db": key, "r": items[start : start + EVENT_BATCH]}
                    pipe.write(_dumps(line) + b"\n")
            pipe.flush()
            self.events_shipped += kept
        except (BrokenPipeError, OSError, TypeError, ValueError) as exc:
            log.warning("could not ship history rows to the exporter process: %s", exc)
            self.dropped += kept
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
            _grow_pipe(self._process.stdin)
        except OSError as exc:  # pragma: no cover - no Python to start
            log.warning("could not start the span exporter process: %s", exc)
            self._failures += 1
            return None
        return self._process.stdin

    def _lost(self) -> None:
        self._failures += 1
        self._carry = b""
        process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()

    def _forget(self) -> None:
        """In a forked child: the pipe and the thread belong to the parent."""
        self._queue.clear()
        self.events.clear()
        self.rows.clear()
        self._carry = b""
        self._process = None
        self._thread = None
        self._cpu_clock = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def backlog(self) -> int:
        """What is not yet with the exporter process: records, steps and rows queued
        here, plus the bytes in the pipe it has not read (0: it has everything; it may
        still be encoding the last of it)."""
        queued = len(self._queue) + len(self.events) + self.pending_rows + len(self._carry)
        process = self._process
        if process is not None and process.stdin is not None and not process.stdin.closed:
            queued += _pipe_unread(process.stdin) or 0
        return queued

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


_F_SETPIPE_SZ, _F_GETPIPE_SZ = 1031, 1032  # Linux fcntl commands


def _grow_pipe(pipe: IO[bytes] | None) -> None:
    """A pipe of 1 MiB (Linux; the unprivileged maximum by default) instead of 64 KiB, so
    the engine's thread can more often write without blocking (see ship_here)."""
    if pipe is None:
        return
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import fcntl

        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, 1 << 20)


def _pipe_room(pipe: IO[bytes]) -> int | None:
    """Bytes that can be written to ``pipe`` now without blocking (Linux), else None."""
    try:
        import fcntl

        size = fcntl.fcntl(pipe.fileno(), _F_GETPIPE_SZ)
    except (OSError, AttributeError, ValueError, ImportError):
        return None
    unread = _pipe_unread(pipe)
    return None if unread is None else size - unread


def _pipe_unread(pipe: IO[bytes]) -> int | None:
    """Bytes written to ``pipe`` that the reader has not read yet (Linux), else None."""
    try:
        import fcntl
        import termios

        unread = fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, AttributeError, ValueError, ImportError):
        return None
    return int.from_bytes(unread, sys.byteorder)


def _write_now(fd: int, data: bytes) -> int:
    """Write what the pipe ``fd`` takes of ``data`` without waiting; the bytes written."""
    import fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)


def _thread_cpu_clock() -> int | None:
    """The calling thread's CPU-time clock, readable from other threads (POSIX)."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):  # pragma: no cover - not POSIX
        return None


def _events_in(steps: list[tuple[Any, ...]]) -> int:
    """History events in ``steps`` (a stream header, id 0, carries none)."""
    return sum(len(step[2]) for step in steps if step[1])


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits in a payload
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
