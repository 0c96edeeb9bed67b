"""A :class:`Graph` as Mermaid, Graphviz DOT, JSON or SVG text.

Mermaid and DOT leave the layout to their own tools and only describe structure: every
node, marker and edge, clusters as nested subgraphs, Choice rules and caught errors as
edge labels, catch edges dashed and red. State names are arbitrary strings (spaces,
quotes, ``<``, ``&``, emoji, ...), so every piece of user text is quoted and escaped for
the target language, and the renderers use generated ids (``n0``, ``m1``, ``c2``) instead
of names. JSON and SVG use the graph's own layout.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator

from statemachine.graph.palette import CATCH, CLUSTER, EDGE, MARKER, TEXT, colors
from statemachine.graph.svg import to_svg
from statemachine.graph.text import node_lines
from statemachine.graph.types import Graph, Marker, Node

__all__ = ["to_dot", "to_json", "to_mermaid", "to_svg"]


def to_json(graph: Graph) -> str:
    """The graph with its layout, for the web console and other tools."""
    return json.dumps(graph.to_dict(), indent=2, ensure_ascii=False)


def _one_line(text: str) -> str:
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


class _Ids:
    """Short, safe ids for a target language: n0.. nodes, m0.. markers, c0.. clusters."""

    def __init__(self, graph: Graph) -> None:
        self.map: dict[str, str] = {}
        for i, node in enumerate(graph.nodes):
            self.map[node.id] = f"n{i}"
        for i, marker in enumerate(graph.markers):
            self.map[marker.id] = f"m{i}"
        for i, cluster in enumerate(graph.clusters):
            self.map[cluster.id] = f"c{i}"

    def __getitem__(self, key: str) -> str:
        return self.map[key]


def _members(graph: Graph, cluster: str | None) -> Iterator[Node | Marker]:
    """A scope's contents in drawing order: start marker, states, end marker."""
    yield from (m for m in graph.markers if m.cluster == cluster and m.kind == "start")
    yield from (n for n in graph.nodes if n.cluster == cluster)
    yield from (m for m in graph.markers if m.cluster == cluster and m.kind == "end")


# ---------------------------------------------------------------------- Mermaid

_MERMAID_ESCAPES = frozenset('"#&<>|`\\')


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: specials as ``#code;`` entities."""
    return "".join(f"#{ord(c)};" if c in _MERMAID_ESCAPES else c for c in _one_line(text))


def _mermaid_label(node: Node) -> str:
    return "<br/>".join(mermaid_text(line.text) for line in node_lines(node))


_MERMAID_SHAPES = {"Choice": ('{"', '"}'), "Succeed": ('(["', '"])'), "Fail": ('(["', '"])')}


def to_mermaid(graph: Graph) -> str:
    """A ``flowchart TD``: Parallel/Map states are subgraphs holding one subgraph per
    branch or processor; edges may point at a subgraph (Mermaid flowcharts allow it)."""
    ids = _Ids(graph)
    clusters = {c.id: c for c in graph.clusters}
    lines = ["flowchart TD"]
    classes: dict[str, list[str]] = {}

    def scope(cluster: str | None, depth: int) -> None:
        pad = "    " * depth
        for item in _members(graph, cluster):
            short = ids[item.id]
            if isinstance(item, Marker):
                shape = '(("Start"))' if item.kind == "start" else '((("End")))'
                lines.append(f"{pad}{short}{shape}")
                classes.setdefault(f"sm_{item.kind}", []).append(short)
            elif item.children:
                lines.append(f'{pad}subgraph {short} ["{_mermaid_label(item)}"]')
                lines.append(f"{pad}    direction TB")
                for child in item.children:
                    title = mermaid_text(clusters[child].label)
                    lines.append(f'{pad}    subgraph {ids[child]} ["{title}"]')
                    lines.append(f"{pad}        direction TB")
                    scope(child, depth + 2)
                    lines.append(f"{pad}    end")
                    classes.setdefault("sm_cluster", []).append(ids[child])
                lines.append(f"{pad}end")
                classes.setdefault(f"sm_{item.type.lower()}", []).append(short)
            else:
                left, right = _MERMAID_SHAPES.get(item.type, ('("', '")'))
                lines.append(f"{pad}{short}{left}{_mermaid_label(item)}{right}")
                classes.setdefault(f"sm_{item.type.lower()}", []).append(short)

    scope(None, 1)
    catch_links: list[str] = []
    for i, edge in enumerate(graph.edges):
        arrow = "-.->" if edge.kind == "catch" else "-->"
        label = f'|"{mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
        if edge.kind == "catch":
            catch_links.append(str(i))
    for name, fill, stroke, color in _mermaid_styles(graph):
        lines.append(f"    classDef {name} fill:{fill},stroke:{stroke},color:{color}")
    for name, members in classes.items():
        lines.append(f"    class {','.join(members)} {name}")
    if catch_links:
        lines.append(f"    linkStyle {','.join(catch_links)} stroke:{CATCH},color:{CATCH}")
    return "\n".join(lines) + "\n"


