"""From a frozen :class:`~statemachine.model.StateMachine` to a :class:`Graph`.

Everything is ordered by the structure of the machine, never by the order in which keys
appear in the source: each scope is walked depth-first from its ``StartAt``, following a
state's transitions in the order ASL gives them meaning (``Choices`` in order, then
``Default``, then ``Next``, then ``Catch`` in order); states nothing reaches follow,
sorted by name. The same machine written with its keys shuffled therefore yields the
same graph, ids, order and layout.

Transitions per the ASL spec: ``Next`` and ``End`` on most states; a Choice state's rules
(first match wins, hence the order) and its optional ``Default``; ``Catch`` on Task,
Parallel and Map; Succeed and Fail end their scope. A Parallel branch or Map processor is
a scope of its own: transitions never leave it, so its states sit in a nested cluster.
"""

from __future__ import annotations

from collections import deque

from statemachine.graph.labels import branch_label, lookup
from statemachine.graph.types import (
    MISSING,
    Cluster,
    ClusterKind,
    Edge,
    EdgeKind,
    Graph,
    Marker,
    Node,
    RetrySummary,
)
from statemachine.model.states import (
    ChoiceState,
    Dyn,
    FailState,
    MapState,
    ParallelState,
    Scope,
    State,
    StateMachine,
    TaskState,
    WaitState,
)

ROOT = "root"
"""Prefix of the machine's own start and end markers (``root#start``)."""

_TERMINAL_TYPES = ("Succeed", "Fail")


def graph_of(machine: StateMachine, *, layout: bool = True) -> Graph:
    """The graph of ``machine``; with ``layout`` (the default) coordinates are computed."""
    builder = _Builder(machine)
    graph = builder.build()
    if layout:
        from statemachine.graph.layout import compute_layout

        graph = Graph(
            nodes=graph.nodes,
            markers=graph.markers,
            edges=graph.edges,
            clusters=graph.clusters,
            comment=graph.comment,
            layout=compute_layout(graph),
        )
    return graph


def state_id(state: State) -> str:
    """``States.M.ItemProcessor.States.P``: the state's path in the definition."""
    return ".".join(str(part) for part in state.path)


def _dyn_text(dyn: Dyn | None) -> str | None:
    if dyn is None:
        return None
    if dyn.kind == "value":
        return str(dyn.value)
    if dyn.kind == "jsonata" and dyn.jsonata is not None:
        return str(dyn.jsonata.source)
    return str(getattr(dyn.path, "text", "") or dyn.source)


def _detail(state: State) -> str | None:
    """A few words under the state's name: what it waits for, which error it raises."""
    if isinstance(state, WaitState):
        if state.seconds is not None:
            text = _dyn_text(state.seconds)
            return f"{text}s" if state.seconds.kind == "value" else f"seconds: {text}"
        if state.timestamp is not None:
            return f"until {_dyn_text(state.timestamp)}"
    if isinstance(state, FailState) and state.error is not None:
        return _dyn_text(state.error)
    if isinstance(state, MapState):
        parts = []
        if state.distributed:
            parts.append("distributed")
        if state.max_concurrency is not None:
            parts.append(f"max {_dyn_text(state.max_concurrency)} at once")
        return ", ".join(parts) or None
    return None


def _retry(state: State) -> tuple[RetrySummary, ...]:
    retriers = getattr(state, "retry", ())
    return tuple(
        RetrySummary(
            error_equals=r.error_equals,
            max_attempts=r.max_attempts,
            interval_seconds=r.interval_seconds,
            backoff_rate=r.backoff_rate,
            max_delay_seconds=r.max_delay_seconds,
            jitter_strategy=r.jitter_strategy,
        )
        for r in retriers
    )


def _successors(state: State) -> list[tuple[EdgeKind, str, int | None]]:
    """Outgoing transitions in their meaningful order: (kind, target name, index)."""
    out: list[tuple[EdgeKind, str, int | None]] = []
    if isinstance(state, ChoiceState):
        out.extend(("choice", b.next, i) for i, b in enumerate(state.choices))
        if state.default is not None:
            out.append(("default", state.default, None))
    if state.next is not None:
        out.append(("next", state.next, None))
    for i, catcher in enumerate(getattr(state, "catch", ())):
        out.append(("catch", catcher.next, i))
    return out


