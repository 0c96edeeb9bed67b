"""Run one execution in memory: the driver of the pure interpreter for ``statemachine run``,
``statemachine test`` and benchmarks.

The runner keeps the frame tree in dicts, a FIFO of runnable frames and a heap of timers.
Tasks are called in-line through a dispatcher. With a :class:`~statemachine.clock.VirtualClock`
it never sleeps: when nothing is runnable it jumps to the next timer (``--time-skip``).
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from statemachine import observability
from statemachine.clock import Clock, SystemClock
from statemachine.errors import StatesError
from statemachine.expressions.timestamps import format_timestamp
from statemachine.handlers.registry import TaskContext, ToolRegistry, default_registry
from statemachine.interpreter import (
    ChildrenFailed,
    ChildrenSucceeded,
    Continue,
    Enter,
    Env,
    Event,
    ExecutionInfo,
    Finish,
    Frame,
    InvokeTask,
    ItemsRead,
    ReadItems,
    ResultsWritten,
    Sleep,
    SpawnChildren,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    WriteResults,
    advance,
    tolerance_exceeded,
)
from statemachine.itemio import read_items, write_results
from statemachine.model import StateMachine
from statemachine.procrandom import ProcessRandom

JSON = Any
Dispatcher = Callable[[str, JSON, TaskContext], JSON]
ACCOUNT_PREFIX = "arn:aws:states:local:000000000000"


@dataclass(slots=True)
class ExecutionResult:
    status: str
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, JSON]] = field(default_factory=list)
    start: datetime | None = None
    stop: datetime | None = None
    variables: dict[str, JSON] = field(default_factory=dict)  # the root frame's, at the end

    def to_json(self) -> dict[str, JSON]:
        return {
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
        }


@dataclass(slots=True)
class _Group:
    """Children spawned by one Parallel/Map frame, and their progress."""

    parent: int
    spec: SpawnChildren
    kind: str
    results: list[JSON]
    next_index: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    members: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Node:
    frame: Frame
    parent_group: int | None = None
    index: int = 0
    group: int | None = None  # the group this frame spawned and waits for


# Execution seeds (retry jitter, States.UUID); see statemachine.procrandom for why not
# os.urandom per execution.
_SEEDS = ProcessRandom()


def _new_token() -> str:
    """An unguessable task token (256 bits from the OS CSPRNG)."""
    return secrets.token_hex(32)


class Runner:
    def __init__(
        self,
        machine: StateMachine,
        *,
        dispatcher: Dispatcher | None = None,
        registry: ToolRegistry | None = None,
        clock: Clock | None = None,
        payload_limit: int | None = 262_144,
        state_machine_name: str = "machine",
        record_history: bool = True,
        seed: int | None = None,
        object_root: Path | None = None,
        observer: Any = "env",
    ) -> None:
        self.machine = machine
        reg = registry or default_registry
        self.dispatch: Dispatcher = dispatcher or reg.call
        self.clock = clock or SystemClock()
        self.payload_limit = payload_limit
        self.state_machine_name = state_machine_name
        self.record_history = record_history
        self.object_root = object_root
        self.seed = seed  # fixed only by tests that need reproducible tokens and jitter
        # The execution in progress (or the last one): tests answer callbacks through it.
        self.execution: _Execution | None = None
        # Traces and metrics (statemachine.observability): "env" reads OTEL_*; None is off.
        self.observer = observability.from_env() if observer == "env" else observer

    def run(self, input: JSON = None, *, name: str | None = None) -> ExecutionResult:
        self.execution = _Execution(self, {} if input is None else input, name or "exec")
        return self.execution.run()


class _Execution:
    def __init__(self, runner: Runner, input: JSON, name: str) -> None:
        self.r = runner
        self.machine = runner.machine
        self.clock = runner.clock
        start = self.clock.now()
        self.start = start
        sm = runner.state_machine_name
        self.info = ExecutionInfo(
            execution_id=f"{ACCOUNT_PREFIX}:execution:{sm}:{name}",
            name=name,
            state_machine_id=f"{ACCOUNT_PREFIX}:stateMachine:{sm}",
            state_machine_name=sm,
            start_time=format_timestamp(start),
            input=input,
        )
        self.seed = runner.seed if runner.seed is not None else _SEEDS.getrandbits(48)
        self.history: list[dict[str, JSON]] = []
        self.event_count = 0
        self.nodes: dict[int, _Node] = {}
        self.groups: dict[int, _Group] = {}
        self.ready: deque[tuple[int, Event]] = deque()
        self.timers: list[tuple[datetime, int, int, Event]] = []
        self.callbacks: dict[str, int] = {}
        self.timer_tokens: dict[int, str] = {}  # timer seq -> the callback token it ends
        self.root_id = 0
        self.ids = itertools.count(1)
        self.result: ExecutionResult | None = None
        self.input = input
        self.observe = None if runner.observer is None else runner.observer.runner_hook(self)

    # -- history ---------------------------------------------------------------------------

    def record(self, kind: str, details: dict[str, JSON], frame: int = 0) -> None:
        self.record_all(((kind, details),), frame)

    def record_all(self, events: Sequence[tuple[str, dict[str, JSON]]], frame: int) -> None:
        """Record the events of one step (one instant), numbered from the next id. The
        observer gets them in one call: per-event hooks cost a tracing user a share of
        every transition."""
        first = self.event_count + 1
        self.event_count += len(events)
        if self.observe is not None:
            self.observe(first, events, frame)
        if self.r.record_history:
            timestamp = format_timestamp(self.clock.now())
            history = self.history
            for offset, (kind, details) in enumerate(events):
                history.append(
                    {"id": first + offset, "type": kind, "timestamp": timestamp, **details}
                )

    # -- main loop --------------------------------------------------------------------------

    def run(self) -> ExecutionResult:
        self.record("ExecutionStarted", {"input": self.input})
        root = self.new_frame(self.machine.root.key, self.machine.start_at, self.input, {})
        self.root_id = root
        self.ready.append((root, Enter()))
        deadline = None
        if self.machine.timeout_seconds:
            deadline = self.start + timedelta(seconds=self.machine.timeout_seconds)
        while self.result is None:
            if self.ready:
                fid, event = self.ready.popleft()
                if fid in self.nodes:
                    self.step(fid, event)
                continue
            if not self.timers:
                self.finish(
                    "FAILED",
                    error="States.Runtime",
                    cause="The execution is waiting for a task token callback that "
                    "no one can send in this in-memory run",
                )
                break
            when, seq, fid, event = heapq.heappop(self.timers)
            token = self.timer_tokens.pop(seq, None)
            if token is not None and self.callbacks.get(token) != fid:
                continue  # the token was answered or timed out already
            if deadline is not None and when > deadline:
                self.clock.sleep_until(deadline)
                self.timeout()
                break
            self.clock.sleep_until(when)
            if token is not None:
                del self.callbacks[token]
            if fid in self.nodes:
                self.ready.append((fid, event))
        assert self.result is not None
        return self.result

    def timeout(self) -> None:
        self.finish(
            "TIMED_OUT", error="States.Timeout", cause="The execution timed out (TimeoutSeconds)"
        )

    def finish(
        self,
        status: str,
        output: JSON = None,
        error: str | None = None,
        cause: str | None = None,
        variables: dict[str, JSON] | None = None,
    ) -> None:
        kind = {
            "SUCCEEDED": "ExecutionSucceeded",
            "FAILED": "ExecutionFailed",
            "TIMED_OUT": "ExecutionTimedOut",
        }[status]
        if status == "SUCCEEDED":
            self.record(kind, {"output": output})
        else:
            self.record(kind, {"error": error, "cause": cause})
        if variables is None:
            root = self.nodes.get(self.root_id)
            variables = root.frame.variables if root is not None else {}
        self.result = ExecutionResult(
            status, output, error, cause, self.history, self.start, self.clock.now(), variables
        )

    def new_frame(
        self,
        scope: str,
        state: str,
        input: JSON,
        variables: dict,
        parent_group: int | None = None,
        index: int = 0,
    ) -> int:
        fid = next(self.ids)
        self.nodes[fid] = _Node(
            Frame(scope=scope, state=state, input=input, variables=variables), parent_group, index
        )
        return fid

    def step(self, fid: int, event: Event) -> None:
        node = self.nodes[fid]
        env = Env(
            now=self.clock.now(),
            execution=self.info,
            seed=self.seed ^ fid,
            next_event_id=self.event_count + 1,
            payload_limit=self.r.payload_limit,
            token_source=None if self.r.seed is not None else _new_token,
        )
        result = advance(self.machine, node.frame, event, env)
        node.frame = result.frame
        if result.events:
            self.record_all(result.events, fid)
        effect = result.effect
        if isinstance(effect, Continue):
            self.ready.append((fid, Enter()))
        elif isinstance(effect, InvokeTask):
            self.invoke(fid, node, effect)
        elif isinstance(effect, Sleep):
            heapq.heappush(self.timers, (effect.until, next(self.ids), fid, TimerFired()))
        elif isinstance(effect, SpawnChildren):
            self.spawn(fid, node, effect)
        elif isinstance(effect, Finish):
            self.frame_finished(fid, node, effect)
        elif isinstance(effect, ReadItems):
            try:
                items = read_items(effect.reader, effect.max_items, self.r.object_root)
            except StatesError as exc:
                self.ready.append((fid, TaskFailed(exc.error, exc.cause)))
            else:
                self.ready.append((fid, ItemsRead(items)))
        elif isinstance(effect, WriteResults):
            try:
                details = write_results(
                    effect.writer, effect.results, effect.map_run_arn, self.r.object_root
                )
            except StatesError as exc:
                self.ready.append((fid, TaskFailed(exc.error, exc.cause)))
            else:
                self.ready.append((fid, ResultsWritten(details)))

    def invoke(self, fid: int, node: _Node, effect: InvokeTask) -> None:
        frame = node.frame
        ctx = TaskContext(
            execution_id=self.info.execution_id,
            state_name=frame.state,
            resource=effect.resource,
            attempt=frame.retry_count + 1,
            idempotency_key=f"{self.info.execution_id}/{fid}/{frame.entered_event_id}",
            task_token=effect.task_token,
            map_index=self.map_index(node),
            timeout_seconds=effect.timeout_seconds,
            heartbeat_seconds=effect.heartbeat_seconds,
            traceparent=None
            if self.observe is None
            else self.observe.traceparent(frame.entered_event_id, frame.retry_count + 1),
        )
        if effect.task_token is not None:
            self.callbacks[effect.task_token] = fid
            if effect.timeout_seconds is not None:
                until = self.clock.now() + timedelta(seconds=effect.timeout_seconds)
                seq = next(self.ids)
                self.timer_tokens[seq] = effect.task_token
                heapq.heappush(self.timers, (until, seq, fid, TaskFailed("States.Timeout", None)))
        try:
            if effect.task_token is None and (effect.timeout_seconds or effect.heartbeat_seconds):
                # TimeoutSeconds/HeartbeatSeconds bound the handler in real time, also on a
                # virtual clock: --time-skip skips waits between states, not handler work.
                from statemachine.handlers.timeouts import run_with_timeout

                resource = effect.resource
                result = run_with_timeout(
                    lambda payload, ctx: self.r.dispatch(resource, payload, ctx),
                    effect.payload,
                    ctx,
                    effect.timeout_seconds,
                    effect.heartbeat_seconds,
                )
            else:
                result = self.r.dispatch(effect.resource, effect.payload, ctx)
        except StatesError as exc:
            if effect.task_token is not None:
                self.callbacks.pop(effect.task_token, None)
            retry_after = getattr(exc, "retry_after", None)
            self.ready.append((fid, TaskFailed(exc.error, exc.cause, retry_after)))
            return
        if effect.task_token is None:
            self.ready.append((fid, TaskSucceeded(result)))

    def map_index(self, node: _Node) -> int | None:
        """The index of the innermost Map iteration the frame runs in, else None."""
        while node.parent_group is not None:
            group = self.groups.get(node.parent_group)
            if group is None:
                return None
            if group.kind == "map":
                return node.index
            node = self.nodes[group.parent]
        return None

    def send_task_success(self, token: str, output: JSON, *, after: float = 0) -> None:
        self.answer(token, TaskSucceeded(output), after)

    def send_task_failure(
        self, token: str, error: str, cause: str | None, *, after: float = 0
    ) -> None:
        self.answer(token, TaskFailed(error, cause), after)

    def answer(self, token: str, event: Event, after: float) -> None:
        """Deliver a callback answer now, or ``after`` seconds from now. Whichever of the
        answer and the task's timeout comes first uses the token; the other is dropped."""
        if after <= 0:
            fid = self.callbacks.pop(token)
            self.ready.append((fid, event))
            return
        seq = next(self.ids)
        self.timer_tokens[seq] = token
        until = self.clock.now() + timedelta(seconds=after)
        heapq.heappush(self.timers, (until, seq, self.callbacks[token], event))

    def spawn(self, fid: int, node: _Node, effect: SpawnChildren) -> None:
        gid = next(self.ids)
        group = _Group(
            parent=fid, spec=effect, kind=effect.kind, results=[None] * len(effect.children)
        )
        self.groups[gid] = group
        node.group = gid
        self.fill(gid)

    def fill(self, gid: int) -> None:
        group = self.groups[gid]
        spec = group.spec
        limit = spec.max_concurrency or len(spec.children)
        while group.next_index < len(spec.children) and group.running < limit:
            child = spec.children[group.next_index]
            group.next_index += 1
            group.running += 1
            scope = self.machine.scopes[child.scope]
            cid = self.new_frame(
                child.scope, scope.start_at, child.input, dict(spec.variables), gid, child.index
            )
            group.members.add(cid)
            if group.kind == "map":
                self.record(
                    "MapIterationStarted",
                    {"index": child.index, "name": self.nodes[group.parent].frame.state},
                    group.parent,
                )
            self.ready.append((cid, Enter()))

    def frame_finished(self, fid: int, node: _Node, effect: Finish) -> None:
        if node.parent_group is None:
            del self.nodes[fid]
            self.finish(
                effect.status, effect.output, effect.error, effect.cause, node.frame.variables
            )
            return
        gid = node.parent_group
        group = self.groups.get(gid)
        del self.nodes[fid]
        if group is None:
            return
        group.members.discard(fid)
        group.running -= 1
        group.done += 1
        parent_name = self.nodes[group.parent].frame.state
        if effect.status == "SUCCEEDED":
            group.results[node.index] = effect.output
            if group.kind == "map":
                details = {"index": node.index, "name": parent_name}
                self.record("MapIterationSucceeded", details, group.parent)
        else:
            group.failed += 1
            if group.kind == "map":
                details = {"index": node.index, "name": parent_name}
                self.record("MapIterationFailed", details, group.parent)
            total = len(group.spec.children)
            if group.kind == "parallel" or tolerance_exceeded(
                group.failed, total, group.spec.tolerated_count, group.spec.tolerated_percentage
            ):
                error, cause = effect.error or "States.TaskFailed", effect.cause
                if group.kind == "map" and (
                    group.spec.tolerated_count is not None
                    or group.spec.tolerated_percentage is not None
                ):
                    error = "States.ExceedToleratedFailureThreshold"
                    cause = "The specified tolerated failure threshold was exceeded"
                self.close_group(gid)
                self.ready.append((group.parent, ChildrenFailed(error, cause)))
                return
            out: dict[str, JSON] = {"Error": effect.error}
            if effect.cause is not None:
                out["Cause"] = effect.cause
            group.results[node.index] = out
        if group.done == len(group.spec.children):
            self.close_group(gid)
            self.ready.append((group.parent, ChildrenSucceeded(group.results)))
        else:
            self.fill(gid)

    def close_group(self, gid: int) -> None:
        group = self.groups.pop(gid)
        stack = list(group.members)
        while stack:
            cid = stack.pop()
            child = self.nodes.pop(cid, None)
            if child is not None and child.group is not None:
                sub = self.groups.pop(child.group, None)
                if sub is not None:
                    stack.extend(sub.members)
        parent = self.nodes.get(group.parent)
        if parent is not None:
            parent.group = None
