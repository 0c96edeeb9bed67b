"""A layered (Sugiyama-style) drawing of one scope: ranks, order, coordinates, routes.

The classic four steps, on the transition graph only:

1. **Cycles.** A depth-first walk from the scope's start marker, following edges in their
   structural order, marks every edge that closes a cycle (a back edge); it is laid out
   reversed and drawn pointing back up.
2. **Ranks.** Longest path from the start: a state sits one rank below the deepest state
   that leads to it, so the happy path reads top to bottom; the end marker goes last.
   Every rank is followed by an *edge layer*, so each edge crosses at least one layer
   and owns a dummy node there, next to its origin. That dummy carries the edge's label
   (a Choice rule, caught errors), which therefore gets space of its own, and keeps a
   loop's forward and backward edges apart. The rest of a long edge runs through dummies
   shared by all edges of the same kind that end at the same state, so twenty ``Catch``
   edges into one handler draw as one bundle instead of twenty parallel lines.
3. **Order.** Nodes start in depth-first order, then barycenter sweeps (down, up, ...)
   reorder each layer by the mean position of its neighbours in the layer before; the
   order with the fewest crossings (counted exactly, with a Fenwick tree) wins.
4. **Coordinates.** Each layer is placed by weighted isotonic regression (pool adjacent
   violators): every node is pulled to the mean x of its neighbours while the layer's
   order and minimum gaps hold exactly. Sweeps alternate down and up, then one pass
   balances against both sides.

Ties are broken by position in the input, which is structural, so the result never
depends on how the definition's keys were ordered. Everything is linear or
``n log n`` per sweep; a few hundred states take milliseconds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

NODE_GAP = 28.0
DUMMY_GAP = 10.0
LAYER_GAP = 12.0
EMPTY_EDGE_LAYER = 8.0
LOOP_WIDTH = 20.0
MAX_SWEEPS = 24
PATIENCE = 4
PLACEMENT_ROUNDS = 4
DUMMY_WEIGHT = 4.0
TOLERANCE = 2.0  # how far a simplified edge may stray from its dummies
BUS_PULL = 32.0  # how much more a shared dummy follows its own run than a joining edge

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    id: str
    source: str
    target: str
    label_size: tuple[float, float] | None = None
    bundle: str = ""  # edges bundle only with edges of the same class


@dataclass(slots=True)
class Drawing:
    """Positions relative to the scope's top-left corner."""

    width: float
    height: float
    centers: dict[str, Point] = field(default_factory=dict)
    routes: dict[str, tuple[list[Point], Rect | None]] = field(default_factory=dict)


def draw(
    ids: Sequence[str],
    sizes: dict[str, tuple[float, float]],
    edges: Sequence[EdgeSpec],
    root: str,
    last: str | None = None,
    round_ids: frozenset[str] = frozenset(),
) -> Drawing:
    """Lay out ``ids`` (the first is drawn first) with ``edges``; ``root`` goes on top,
    ``last`` (if given) at the bottom. ``round_ids`` are circles (edges clip to them)."""
    return _Layered(ids, sizes, edges, root, last, round_ids).run()


