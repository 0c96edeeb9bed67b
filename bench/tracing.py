"""Tracing overhead: transitions/s with OpenTelemetry on and off, interleaved in one run.

    pip install -e '.[otel]'
    python bench/tracing.py [--seconds 1] [--rounds 40] [--no-durable]

"On" is what a user gets from ``OTEL_EXPORTER_OTLP_ENDPOINT=...``: spans for every
execution, state, task, iteration and branch, shipped to the exporter process and sent
over OTLP/HTTP to a collector stand-in (a separate process on 127.0.0.1 that counts the
bytes), plus the metrics. "Off" is the same code with no observer (the hooks are a
``None`` check). Each round measures off and on for ``--seconds`` each (off first in
even rounds, on first in odd ones). The table shows the median rate of the rounds and
the change: the mean of the per-round ratios on / off (geometric; only same-run ratios
mean anything on a shared machine), with its 95% confidence interval (bootstrap over the
rounds: how far the noise of this machine leaves the mean uncertain; more rounds narrow
it), as wall-clock transitions/s and as transitions per CPU-second of the benchmark
process (which leaves out the exporter and collector processes: on a machine without a
spare core they compete with the engine for the CPU, and the wall-clock figure shows
that too). The target holds where the whole interval is above -10%.

Workloads: the durable engine on SQLite, (a) one 100-state chain (50 Pass + 50 Task, a
trivial tool) on an embedded worker, (b) 20 such chains at once; the in-memory runner on
(c) a 50-step Task chain, (d) a 200-state Pass chain carrying 1 KB and (e) a Map over
1,000 items with a Pass inside (d and e as in bench/interpreter.py: one span per trivial
transition, the worst case). Target: tracing on at most 10 % slower.

Before each measurement the benchmark waits until the exporter process has caught up
with everything earlier (nothing queued for it, its CPU time still), so that neither side
of a comparison runs while the exporter still works through the previous one's spans;
"catch-up" is how long that took after the "on" runs (median): the exporter's work that
was still queued when the run ended.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Counts bytes only, at the lowest priority: decoding, or competing with the engine for the
# CPU, is what a real collector on another machine does not do.
COLLECTOR = r"""
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
os.nice(19)

received = 0

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global received
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/traces":
            received += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        data = str(received).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_collector() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", COLLECTOR, str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def received(url: str) -> int:
    return int(urllib.request.urlopen(url, timeout=5).read())


# -- workloads -----------------------------------------------------------------------------

DATA = {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(20)]}


def pass_chain(length: int) -> dict[str, Any]:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length)}
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def map_items() -> dict[str, Any]:
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    return {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": True}},
    }


def task_chain(length: int, every: int = 1) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        nxt = {"Next": f"S{i + 1}"} if i + 1 < length else {"End": True}
        if i % every == every - 1:
            states[f"S{i}"] = {"Type": "Task", "Resource": "tool:inc", "ResultPath": "$.n", **nxt}
        else:
            states[f"S{i}"] = {"Type": "Pass", **nxt}
    return {"StartAt": "S0", "States": states}


def inc(payload: Any, ctx: Any) -> Any:
    return (payload.get("n") or 0) + 1


# (observer, seconds) -> transitions per s, per cpu-s, executions run
Measure = Callable[[Any, float], tuple[float, float, int]]


def runner_case(definition: dict[str, Any], data: Any, transitions: int) -> Measure:
    from statemachine.clock import VirtualClock
    from statemachine.handlers.registry import ToolRegistry
    from statemachine.model.build import build
    from statemachine.runner import Runner

    registry = ToolRegistry()
    registry.register("inc", inc)
    machine = build(definition)

    def measure(observer: Any, seconds: float) -> tuple[float, float, int]:
        runner = Runner(
            machine,
            registry=registry,
            clock=VirtualClock(),
            record_history=False,
            observer=observer,
        )
        runner.run(data)  # warm up
        runs = 0
        start, cpu = time.perf_counter(), time.process_time()
        while True:
            result = runner.run(data)
            assert result.status == "SUCCEEDED", result
            runs += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                used = time.process_time() - cpu
                return runs * transitions / elapsed, runs * transitions / used, runs

    return measure


def durable_case(workdir: Path, executions: int) -> Measure:
    from statemachine.engine.worker import Worker
    from statemachine.handlers.registry import ToolRegistry
    from statemachine.service import Service

    registry = ToolRegistry()
    registry.register("inc", inc)
    definition = task_chain(100, every=2)
    counter = iter(range(1_000_000))

    def measure(observer: Any, seconds: float) -> tuple[float, float, int]:
        # The service and the worker attach the environment's observer themselves.
        os.environ["STATEMACHINE_OTEL"] = "1" if observer is not None else "0"
        service = Service(f"sqlite:///{workdir}/bench-{next(counter)}.db")
        worker = Worker(service.db, registry=registry, poll_interval=0.01, concurrency=64)
        thread = worker.start_thread()
        try:
            service.register_state_machine("chain", definition)
            done = 0
            start, cpu = time.perf_counter(), time.process_time()
            while time.perf_counter() - start < seconds or not done:
                ids = [
                    service.start_execution("chain", {"n": 0}).execution_id
                    for _ in range(executions)
                ]
                for execution_id in ids:
                    assert service.wait(execution_id, 120).status == "SUCCEEDED"
                done += executions
            elapsed = time.perf_counter() - start
            used = time.process_time() - cpu
        finally:
            worker.stop()
            thread.join(60)
            service.close()
        return done * 100 / elapsed, done * 100 / used, done

    return measure


