"""Coordinates for a whole :class:`Graph`: scopes inside out.

Each scope (the machine, every Parallel branch, every Map processor) is drawn on its own
by the layered algorithm in :mod:`statemachine.graph.layered`, innermost first. A
Parallel or Map state is then a box as big as its clusters side by side (branches in
``Branches`` order) under a title, and its scope lays it out like any other state. Last,
every nested drawing is moved into its box, so nesting goes as deep as the definition.
Only the transition graph matters: positions never depend on how keys were ordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statemachine.graph.layered import Drawing, EdgeSpec, Point, Rect, draw
from statemachine.graph.text import (
    edge_label,
    label_size,
    lines_size,
    node_lines,
    node_size,
    text_width,
)
from statemachine.graph.types import Box, Graph, Layout, Marker, Node, Route

MARGIN = 16.0
START_SIZE = 18.0
END_SIZE = 22.0
CLUSTER_PAD = 12.0
CLUSTER_TITLE = 20.0
CLUSTER_GAP = 16.0
CONTAINER_PAD = 12.0
CLUSTER_TITLE_SIZE = 11.0


@dataclass(slots=True)
class _Placed:
    """One scope's drawing with all nested ones, relative to the scope's corner."""

    width: float
    height: float
    boxes: dict[str, Rect] = field(default_factory=dict)
    clusters: dict[str, Rect] = field(default_factory=dict)
    routes: dict[str, tuple[list[Point], Rect | None]] = field(default_factory=dict)

    def merge(self, other: _Placed, dx: float, dy: float) -> None:
        def move(rect: Rect) -> Rect:
            return rect[0] + dx, rect[1] + dy, rect[2], rect[3]

        for key, rect in other.boxes.items():
            self.boxes[key] = move(rect)
        for key, rect in other.clusters.items():
            self.clusters[key] = move(rect)
        for key, (points, label) in other.routes.items():
            moved = [(px + dx, py + dy) for px, py in points]
            self.routes[key] = (moved, move(label) if label else None)


def compute_layout(graph: Graph) -> Layout:
    """Absolute coordinates for every node, marker, cluster and edge of ``graph``."""
    placed = _Planner(graph).scope(None)
    result = _Placed(placed.width + 2 * MARGIN, placed.height + 2 * MARGIN)
    result.merge(placed, MARGIN, MARGIN)
    markers = [m.id for m in graph.markers]
    routes = {}
    for edge in graph.edges:  # in graph order, not in the order scopes were drawn
        points, label = result.routes[edge.id]
        routes[edge.id] = Route(
            tuple((_r(x), _r(y)) for x, y in points), _box(label) if label else None
        )
    return Layout(
        width=_r(result.width),
        height=_r(result.height),
        nodes={i: _box(result.boxes[i]) for i in [*(n.id for n in graph.nodes), *markers]},
        clusters={c.id: _box(result.clusters[c.id]) for c in graph.clusters},
        edges=routes,
    )


def _r(value: float) -> float:
    return round(value, 1) + 0.0  # + 0.0 turns -0.0 into 0.0


def _box(rect: Rect) -> Box:
    return Box(_r(rect[0]), _r(rect[1]), _r(rect[2]), _r(rect[3]))


def cluster_title_width(label: str) -> float:
    return text_width(label, CLUSTER_TITLE_SIZE) + 2 * CLUSTER_PAD


class _Planner:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.nodes = {n.id: n for n in graph.nodes}
        self.markers = {m.id: m for m in graph.markers}
        self.labels = {c.id: c.label for c in graph.clusters}
        self.members: dict[str | None, list[Node | Marker]] = {}
        for marker in graph.markers:
            if marker.kind == "start":
                self.members.setdefault(marker.cluster, []).append(marker)
        for node in graph.nodes:
            self.members.setdefault(node.cluster, []).append(node)
        for marker in graph.markers:
            if marker.kind == "end":
                self.members.setdefault(marker.cluster, []).append(marker)
        self.edges: dict[str | None, list[EdgeSpec]] = {}
        for edge in graph.edges:
            source = self.nodes.get(edge.source) or self.markers[edge.source]
            text = edge_label(edge.label)
            spec = EdgeSpec(
                edge.id,
                edge.source,
                edge.target,
                label_size(text) if text else None,
                "catch" if edge.kind == "catch" else "",
            )
            self.edges.setdefault(source.cluster, []).append(spec)

    def scope(self, cluster: str | None) -> _Placed:
        members = self.members.get(cluster, [])
        sizes: dict[str, tuple[float, float]] = {}
        inner: dict[str, list[tuple[str, _Placed, Rect]]] = {}
        for item in members:
            if isinstance(item, Marker):
                side = START_SIZE if item.kind == "start" else END_SIZE
                sizes[item.id] = (side, side)
            elif item.children:
                sizes[item.id], inner[item.id] = self._container(item)
            else:
                sizes[item.id] = node_size(item)
        ids = [item.id for item in members]
        markers = frozenset(item.id for item in members if isinstance(item, Marker))
        end = next((m.id for m in members if isinstance(m, Marker) and m.kind == "end"), None)
        drawing: Drawing = draw(
            ids, sizes, self.edges.get(cluster, []), ids[0], end, round_ids=markers
        )
        placed = _Placed(drawing.width, drawing.height, routes=dict(drawing.routes))
        for node_id, (cx, cy) in drawing.centers.items():
            w, h = sizes[node_id]
            x, y = cx - w / 2, cy - h / 2
            placed.boxes[node_id] = (x, y, w, h)
            for child, child_placed, rect in inner.get(node_id, ()):
                cluster_rect = (x + rect[0], y + rect[1], rect[2], rect[3])
                placed.clusters[child] = cluster_rect
                dx = cluster_rect[0] + (rect[2] - child_placed.width) / 2
                dy = cluster_rect[1] + CLUSTER_TITLE
                placed.merge(child_placed, dx, dy)
        return placed

    def _container(self, node: Node) -> tuple[tuple[float, float], list[tuple[str, _Placed, Rect]]]:
        """A Parallel/Map box: title lines on top, then its clusters side by side."""
        title_w, title_h = lines_size(node_lines(node))
        parts = [(child, self.scope(child)) for child in node.children]
        widths = [
            max(p.width + 2 * CLUSTER_PAD, cluster_title_width(self.labels.get(c, "")))
            for c, p in parts
        ]
        height = max(p.height for _, p in parts) + CLUSTER_TITLE + CLUSTER_PAD
        row = sum(widths) + CLUSTER_GAP * (len(parts) - 1)
        width = max(title_w, row + 2 * CONTAINER_PAD)
        x = (width - row) / 2
        placed: list[tuple[str, _Placed, Rect]] = []
        for (child, part), w in zip(parts, widths, strict=True):
            placed.append((child, part, (x, title_h, w, height)))
            x += w + CLUSTER_GAP
        return (width, title_h + height + CONTAINER_PAD), placed