class _Layered:
    def __init__(
        self,
        ids: Sequence[str],
        sizes: dict[str, tuple[float, float]],
        edges: Sequence[EdgeSpec],
        root: str,
        last: str | None,
        round_ids: frozenset[str],
    ) -> None:
        self.ids = list(ids)
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.n = len(self.ids)
        self.sizes = sizes
        self.root = self.index[root]
        self.last = self.index[last] if last is not None and last in self.index else None
        self.round = round_ids
        self.edges = [e for e in edges if e.source != e.target]
        self.loops: dict[int, list[EdgeSpec]] = {}
        for e in edges:
            if e.source == e.target:
                self.loops.setdefault(self.index[e.source], []).append(e)
        # layered graph: real nodes 0..n-1, dummies after
        self.layer: list[int] = []
        self.width: list[float] = []
        self.height: list[float] = []
        self.extra_right: list[float] = []
        self.dummy: list[bool] = []
        self.bus: list[bool] = []
        self.down: list[list[int]] = []
        self.up: list[list[int]] = []
        # edge index -> (head nodes in drawing order, bus key or None, dummies of the bus)
        self.chains: dict[int, tuple[list[int], tuple[str, int, str] | None, int]] = {}
        self.buses: dict[tuple[str, int, str], list[int]] = {}
        self.label_node: dict[int, int] = {}
        self.linked: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------ pipeline

    def run(self) -> Drawing:
        reversed_edges = self._break_cycles()
        ranks = self._ranks(reversed_edges)
        self._build(ranks, reversed_edges)
        layers = self._initial_order()
        layers = self._reduce_crossings(layers)
        xs = self._x_coordinates(layers)
        ys = self._y_coordinates(layers)
        return self._drawing(layers, xs, ys)

    def _break_cycles(self) -> set[int]:
        succ: list[list[tuple[int, int]]] = [[] for _ in range(self.n)]
        for k, e in enumerate(self.edges):
            succ[self.index[e.source]].append((self.index[e.target], k))
        state = [0] * self.n  # 0 new, 1 on the stack, 2 done
        back: set[int] = set()
        for start in [self.root, *range(self.n)]:
            if state[start]:
                continue
            state[start] = 1
            stack = [(start, 0)]
            while stack:
                v, i = stack[-1]
                if i < len(succ[v]):
                    stack[-1] = (v, i + 1)
                    t, k = succ[v][i]
                    if state[t] == 1:
                        back.add(k)
                    elif state[t] == 0:
                        state[t] = 1
                        stack.append((t, 0))
                else:
                    state[v] = 2
                    stack.pop()
        return back

    def _dag_ends(self, k: int, reversed_edges: set[int]) -> tuple[int, int]:
        e = self.edges[k]
        s, t = self.index[e.source], self.index[e.target]
        return (t, s) if k in reversed_edges else (s, t)

    def _ranks(self, reversed_edges: set[int]) -> list[int]:
        """Longest path from the root; other sources start at rank 1."""
        out: list[list[int]] = [[] for _ in range(self.n)]
        indegree = [0] * self.n
        for k in range(len(self.edges)):
            a, b = self._dag_ends(k, reversed_edges)
            out[a].append(b)
            indegree[b] += 1
        rank = [1] * self.n
        rank[self.root] = 0
        queue = deque(v for v in [self.root, *range(self.n)] if indegree[v] == 0)
        seen: set[int] = set()
        while queue:
            v = queue.popleft()
            if v in seen:
                continue
            seen.add(v)
            for w in out[v]:
                rank[w] = max(rank[w], rank[v] + 1)
                indegree[w] -= 1
                if indegree[w] == 0:
                    queue.append(w)
        if self.last is not None and self.n > 1:
            others = [r for v, r in enumerate(rank) if v != self.last]
            rank[self.last] = max(max(others) + 1, rank[self.last])
        return rank

    # ------------------------------------------------------------- layered graph

    def _add(self, layer: int, width: float, height: float, dummy: bool, bus: bool = False) -> int:
        self.layer.append(layer)
        self.width.append(width)
        self.height.append(height)
        self.extra_right.append(0.0)
        self.dummy.append(dummy)
        self.bus.append(bus)
        self.down.append([])
        self.up.append([])
        return len(self.layer) - 1

    def _link(self, u: int, v: int) -> None:
        if (u, v) in self.linked:
            return
        self.linked.add((u, v))
        self.down[u].append(v)
        self.up[v].append(u)

    def _build(self, ranks: list[int], reversed_edges: set[int]) -> None:
        for i, node_id in enumerate(self.ids):
            w, h = self.sizes[node_id]
            self._add(2 * ranks[i], w, h, dummy=False)
        for v, loops in self.loops.items():
            widest = max((e.label_size[0] if e.label_size else 0.0) for e in loops)
            self.extra_right[v] = LOOP_WIDTH + 8.0 * len(loops) + widest
        # A bus is a run of shared dummies next to the state its edges lead to, listed
        # from that state outwards: a forward bus above its target, a backward one below
        # the state a loop returns to. An edge is its own head (origin, label dummy)
        # plus the last ``span`` dummies of one bus, then the bus's state.
        for k, e in enumerate(self.edges):
            a, b = self._dag_ends(k, reversed_edges)
            la, lb = self.layer[a], self.layer[b]
            back = k in reversed_edges
            # A labelled edge owns the dummy next to its origin, where its label goes.
            # Everything else runs through dummies shared by the edges of the same kind
            # that end at the same state, so they merge into one line and one arrow.
            own: list[int] = []
            if e.label_size:
                lw, lh = e.label_size
                own = [self._add(lb - 1 if back else la + 1, lw, lh, dummy=True)]
                self.label_node[k] = own[0]
            span = lb - la - 1 - len(own)  # layers left for the shared part
            origin, end = (b, a) if back else (a, b)
            if span <= 0:
                path = [a, *own, b]
                for u, v in pairwise(path):
                    self._link(u, v)
                self.chains[k] = ([origin, *own, end], None, 0)
                continue
            key = ("back" if back else "fwd", end, e.bundle)
            bus = self.buses.setdefault(key, [])
            while len(bus) < span:
                if back:
                    d = self._add(la + 1 + len(bus), 0.0, 0.0, dummy=True, bus=True)
                    self._link(bus[-1] if bus else a, d)
                else:
                    d = self._add(lb - 1 - len(bus), 0.0, 0.0, dummy=True, bus=True)
                    self._link(d, bus[-1] if bus else b)
                bus.append(d)
            join = [bus[span - 1], *own, b] if back else [a, *own, bus[span - 1]]
            for u, v in pairwise(join):
                self._link(u, v)
            self.chains[k] = ([origin, *own], key, span)

    # ------------------------------------------------------------------- order

    def _initial_order(self) -> list[list[int]]:
        """Depth-first from the root through the layered graph, then the rest."""
        layers: list[list[int]] = [[] for _ in range(max(self.layer) + 1)]
        seen = [False] * len(self.layer)
        for start in [self.root, *range(len(self.layer))]:
            stack = [start]
            while stack:
                v = stack.pop()
                if seen[v]:
                    continue
                seen[v] = True
                layers[self.layer[v]].append(v)
                stack.extend(reversed(self.down[v]))
        return layers

    def _reduce_crossings(self, layers: list[list[int]]) -> list[list[int]]:
        pos = [0] * len(self.layer)
        for layer in layers:
            for i, v in enumerate(layer):
                pos[v] = i
        best = [list(layer) for layer in layers]
        best_count = self._crossings(layers, pos)
        stale = 0
        for sweep in range(MAX_SWEEPS):
            if best_count == 0:
                break
            if sweep % 2 == 0:
                for r in range(1, len(layers)):
                    self._reorder(layers[r], self.up, pos)
            else:
                for r in range(len(layers) - 2, -1, -1):
                    self._reorder(layers[r], self.down, pos)
            count = self._crossings(layers, pos)
            if count < best_count:
                best_count, best, stale = count, [list(layer) for layer in layers], 0
            else:
                stale += 1
                if stale >= PATIENCE:
                    break
        return best

    @staticmethod
    def _reorder(layer: list[int], neighbours: list[list[int]], pos: list[int]) -> None:
        """Barycenter: nodes with neighbours move; the others keep their slots."""
        slots: list[int] = []
        keyed: list[tuple[float, int, int]] = []
        for i, v in enumerate(layer):
            ns = neighbours[v]
            if ns:
                slots.append(i)
                keyed.append((sum(pos[u] for u in ns) / len(ns), i, v))
        keyed.sort()
        for slot, (_, _, v) in zip(slots, keyed, strict=True):
            layer[slot] = v
            pos[v] = slot

    def _crossings(self, layers: list[list[int]], pos: list[int]) -> int:
        total = 0
        for r in range(len(layers) - 1):
            size = len(layers[r + 1])
            if size < 2:
                continue
            tree = [0] * (size + 1)
            seen = 0
            for u in layers[r]:
                for p in sorted(pos[v] for v in self.down[u]):
                    # edges seen so far whose lower end lies right of p cross this one
                    i, below = p + 1, 0
                    while i > 0:
                        below += tree[i]
                        i -= i & -i
                    total += seen - below
                    i = p + 1
                    while i <= size:
                        tree[i] += 1
                        i += i & -i
                    seen += 1
        return total

    # ------------------------------------------------------------- coordinates

    def _gap(self, u: int, v: int) -> float:
        return DUMMY_GAP if self.dummy[u] and self.dummy[v] else NODE_GAP

    def _x_coordinates(self, layers: list[list[int]]) -> list[float]:
        x = [0.0] * len(self.layer)
        for layer in layers:
            cursor = 0.0
            for i, v in enumerate(layer):
                if i:
                    cursor += self._gap(layer[i - 1], v)
                x[v] = cursor + self.width[v] / 2
                cursor += self.width[v] + self.extra_right[v]
            for v in layer:
                x[v] -= cursor / 2
        both = [up + down for up, down in zip(self.up, self.down, strict=True)]
        for _ in range(PLACEMENT_ROUNDS):
            for r in range(1, len(layers)):
                self._place(layers[r], x, self.up)
            for r in range(len(layers) - 2, -1, -1):
                self._place(layers[r], x, self.down)
        for layer in layers:
            self._place(layer, x, both)
        return x

    def _place(self, layer: list[int], x: list[float], neighbours: list[list[int]]) -> None:
        dummy, bus = self.dummy, self.bus
        targets: list[float] = []
        weights: list[float] = []
        for v in layer:
            ns = neighbours[v]
            if ns:
                total = pull = 0.0
                for u in ns:
                    w = BUS_PULL if bus[v] and bus[u] else 1.0
                    total += w * x[u]
                    pull += w
                targets.append(total / pull)
                weights.append(pull * (DUMMY_WEIGHT if dummy[v] else 1.0))
            else:
                targets.append(x[v])
                weights.append(1e-3)
        if len(layer) == 1:
            x[layer[0]] = targets[0]
            return
        width, extra = self.width, self.extra_right
        seps = [
            width[u] / 2 + extra[u] + self._gap(u, v) + width[v] / 2 for u, v in pairwise(layer)
        ]
        for v, value in zip(layer, _isotonic(targets, weights, seps), strict=True):
            x[v] = value

    def _y_coordinates(self, layers: list[list[int]]) -> list[float]:
        centers = []
        top = 0.0
        for r, layer in enumerate(layers):
            height = max((self.height[v] for v in layer), default=0.0)
            if r % 2:
                height = max(height, EMPTY_EDGE_LAYER)
            centers.append(top + height / 2)
            top += height + LAYER_GAP
        return centers

    # ------------------------------------------------------------------ output

    def _drawing(self, layers: list[list[int]], xs: list[float], ys: list[float]) -> Drawing:
        y = [ys[self.layer[v]] for v in range(len(self.layer))]
        left = min((xs[v] - self.width[v] / 2 for v in range(len(xs))), default=0.0)
        right = max(
            (xs[v] + self.width[v] / 2 + self.extra_right[v] for v in range(len(xs))),
            default=0.0,
        )
        top = min((y[v] - self.height[v] / 2 for v in range(len(y))), default=0.0)
        bottom = max((y[v] + self.height[v] / 2 for v in range(len(y))), default=0.0)
        x = [value - left for value in xs]
        y = [value - top for value in y]
        drawing = Drawing(width=right - left, height=bottom - top)
        for i, node_id in enumerate(self.ids):
            drawing.centers[node_id] = (x[i], y[i])
        lines: dict[tuple[str, int, str], tuple[list[Point], list[int]]] = {}
        for key, bus in self.buses.items():
            # the whole bus from its far end to its state, simplified once for every edge
            points = [(x[v], y[v]) for v in reversed(bus)]
            points.append(self._clip(key[1], x, y, points[-1]))
            lines[key] = (points, _keep(points, TOLERANCE))
        for k, e in enumerate(self.edges):
            head, key, span = self.chains[k]
            points = [(x[v], y[v]) for v in head]
            if key is None:
                points[-1] = self._clip(head[-1], x, y, points[-2])
            else:
                line, kept = lines[key]
                first = len(line) - 1 - span
                points.append(line[first])
                points.extend(line[i] for i in kept[bisect_right(kept, first) :])
            points[0] = self._clip(head[0], x, y, points[1])
            label = None
            if e.label_size:
                d = self.label_node[k]
                w, h = e.label_size
                label = (x[d] - w / 2, y[d] - h / 2, w, h)
            drawing.routes[e.id] = (_simplify(points), label)
        for v, loops in self.loops.items():
            w, h = self.width[v], self.height[v]
            edge_x = x[v] + w / 2
            for i, e in enumerate(loops):
                reach = edge_x + LOOP_WIDTH + 8.0 * i
                dy = min(h / 4, 8.0)
                points = [(edge_x, y[v] - dy), (reach, y[v] - dy), (reach, y[v] + dy)]
                points.append((edge_x, y[v] + dy))
                label = None
                if e.label_size:
                    lw, lh = e.label_size
                    label = (reach + 4.0, y[v] - lh / 2 + 12.0 * i, lw, lh)
                drawing.routes[e.id] = (points, label)
        return drawing

    def _clip(self, v: int, x: list[float], y: list[float], toward: Point) -> Point:
        """Where the segment from v's center to ``toward`` leaves v's shape."""
        cx, cy = x[v], y[v]
        dx, dy = toward[0] - cx, toward[1] - cy
        if dx == 0 and dy == 0:
            return cx, cy
        hw, hh = self.width[v] / 2, self.height[v] / 2
        if self.ids[v] in self.round:
            length = (dx * dx + dy * dy) ** 0.5
            return cx + dx / length * hw, cy + dy / length * hw
        tx = hw / abs(dx) if dx else float("inf")
        ty = hh / abs(dy) if dy else float("inf")
        t = min(tx, ty, 1.0)
        return cx + dx * t, cy + dy * t