def _mermaid_styles(graph: Graph) -> Iterator[tuple[str, str, str, str]]:
    seen: set[str] = set()
    for node in graph.nodes:
        if node.type not in seen:
            seen.add(node.type)
            fill, stroke = colors(node.type)
            yield f"sm_{node.type.lower()}", fill, stroke, TEXT
    if graph.markers:
        yield "sm_start", MARKER, MARKER, "#ffffff"
        if any(m.kind == "end" for m in graph.markers):
            yield "sm_end", MARKER, MARKER, "#ffffff"
    if graph.clusters:
        yield "sm_cluster", *CLUSTER, TEXT


# -------------------------------------------------------------------------- DOT


def _dot_escape(text: str) -> str:
    return _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def dot_string(text: str) -> str:
    """A double-quoted DOT string; backslashes are doubled, so no ``\\N``-style escapes."""
    return f'"{_dot_escape(text)}"'


def _dot_label(node: Node) -> str:
    """One line per :func:`node_lines` entry, joined by DOT's ``\\n`` escape."""
    return '"' + "\\n".join(_dot_escape(line.text) for line in node_lines(node)) + '"'


def to_dot(graph: Graph) -> str:
    """A ``digraph`` with ``subgraph cluster_*`` per Parallel/Map state and per branch.

    Graphviz cannot point an edge at a cluster, so an edge to a Parallel/Map state is
    drawn to the start of its first branch with ``lhead`` (and one leaving it from that
    branch's end with ``ltail``); ``compound=true`` clips them at the cluster's border.
    """
    ids = _Ids(graph)
    clusters = {c.id: c for c in graph.clusters}
    nodes = {n.id: n for n in graph.nodes}
    markers = {(m.cluster, m.kind): m.id for m in graph.markers}
    lines = [
        "digraph statemachine {",
        '    graph [rankdir=TB, compound=true, fontname="Helvetica", fontsize=11,'
        " nodesep=0.35, ranksep=0.4];",
        '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        f'    edge [fontname="Helvetica", fontsize=10, color="{EDGE}"];',
    ]

    def scope(cluster: str | None, depth: int) -> None:
        pad = "    " * depth
        for item in _members(graph, cluster):
            short = ids[item.id]
            if isinstance(item, Marker):
                shape = "circle" if item.kind == "start" else "doublecircle"
                lines.append(
                    f'{pad}{short} [shape={shape}, label="", width=0.16, fixedsize=true,'
                    f' style=filled, fillcolor="{MARKER}", color="{MARKER}"];'
                )
                continue
            fill, stroke = colors(item.type)
            if item.children:
                lines.append(f"{pad}subgraph cluster_{short} {{")
                lines.append(f"{pad}    label={_dot_label(item)};")
                lines.append(
                    f'{pad}    style="rounded,filled"; fillcolor="{fill}"; color="{stroke}";'
                )
                for child in item.children:
                    lines.append(f"{pad}    subgraph cluster_{ids[child]} {{")
                    lines.append(f"{pad}        label={dot_string(clusters[child].label)};")
                    lines.append(
                        f'{pad}        style="rounded,filled,dashed"; fillcolor="{CLUSTER[0]}";'
                        f' color="{CLUSTER[1]}";'
                    )
                    scope(child, depth + 2)
                    lines.append(f"{pad}    }}")
                lines.append(f"{pad}}}")
                continue
            attrs = [f"label={_dot_label(item)}", f'fillcolor="{fill}"', f'color="{stroke}"']
            if item.type == "Choice":
                attrs.append("shape=diamond")
            if item.type == "Missing":
                attrs.append('style="rounded,dashed"')
            if item.comment:
                attrs.append(f"tooltip={dot_string(item.comment)}")
            lines.append(f"{pad}{short} [{', '.join(attrs)}];")

    def head(node_id: str) -> tuple[str, str | None]:
        node = nodes.get(node_id)
        if node is None or not node.children:
            return ids[node_id], None
        return ids[markers[(node.children[0], "start")]], f"cluster_{ids[node_id]}"

    def tail(node_id: str) -> tuple[str, str | None]:
        node = nodes.get(node_id)
        if node is None or not node.children:
            return ids[node_id], None
        first = node.children[0]
        anchor = markers.get((first, "end")) or markers[(first, "start")]
        return ids[anchor], f"cluster_{ids[node_id]}"

    scope(None, 1)
    for edge in graph.edges:
        source, ltail = tail(edge.source)
        target, lhead = head(edge.target)
        attrs = []
        if edge.label:
            attrs.append(f"label={dot_string(edge.label)}")
        if edge.kind == "catch":
            attrs.append(f'style=dashed, color="{CATCH}", fontcolor="{CATCH}"')
        if ltail:
            attrs.append(f"ltail={ltail}")
        if lhead:
            attrs.append(f"lhead={lhead}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {source} -> {target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
