"""Graph export: a state machine as nodes, edges and nested clusters, with a layout.

    from statemachine.graph import graph_of, to_svg
    svg = to_svg(graph_of(machine))

:func:`graph_of` gives a :class:`Graph` (JSON-able with ``to_dict()``/``to_json``) whose
``layout`` the web console draws directly; ``to_mermaid``/``to_dot`` describe the same
structure for other tools, ``to_svg`` draws it without any system binary.
"""

from __future__ import annotations

from statemachine.graph.model import graph_of
from statemachine.graph.render import to_dot, to_json, to_mermaid, to_svg
from statemachine.graph.types import Box, Cluster, Edge, Graph, Layout, Marker, Node, Route

__all__ = [
    "Box",
    "Cluster",
    "Edge",
    "Graph",
    "Layout",
    "Marker",
    "Node",
    "Route",
    "graph_of",
    "to_dot",
    "to_json",
    "to_mermaid",
    "to_svg",
]