def _isotonic(targets: list[float], weights: list[float], seps: list[float]) -> list[float]:
    """Minimise sum w*(x - target)^2 subject to x[i+1] - x[i] >= seps[i].

    Shifting by the cumulative separations turns the constraints into a plain
    non-decreasing sequence, which pool-adjacent-violators solves exactly in O(n).
    """
    offsets = [0.0]
    for s in seps:
        offsets.append(offsets[-1] + s)
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for t, w, o in zip(targets, weights, offsets, strict=True):
        blocks.append([w, w * (t - o), 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] > blocks[-1][1] / blocks[-1][0]:
            w2, s2, c2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += c2
    out: list[float] = []
    for w, s, count in blocks:
        out.extend([s / w] * int(count))
    return [value + o for value, o in zip(out, offsets, strict=True)]


def _simplify(points: list[Point]) -> list[Point]:
    """Drop inner points that lie on the segment between their neighbours."""
    if len(points) <= 2:
        return points
    out = [points[0]]
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = out[-1], points[i], points[i + 1]
        cross = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        span = abs(x2 - x0) + abs(y2 - y0)
        if abs(cross) <= 0.5 * span:  # off the line by well under a unit
            continue
        out.append(points[i])
    out.append(points[-1])
    return out


def _keep(points: list[Point], tolerance: float) -> list[int]:
    """Indices Douglas-Peucker keeps: no dropped point is further than ``tolerance``."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (x0, y0), (x1, y1) = points[i], points[j]
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5 or 1.0
        worst, at = tolerance * norm, -1
        for m in range(i + 1, j):
            px, py = points[m]
            distance = abs(dy * (px - x0) - dx * (py - y0))
            if distance > worst:
                worst, at = distance, m
        if at >= 0:
            keep[at] = True
            stack.append((i, at))
            stack.append((at, j))
    return [i for i, kept in enumerate(keep) if kept]
