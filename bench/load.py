"""Load benchmark of the REST API: N concurrent clients start short executions against
`statemachine serve`, then every execution is checked to have finished exactly once.

    python bench/load.py                        # SQLite and PostgreSQL, 16 clients, 400 runs
    python bench/load.py --clients 32 --executions 1000 --backend postgresql

Two set-ups, each on a fresh database:

* sqlite: `statemachine serve` with its embedded worker, on an SQLite file;
* postgresql: `statemachine serve --no-worker` plus 2 `statemachine worker` processes on a
  fresh PostgreSQL database (`STATEMACHINE_TEST_PG`, default postgres@127.0.0.1/test).

The workflow is Pass -> Task (a tool) -> Pass. The tool appends one line per call to a file
shared by all processes; "exactly once" means every execution is SUCCEEDED, has exactly one
ExecutionSucceeded event and one TaskSucceeded event, and its tool ran exactly once.

Printed per set-up: executions/s from the first start to the last finish, the start
request latency (p50, p99, max), and the check. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOOLS = """
import os
import statemachine

LOG = os.environ["BENCH_TOOL_LOG"]

@statemachine.tool("work")
def work(payload, ctx):
    line = (ctx.execution_id + "\\n").encode()
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write of a short line: atomic with O_APPEND
    finally:
        os.close(fd)
    return {"n": payload["n"] * 2}
"""
DEFINITION = """\
StartAt: Prepare
States:
  Prepare:
    Type: Pass
    Parameters:
      n.$: $.n
    Next: Work
  Work:
    Type: Task
    Resource: tool:work
    Next: Done
  Done:
    Type: Pass
    End: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.contextmanager
def database(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    sys.path.insert(0, str(ROOT))
    from statemachine.store.testing import postgres_available, postgres_database

    if not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (set STATEMACHINE_TEST_PG)")
    with postgres_database() as url:
        yield url


@contextlib.contextmanager
def processes(backend: str, url: str, directory: Path, port: int) -> Iterator[list[Any]]:
    env = {**os.environ, "BENCH_TOOL_LOG": str(directory / "calls.log")}
    env.pop("STATEMACHINE_API_TOKENS", None)
    (directory / "defs").mkdir()
    (directory / "defs" / "bench.asl.yaml").write_text(DEFINITION)
    (directory / "tools.py").write_text(TOOLS)
    cli = [sys.executable, "-m", "statemachine"]
    common = ["--handlers", str(directory / "tools.py"), "--log-level", "WARNING"]
    serve = [
        *cli, "serve", "--port", str(port), "--db", url,
        "--definitions", str(directory / "defs"), "--poll-interval", "0.05", *common,
    ]  # fmt: skip
    commands = []
    if backend == "sqlite":
        commands.append(serve)
    else:
        commands.append([*serve, "--no-worker"])
        for i in range(2):
            commands.append(
                [*cli, "worker", "--db", url, "--worker-id", f"bench-{i}",
                 "--poll-interval", "0.05", *common]
            )  # fmt: skip
    log = (directory / "processes.log").open("w")
    started = [
        subprocess.Popen(c, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        for c in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


async def wait_ready(client: httpx.AsyncClient, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            ready = await client.get("/readyz")
            machines = await client.get("/v1/state-machines")
            if ready.status_code == 200 and machines.json()["stateMachines"]:
                return
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not become ready")


async def drive(url: str, clients: int, executions: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:
        await wait_ready(client)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(executions):
            queue.put_nowait(n)
        latencies: list[float] = []
        ids: list[str] = []

        async def one_client() -> None:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                began = time.perf_counter()
                r = await client.post(
                    "/v1/executions", json={"stateMachine": "bench", "input": {"n": n}}
                )
                latencies.append(time.perf_counter() - began)
                r.raise_for_status()
                ids.append(r.json()["executionId"])

        first = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        started = time.perf_counter()
        pending = set(ids)
        while pending:
            page = await client.get(
                "/v1/executions", params={"stateMachine": "bench", "status": "RUNNING"}
            )
            running = {e["executionId"] for e in page.json()["executions"]}
            pending &= running
            if pending:
                await asyncio.sleep(0.05)
        finished = time.perf_counter()
        statuses: Counter[str] = Counter()
        bad_history = 0
        for execution_id in ids:
            events = (
                await client.get(f"/v1/executions/{execution_id}/history", params={"limit": 1000})
            ).json()["events"]
            types = Counter(e["type"] for e in events)
            statuses[events[-1]["type"]] += 1
            if types["ExecutionSucceeded"] != 1 or types["TaskSucceeded"] != 1:
                bad_history += 1
    return {
        "latencies": latencies,
        "ids": ids,
        "start_seconds": started - first,
        "total_seconds": finished - first,
        "closing": statuses,
        "bad_history": bad_history,
    }


def run_backend(backend: str, clients: int, executions: int) -> bool:
    with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as tmp:
        directory = Path(tmp)
        port = free_port()
        try:
            with database(backend, directory) as url, processes(backend, url, directory, port):
                result = asyncio.run(drive(f"http://127.0.0.1:{port}", clients, executions))
        except BaseException:
            # The servers' own account of what went wrong goes with the directory.
            log = (directory / "processes.log").read_text(errors="replace")
            print(f"--- {backend}: the processes' log (last 200 lines) ---", file=sys.stderr)
            print("\n".join(log.splitlines()[-200:]), file=sys.stderr)
            raise
        calls = Counter((directory / "calls.log").read_text().split())
    ids = result["ids"]
    once = sum(1 for i in ids if calls[i] == 1)
    latencies = [x * 1000 for x in result["latencies"]]
    workers = "embedded worker" if backend == "sqlite" else "2 worker processes"
    ok = (
        once == len(ids) == executions
        and result["closing"]["ExecutionSucceeded"] == executions
        and result["bad_history"] == 0
        and len(calls) == executions
    )
    print(f"\n{backend} ({workers}), {clients} clients, {executions} executions")
    print(f"  executions/s (start to last finish): {executions / result['total_seconds']:8.1f}")
    print(f"  starts/s:                            {executions / result['start_seconds']:8.1f}")
    print(
        f"  start latency ms: p50 {percentile(latencies, 50):.1f}  "
        f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  "
        f"mean {statistics.fmean(latencies):.1f}"
    )
    print(
        f"  finished exactly once: {once}/{executions} "
        f"(closing events {dict(result['closing'])}, tool calls {sum(calls.values())}, "
        f"bad histories {result['bad_history']}) -> {'OK' if ok else 'FAILED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--executions", type=int, default=400)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.clients, args.executions) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