def measure_on(
    measure: Measure, observer: Any, sink: Any, seconds: float
) -> tuple[tuple[float, float, int], float, float]:
    """One measurement with tracing on, then the wait for the exporter to catch up:
    (the measurement, the share of its executions traced, the seconds waited)."""
    shed = getattr(sink, "shed", 0)
    on = measure(observer, seconds)
    # (clamped: the count of untraced executions includes the measurement's warm-up run)
    traced = min(1.0, max(0.0, 1 - (getattr(sink, "shed", 0) - shed) / max(1, on[2])))
    return on, traced, settle(sink)  # the exporter's work left over (and the next start)


def settle(sink: Any, timeout: float = 120.0) -> float:
    """Wait until the exporter process has everything queued for it and has stopped
    using the CPU (its CPU time still for 0.1 s), so that a measurement is not slowed by
    the exporter still working through an earlier one; returns the seconds waited."""
    start = time.monotonic()
    backlog = getattr(sink, "backlog", None)
    last = -1.0
    while time.monotonic() - start < timeout:
        if backlog is not None and backlog() > 0:
            sink.flush()
            time.sleep(0.05)
            continue
        process = getattr(sink, "_process", None)  # (a flush may have started it)
        used = _cpu_seconds(process.pid) if process is not None else 0.0
        if used == last:
            break
        last = used
        time.sleep(0.1)
    return time.monotonic() - start


def mean_change(ratios: list[float], resamples: int = 10_000) -> tuple[float, float, float]:
    """The mean change of per-round ratios (on / off; geometric, so that +x% and -x% do
    not favour either side) and its 95% confidence interval, by bootstrap over rounds
    (seeded: the same ratios always give the same interval)."""
    logs = [math.log(r) for r in ratios]
    mean = math.fsum(logs) / len(logs)
    rng = random.Random(0)
    means = sorted(math.fsum(rng.choices(logs, k=len(logs))) / len(logs) for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
    return math.exp(mean) - 1, math.exp(low) - 1, math.exp(high) - 1


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--no-durable", action="store_true")
    args = parser.parse_args()

    collector, url = start_collector()
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
    os.environ["OTEL_SERVICE_NAME"] = "statemachine-bench"
    from statemachine import observability

    observer = observability.from_env()
    assert observer is not None, "install the otel extra: pip install -e '.[otel]'"
    # The durable cases first: the in-memory ones flood the exporter process, which then
    # keeps a core busy for a while.
    tmp = tempfile.TemporaryDirectory()
    cases: list[tuple[str, Measure]] = []
    if not args.no_durable:
        cases.append(("(a) durable SQLite: one 100-state chain", durable_case(Path(tmp.name), 1)))
        cases.append(("(b) durable SQLite: 20 chains at once", durable_case(Path(tmp.name), 20)))
    cases += [
        ("(c) runner: 50-step Task chain", runner_case(task_chain(50), {"n": 0}, 50)),
        ("(d) runner: 200-state Pass chain, 1 KB", runner_case(pass_chain(200), DATA, 200)),
        ("(e) runner: Map of 1,000 items, Pass", runner_case(map_items(), list(range(1000)), 1001)),
    ]
    try:
        print(
            f"{'workload':42} {'off':>9} {'on':>9} {'change':>8} {'95% interval':>14}"
            f"   {'off/cpu-s':>10} {'on/cpu-s':>10} {'change':>8}   {'traced':>7}"
            f" {'catch-up':>9}"
        )
        sink: Any = observer.spans
        settle(sink)
        for label, measure in cases:
            rows = []
            for r in range(args.rounds):
                # Off first in even rounds, on first in odd ones: a machine whose speed
                # drifts within a round favours neither side.
                if r % 2:
                    on, traced, behind = measure_on(measure, observer, sink, args.seconds)
                    off = measure(None, args.seconds)
                else:
                    off = measure(None, args.seconds)
                    on, traced, behind = measure_on(measure, observer, sink, args.seconds)
                rows.append(
                    (off[0], on[0], on[0] / off[0], off[1], on[1], on[1] / off[1], traced, behind)
                )
            m = [statistics.median(column) for column in zip(*rows, strict=True)]
            change, low, high = mean_change([row[2] for row in rows])
            cpu_change, _, _ = mean_change([row[5] for row in rows])
            print(
                f"{label:42} {m[0]:9,.0f} {m[1]:9,.0f} {change:+8.1%}"
                f" {low:+6.1%}..{high:+5.1%}"
                f"   {m[3]:10,.0f} {m[4]:10,.0f} {cpu_change:+8.1%}   {m[6]:7.0%}"
                f" {m[7]:8.2f}s"
            )
    finally:
        spans = getattr(observer.spans, "exported", 0)
        events = getattr(observer.spans, "events_shipped", 0)
        dropped = getattr(observer.spans, "dropped", 0)
        shed = getattr(observer.spans, "shed", 0)
        if observer.spans is not None:
            observer.spans.shutdown(timeout=300)  # type: ignore[attr-defined]
        observer.shutdown()
        got = received(url)
        collector.kill()
        tmp.cleanup()
    print(
        f"spans shipped {spans:,}, history events shipped {events:,}, dropped {dropped:,}, "
        f"in-memory executions left untraced {shed:,}; "
        f"OTLP bytes at the collector {got:,}"
    )


if __name__ == "__main__":
    main()