class _Builder:
    def __init__(self, machine: StateMachine) -> None:
        self.machine = machine
        self.nodes: list[Node] = []
        self.markers: list[Marker] = []
        self.edges: list[Edge] = []
        self.clusters: list[Cluster] = []
        # (cluster id, its scope) in breadth-first order of discovery
        self.pending: deque[tuple[str | None, Scope]] = deque()

    def build(self) -> Graph:
        self.pending.append((None, self.machine.root))
        while self.pending:
            cluster, scope = self.pending.popleft()
            self._scope(cluster, scope)
        return Graph(
            nodes=tuple(self.nodes),
            markers=tuple(self.markers),
            edges=tuple(self.edges),
            clusters=tuple(self.clusters),
            comment=self.machine.comment,
        )

    def _scope(self, cluster: str | None, scope: Scope) -> None:
        prefix = cluster or ROOT
        start = Marker(f"{prefix}#start", "start", cluster)
        end = Marker(f"{prefix}#end", "end", cluster)
        self.markers.append(start)
        scope_prefix = f"{scope.key}.States." if scope.key else "States."
        ids: dict[str, str] = {}  # state name -> node id, in this scope
        order = self._walk(scope)
        for name in order:
            ids[name] = self._node(scope.states[name], cluster)
        edges: list[Edge] = []

        def target_id(name: str) -> str:
            if name not in ids:  # a dangling transition: draw it to a placeholder
                ids[name] = scope_prefix + name
                self.nodes.append(
                    Node(ids[name], name, MISSING, cluster, (*scope.path, "States", name))
                )
            return ids[name]

        edges.append(
            Edge(f"{start.id}:start", start.id, target_id(scope.start_at), "start"),
        )
        has_end = False
        for name in order:
            state = scope.states[name]
            source = ids[name]
            for kind, target, index in _successors(state):
                edges.append(self._edge(state, source, kind, target_id(target), index))
            if state.end or state.type in _TERMINAL_TYPES:
                has_end = True
                edges.append(Edge(f"{source}:end", source, end.id, "end"))
        if has_end:
            self.markers.append(end)
        self.edges.extend(edges)

    def _walk(self, scope: Scope) -> list[str]:
        """State names depth-first from StartAt, then unreachable ones by name."""
        seen: set[str] = set()
        order: list[str] = []
        roots = [scope.start_at, *sorted(scope.states)]
        for root in roots:
            stack = [root]
            while stack:
                name = stack.pop()
                if name in seen or name not in scope.states:
                    continue
                seen.add(name)
                order.append(name)
                targets = [t for _, t, _ in _successors(scope.states[name])]
                stack.extend(reversed(targets))
        return order

    def _node(self, state: State, cluster: str | None) -> str:
        node_id = state_id(state)
        children: list[str] = []
        if isinstance(state, ParallelState):
            for i, branch in enumerate(state.branches):
                label = f"Branch {i + 1}"
                children.append(self._cluster(branch, label, "parallel-branch", node_id, cluster))
        elif isinstance(state, MapState) and state.processor is not None:
            processor = state.processor
            label = str(processor.path[-1]) if processor.path else "ItemProcessor"
            if processor.mode == "DISTRIBUTED":
                label += " (distributed)"
            children.append(self._cluster(processor, label, "map-processor", node_id, cluster))
        self.nodes.append(
            Node(
                id=node_id,
                name=state.name,
                type=state.type,
                cluster=cluster,
                path=state.path,
                resource=state.resource if isinstance(state, TaskState) else None,
                detail=_detail(state),
                comment=state.comment,
                retry=_retry(state),
                children=tuple(children),
            )
        )
        return node_id

    def _cluster(
        self, scope: Scope, label: str, kind: ClusterKind, owner: str, parent: str | None
    ) -> str:
        cluster = Cluster(scope.key, label, kind, owner, parent, scope.path)
        self.clusters.append(cluster)
        self.pending.append((cluster.id, scope))
        return cluster.id

    def _edge(
        self, state: State, source: str, kind: EdgeKind, target: str, index: int | None
    ) -> Edge:
        suffix = f".{index}" if index is not None else ""
        edge_id = f"{source}:{kind}{suffix}"
        if kind == "choice" and isinstance(state, ChoiceState) and index is not None:
            branch = state.choices[index]
            raw = lookup(self.machine.raw, branch.path)
            comment = raw.get("Comment") if isinstance(raw, dict) else None
            label = branch_label(branch, self.machine.raw)
            return Edge(edge_id, source, target, kind, label, index=index, comment=comment)
        if kind == "default":
            return Edge(edge_id, source, target, kind, "Default")
        if kind == "catch" and index is not None:
            errors = state.catch[index].error_equals  # type: ignore[attr-defined]
            return Edge(edge_id, source, target, kind, ", ".join(errors), errors, index)
        return Edge(edge_id, source, target, kind)
