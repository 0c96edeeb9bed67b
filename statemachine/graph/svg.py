"""SVG from a graph's layout, in pure Python (no Graphviz, no browser, no fonts).

Drawn back to front: Parallel/Map boxes and their clusters (outermost first), edges,
states and markers, then edge labels on small white plates so lines never run through
text. Every piece of user text goes through :func:`xml_text` / :func:`xml_attr`, which
also replace characters XML 1.0 cannot carry, so the output always parses.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from statemachine.graph.layout import CLUSTER_PAD, CLUSTER_TITLE_SIZE, compute_layout
from statemachine.graph.palette import CATCH, CLUSTER, EDGE, MARKER, MUTED, TEXT, colors
from statemachine.graph.text import LABEL_SIZE, LINE_GAP, Line, edge_label, node_lines
from statemachine.graph.types import Box, Edge, Graph, Layout, Node

FONT = "Helvetica, Arial, sans-serif"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text))


def xml_attr(text: str) -> str:
    """A double-quoted attribute value; newlines and tabs kept as character references."""
    entities = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
    return '"' + escape(_NOT_XML.sub("\ufffd", text), entities) + '"'


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def to_svg(graph: Graph) -> str:
    """A standalone SVG document of ``graph`` (computing the layout if it has none)."""
    layout = graph.layout or compute_layout(graph)
    w, h = _n(layout.width), _n(layout.height)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"'
        f' viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="12">',
        "<defs>",
        _arrow("sm-arrow", EDGE),
        _arrow("sm-arrow-catch", CATCH),
        "</defs>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    if graph.comment:
        out.append(f"<title>{xml_text(graph.comment)}</title>")
    out.extend(_containers(graph, layout))
    out.append('<g class="sm-edges" fill="none">')
    out.extend(_edge(edge, layout) for edge in graph.edges)
    out.append("</g>")
    for node in graph.nodes:
        if not node.children:
            out.append(_node(node, layout.nodes[node.id]))
    for marker in graph.markers:
        out.append(_marker(marker.id, marker.kind, layout.nodes[marker.id]))
    for edge in graph.edges:
        route = layout.edges[edge.id]
        text = edge_label(edge.label)
        if route.label and text:
            out.append(_edge_label(edge, text, route.label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _arrow(marker_id: str, color: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        f' markerHeight="7" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>'
    )


def _containers(graph: Graph, layout: Layout) -> list[str]:
    """Parallel/Map boxes and their clusters, outermost first."""
    parents = {c.id: c.parent for c in graph.clusters}

    def depth(cluster: str | None) -> int:
        d = 0
        while cluster is not None:
            cluster = parents.get(cluster)
            d += 1
        return d

    items: list[tuple[float, int, str]] = []
    for i, node in enumerate(graph.nodes):
        if node.children:
            items.append((depth(node.cluster), i, _container(node, layout.nodes[node.id])))
    for i, cluster in enumerate(graph.clusters):
        box = layout.clusters[cluster.id]
        items.append((depth(cluster.parent) + 0.5, i, _cluster(cluster.id, cluster.label, box)))
    return [svg for _, _, svg in sorted(items)]


def _title(node: Node) -> str:
    parts = [node.name, node.type]
    if node.resource:
        parts.append(node.resource)
    parts.extend(f"retry {r.text}" for r in node.retry)
    if node.comment:
        parts.append(node.comment)
    return f"<title>{xml_text(chr(10).join(parts))}</title>"


def _lines(lines: list[Line], box: Box, top: float) -> list[str]:
    out = []
    y = top
    for line in lines:
        y += line.size
        weight = ' font-weight="bold"' if line.style == "name" else ""
        color = TEXT if line.style == "name" else MUTED
        out.append(
            f'<text x="{_n(box.cx)}" y="{_n(y - line.size * 0.2)}" text-anchor="middle"'
            f' font-size="{_n(line.size)}" fill="{color}"{weight}>{xml_text(line.text)}</text>'
        )
        y += LINE_GAP
    return out


def _content_height(lines: list[Line]) -> float:
    return sum(line.size + LINE_GAP for line in lines) - LINE_GAP


def _container(node: Node, box: Box) -> str:
    fill, stroke = colors(node.type)
    lines = node_lines(node)
    out = [
        f'<g class="sm-state sm-container" data-id={xml_attr(node.id)}'
        f" data-type={xml_attr(node.type)}>",
        _title(node),
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}"'
        f' height="{_n(box.height)}" rx="10" fill="{fill}" stroke="{stroke}"'
        ' stroke-width="1.5"/>',
        *_lines(lines, box, box.y + 8.0),
        "</g>",
    ]
    return "\n".join(out)


def _cluster(cluster_id: str, label: str, box: Box) -> str:
    return (
        f'<g class="sm-cluster" data-id={xml_attr(cluster_id)}>'
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}"'
        f' height="{_n(box.height)}" rx="6" fill="{CLUSTER[0]}" stroke="{CLUSTER[1]}"'
        ' stroke-dasharray="4 3"/>'
        f'<text x="{_n(box.x + CLUSTER_PAD)}" y="{_n(box.y + 14)}"'
        f' font-size="{_n(CLUSTER_TITLE_SIZE)}" fill="{MUTED}">{xml_text(label)}</text></g>'
    )


def _node(node: Node, box: Box) -> str:
    fill, stroke = colors(node.type)
    lines = node_lines(node)
    dash = ' stroke-dasharray="4 3"' if node.type == "Missing" else ""
    top = box.y + (box.height - _content_height(lines)) / 2
    out = [
        f'<g class="sm-state" data-id={xml_attr(node.id)} data-type={xml_attr(node.type)}>',
        _title(node),
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}"'
        f' height="{_n(box.height)}" rx="8" fill="{fill}" stroke="{stroke}"'
        f' stroke-width="1.5"{dash}/>',
        *_lines(lines, box, top),
        "</g>",
    ]
    return "\n".join(out)


def _marker(marker_id: str, kind: str, box: Box) -> str:
    cx, cy, r = _n(box.cx), _n(box.cy), box.width / 2
    if kind == "start":
        shape = f'<circle cx="{cx}" cy="{cy}" r="{_n(r)}" fill="{MARKER}"/>'
    else:
        shape = (
            f'<circle cx="{cx}" cy="{cy}" r="{_n(r - 1)}" fill="#ffffff" stroke="{MARKER}"'
            f' stroke-width="2"/><circle cx="{cx}" cy="{cy}" r="{_n(r - 5)}" fill="{MARKER}"/>'
        )
    return (
        f'<g class="sm-marker sm-{kind}" data-id={xml_attr(marker_id)}>'
        f"<title>{kind}</title>{shape}</g>"
    )


def _edge(edge: Edge, layout: Layout) -> str:
    points = layout.edges[edge.id].points
    d = "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points)
    if edge.kind == "catch":
        style = f'stroke="{CATCH}" stroke-dasharray="6 4" marker-end="url(#sm-arrow-catch)"'
    else:
        style = f'stroke="{EDGE}" marker-end="url(#sm-arrow)"'
    return (
        f'<path class="sm-edge sm-{edge.kind}" data-id={xml_attr(edge.id)} d="{d}"'
        f' stroke-width="1.4" {style}/>'
    )


def _edge_label(edge: Edge, text: str, box: Box) -> str:
    color = CATCH if edge.kind == "catch" else TEXT
    title = f"<title>{xml_text(edge.label)}</title>" if edge.label and edge.label != text else ""
    return (
        f'<g class="sm-edge-label" data-id={xml_attr(edge.id)}>{title}'
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}"'
        f' height="{_n(box.height)}" rx="3" fill="#ffffff" fill-opacity="0.92"/>'
        f'<text x="{_n(box.cx)}" y="{_n(box.cy + LABEL_SIZE * 0.35)}" text-anchor="middle"'
        f' font-size="{_n(LABEL_SIZE)}" fill="{color}">{xml_text(text)}</text></g>'
    )
