"""The graph of a state machine as plain frozen data, and its JSON form.

A :class:`Graph` is what every renderer and the web console read: states become
:class:`Node` s, every transition an :class:`Edge`, Parallel branches and Map processors
:class:`Cluster` s, and each scope (the machine, a branch, a processor) gets its own start
and end :class:`Marker`. Ids are stable strings derived from the definition's structure
(a state's JSON path such as ``States.M.ItemProcessor.States.P``), so a drawing can be
matched with execution history without a lookup table.

:class:`Layout` holds coordinates in SVG user units: boxes are top-left ``x``/``y`` plus
``width``/``height``; edge routes are polylines from the source's border to the target's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EdgeKind = Literal["start", "next", "choice", "default", "catch", "end"]
ClusterKind = Literal["parallel-branch", "map-processor"]
MarkerKind = Literal["start", "end"]
PathTuple = tuple[str | int, ...]

TIMES = "\u00d7"  # the multiplication sign in retry summaries: x3 attempts, x2 back-off

MISSING = "Missing"
"""Node type of a transition target that names no state in its scope (invalid definitions
only: the drawing shows the dangling transition instead of hiding it)."""


@dataclass(frozen=True, slots=True)
class RetrySummary:
    """One retrier, as shown on its state."""

    error_equals: tuple[str, ...]
    max_attempts: int
    interval_seconds: float
    backoff_rate: float
    max_delay_seconds: float | None = None
    jitter_strategy: str = "NONE"

    @property
    def text(self) -> str:
        """``States.Timeout ×3 (2s, ×2)``: errors, attempts, first interval, back-off."""  # noqa: RUF002
        errors = ", ".join(self.error_equals)
        if self.max_attempts == 0:
            return f"{errors}: no retry"
        detail = f"{_number(self.interval_seconds)}s, {TIMES}{_number(self.backoff_rate)}"
        if self.max_delay_seconds is not None:
            detail += f", ≤{_number(self.max_delay_seconds)}s"
        if self.jitter_strategy == "FULL":
            detail += ", jitter"
        return f"{errors} {TIMES}{self.max_attempts} ({detail})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_equals": list(self.error_equals),
            "max_attempts": self.max_attempts,
            "interval_seconds": self.interval_seconds,
            "backoff_rate": self.backoff_rate,
            "max_delay_seconds": self.max_delay_seconds,
            "jitter_strategy": self.jitter_strategy,
            "text": self.text,
        }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class Node:
    """A state. ``cluster`` is the branch/processor it lives in (``None``: the machine);
    ``children`` are the clusters a Parallel or Map state contains."""

    id: str
    name: str
    type: str
    cluster: str | None
    path: PathTuple
    resource: str | None = None
    detail: str | None = None
    comment: str | None = None
    retry: tuple[RetrySummary, ...] = ()
    children: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "cluster": self.cluster,
            "path": list(self.path),
            "resource": self.resource,
            "detail": self.detail,
            "comment": self.comment,
            "retry": [r.to_dict() for r in self.retry],
            "children": list(self.children),
        }


@dataclass(frozen=True, slots=True)
class Marker:
    """Where a scope starts or ends (drawn as a dot and a bullseye)."""

    id: str
    kind: MarkerKind
    cluster: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "cluster": self.cluster}


@dataclass(frozen=True, slots=True)
class Edge:
    """A transition. ``label`` is the Choice rule as text, ``Default``, or the caught
    error names; ``index`` is the position in ``Choices`` / ``Catch``."""

    id: str
    source: str
    target: str
    kind: EdgeKind
    label: str | None = None
    errors: tuple[str, ...] = ()
    index: int | None = None
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.source,
            "to": self.target,
            "kind": self.kind,
            "label": self.label,
            "errors": list(self.errors),
            "index": self.index,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class Cluster:
    """A Parallel branch or a Map processor: its own scope with its own start and end.
    ``state`` is the Parallel/Map node that owns it, ``parent`` the cluster around that."""

    id: str
    label: str
    kind: ClusterKind
    state: str
    parent: str | None
    path: PathTuple

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "state": self.state,
            "parent": self.parent,
            "path": list(self.path),
        }


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def to_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True, slots=True)
class Route:
    """An edge's polyline and, when it has a label, the label's box."""

    points: tuple[tuple[float, float], ...]
    label: Box | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": [list(p) for p in self.points],
            "label": self.label.to_dict() if self.label else None,
        }


@dataclass(frozen=True, slots=True)
class Layout:
    """Absolute coordinates for every node, marker, cluster and edge."""

    width: float
    height: float
    nodes: dict[str, Box] = field(default_factory=dict)  # nodes and markers
    clusters: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, Route] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "nodes": {k: v.to_dict() for k, v in self.nodes.items()},
            "clusters": {k: v.to_dict() for k, v in self.clusters.items()},
            "edges": {k: v.to_dict() for k, v in self.edges.items()},
        }


@dataclass(frozen=True, slots=True)
class Graph:
    """Everything needed to draw a state machine. Lists are in a structural order (a
    depth-first walk from each scope's StartAt), never in the order keys were written."""

    nodes: tuple[Node, ...]
    markers: tuple[Marker, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]
    comment: str | None = None
    layout: Layout | None = None

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "comment": self.comment,
            "start": self.markers[0].id if self.markers else None,
            "nodes": [n.to_dict() for n in self.nodes],
            "markers": [m.to_dict() for m in self.markers],
            "edges": [e.to_dict() for e in self.edges],
            "clusters": [c.to_dict() for c in self.clusters],
            "layout": self.layout.to_dict() if self.layout else None,
        }
