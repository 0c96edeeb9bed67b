"""Graph export: structure, Choice labels, layout properties, escaping and the CLI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from statemachine.cli import main
from statemachine.definition import load
from statemachine.graph import Graph, graph_of, to_dot, to_json, to_mermaid, to_svg
from statemachine.graph.labels import rule_text
from statemachine.graph.types import TIMES, Box
from statemachine.model.build import build

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted(p for p in (ROOT / "definitions").glob("*.asl.*"))
SVG = "{http://www.w3.org/2000/svg}"


def graph(definition: dict[str, Any]) -> Graph:
    return graph_of(build(definition))


def edges(g: Graph, kind: str | None = None) -> list[tuple[str, str, str | None]]:
    """(source name, target name or marker id, label) of every edge of ``kind``."""
    names = {n.id: n.name for n in g.nodes}
    return [
        (names.get(e.source, e.source), names.get(e.target, e.target), e.label)
        for e in g.edges
        if kind is None or e.kind == kind
    ]


def reverse_keys(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order (arrays untouched)."""
    if isinstance(value, dict):
        return {k: reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reverse_keys(v) for v in value]
    return value


def chain(prefix: str, length: int) -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i in range(length):
        last = i == length - 1
        states[f"{prefix}{i}"] = {
            "Type": "Pass",
            **({"End": True} if last else {"Next": f"{prefix}{i + 1}"}),
        }
    return {"StartAt": f"{prefix}0", "States": states}


# A polling loop with every kind of transition: Next, Choice rules, Default, Catch
# (one of them back onto its own state), End, Succeed and Fail.
POLL: dict[str, Any] = {
    "Comment": "poll until done",
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Task", "Resource": "tool:start", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 10, "Next": "Check"},
        "Check": {
            "Type": "Task",
            "Resource": "tool:check",
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2, "IntervalSeconds": 3}],
            "Catch": [
                {"ErrorEquals": ["Job.Lost"], "Next": "Check"},
                {"ErrorEquals": ["Job.Broken", "States.TaskFailed"], "Next": "Broken"},
            ],
            "Next": "Done?",
        },
        "Done?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.status", "StringEquals": "RUNNING", "Next": "Wait"},
                {"Variable": "$.status", "StringMatches": "fail*", "Next": "Broken"},
            ],
            "Default": "Finish",
        },
        "Finish": {"Type": "Pass", "Next": "Succeeded"},
        "Succeeded": {"Type": "Succeed"},
        "Broken": {"Type": "Fail", "Error": "Job.Failed"},
    },
}

# Parallel > Map > Parallel, each level with its own start and end.
NESTED: dict[str, Any] = {
    "StartAt": "Outer",
    "States": {
        "Outer": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Fan",
                    "States": {
                        "Fan": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "StartAt": "Inner",
                                "States": {
                                    "Inner": {
                                        "Type": "Parallel",
                                        "Branches": [chain("A", 2), chain("B", 3)],
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {
                    "StartAt": "Side",
                    "States": {"Side": {"Type": "Wait", "Seconds": 1, "End": True}},
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail"},
    },
}

NO_DEFAULT: dict[str, Any] = {
    "StartAt": "Pick",
    "States": {
        "Pick": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericEquals": 1, "Next": "One"},
                {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Many"},
            ],
        },
        "One": {"Type": "Succeed"},
        "Many": {"Type": "Succeed"},
    },
}


def big(stages: int) -> dict[str, Any]:
    """``stages`` Task -> Choice(3 arms) -> join stages, each Task caught by one handler."""
    states: dict[str, Any] = {"Handler": {"Type": "Fail"}}
    for i in range(stages):
        nxt = f"T{i + 1}" if i + 1 < stages else "Done"
        states[f"T{i}"] = {
            "Type": "Task",
            "Resource": "tool:t",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}],
            "Next": f"C{i}",
        }
        states[f"C{i}"] = {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.k", "NumericEquals": j, "Next": f"C{i}_{j}"} for j in range(2)
            ],
            "Default": f"C{i}_2",
        }
        for j in range(3):
            states[f"C{i}_{j}"] = {"Type": "Pass", "Next": nxt}
    states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "T0", "States": states}


# ------------------------------------------------------------------- structure


def test_every_transition_kind_becomes_an_edge() -> None:
    g = graph(POLL)
    assert edges(g, "start") == [("root#start", "Start", None)]
    assert ("Start", "Wait", None) in edges(g, "next")
    assert ("Check", "Done?", None) in edges(g, "next")
    assert edges(g, "choice") == [
        ("Done?", "Wait", '$.status == "RUNNING"'),
        ("Done?", "Broken", '$.status matches "fail*"'),
    ]
    assert edges(g, "default") == [("Done?", "Finish", "Default")]
    assert edges(g, "catch") == [
        ("Check", "Check", "Job.Lost"),
        ("Check", "Broken", "Job.Broken, States.TaskFailed"),
    ]
    assert sorted(edges(g, "end")) == [
        ("Broken", "root#end", None),
        ("Succeeded", "root#end", None),
    ]
    catch = [e for e in g.edges if e.kind == "catch"][1]
    assert catch.errors == ("Job.Broken", "States.TaskFailed")
    assert catch.index == 1


def test_nodes_carry_type_resource_retry_and_source_path() -> None:
    g = graph(POLL)
    check = g.node("States.Check")
    assert (check.name, check.type, check.resource, check.cluster) == (
        "Check",
        "Task",
        "tool:check",
        None,
    )
    assert check.path == ("States", "Check")
    assert [r.text for r in check.retry] == [f"States.Timeout {TIMES}2 (3s, {TIMES}2)"]
    assert g.node("States.Wait").detail == "10s"
    assert g.node("States.Broken").detail == "Job.Failed"
    assert g.comment == "poll until done"


def test_choice_without_default_has_only_rule_edges() -> None:
    g = graph(NO_DEFAULT)
    assert edges(g, "default") == []
    assert edges(g, "choice") == [("Pick", "One", "$.n == 1"), ("Pick", "Many", "$.n > 1")]
    assert "Default" not in to_mermaid(g)
    ET.fromstring(to_svg(g))


def test_nested_parallel_inside_map_inside_parallel() -> None:
    g = graph(NESTED)
    clusters = {c.id: c for c in g.clusters}
    outer0, outer1 = "States.Outer.Branches.0", "States.Outer.Branches.1"
    processor = f"{outer0}.States.Fan.ItemProcessor"
    inner0 = f"{processor}.States.Inner.Branches.0"
    assert g.node("States.Outer").children == (outer0, outer1)
    assert clusters[outer0].kind == "parallel-branch" and clusters[outer0].parent is None
    assert clusters[processor].kind == "map-processor"
    assert clusters[processor].state == f"{outer0}.States.Fan"
    assert clusters[processor].parent == outer0
    assert clusters[inner0].parent == processor
    assert clusters[inner0].label == "Branch 1"
    assert g.node(f"{inner0}.States.A1").cluster == inner0
    # every scope has its own start and end markers
    for cluster in [None, outer0, outer1, processor, inner0]:
        kinds = sorted(m.kind for m in g.markers if m.cluster == cluster)
        assert kinds == ["end", "start"], cluster

    # boxes nest: node in cluster, cluster in its Parallel/Map state, that in its cluster
    layout = g.layout
    assert layout is not None
    for node in g.nodes:
        if node.cluster is not None:
            assert inside(layout.nodes[node.id], layout.clusters[node.cluster]), node.id
    for cluster in g.clusters:
        assert inside(layout.clusters[cluster.id], layout.nodes[cluster.state]), cluster.id
    for scope in {n.cluster for n in g.nodes}:
        boxes = [layout.nodes[n.id] for n in g.nodes if n.cluster == scope]
        boxes += [layout.nodes[m.id] for m in g.markers if m.cluster == scope]
        assert not overlapping(boxes), scope
    siblings = [layout.clusters[c] for c in g.node("States.Outer").children]
    assert not overlapping(siblings)


def test_states_nothing_reaches_are_still_drawn() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Pass", "End": True}},
    }
    g = graph(definition)
    assert [n.name for n in g.nodes] == ["A", "Orphan"]
    assert ("Orphan", "root#end", None) in edges(g, "end")


def test_a_dangling_transition_points_at_a_missing_node() -> None:
    # build() does not validate: the drawing shows the broken transition instead of failing
    g = graph({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    missing = g.node("States.Nowhere")
    assert missing.type == "Missing"
    assert edges(g, "next") == [("A", "Nowhere", None)]
    ET.fromstring(to_svg(g))


# ---------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.x", "NumericEquals": 1}, "$.x == 1"),
        ({"Variable": "$.x", "NumericLessThanEquals": 2.5}, "$.x <= 2.5"),
        ({"Variable": "$.s", "StringEquals": 'say "hi"'}, '$.s == "say \\"hi\\""'),
        ({"Variable": "$.s", "StringMatches": "a*"}, '$.s matches "a*"'),
        ({"Variable": "$.b", "BooleanEquals": True}, "$.b == true"),
        ({"Variable": "$.a", "NumericGreaterThanPath": "$.b"}, "$.a > $.b"),
        (
            {"Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z"},
            '$.t < timestamp("2024-01-01T00:00:00Z")',
        ),
        ({"Variable": "$.x", "IsNull": True}, "$.x is null"),
        ({"Variable": "$.x", "IsPresent": False}, "$.x is not present"),
        (
            {
                "And": [
                    {"Variable": "$.a", "NumericGreaterThan": 0},
                    {"Not": {"Variable": "$.b", "IsString": True}},
                ]
            },
            "And($.a > 0, Not($.b is string))",
        ),
        (
            {
                "Or": [
                    {"Variable": "$$.Map.Item.Index", "NumericEquals": 0},
                    {"Variable": "$v", "IsNumeric": True},
                ]
            },
            "Or($$.Map.Item.Index == 0, $v is numeric)",
        ),
    ],
)
def test_choice_rule_text(rule: dict[str, Any], text: str) -> None:
    assert rule_text(rule) == text
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "E"}], "Default": "E"},
            "E": {"Type": "Succeed"},
        },
    }
    assert edges(graph(definition), "choice") == [("C", "E", text)]


def test_jsonata_condition_is_the_label() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n > 3 and $exists($x) %}", "Next": "E"}
                ],
                "Default": "E",
            },
            "E": {"Type": "Succeed"},
        },
    }
    assert edges(graph(definition), "choice") == [("C", "E", "$states.input.n > 3 and $exists($x)")]


# ---------------------------------------------------------------------- layout


def inside(inner: Box, outer: Box) -> bool:
    return (
        inner.x >= outer.x - 0.05
        and inner.y >= outer.y - 0.05
        and inner.x + inner.width <= outer.x + outer.width + 0.05
        and inner.y + inner.height <= outer.y + outer.height + 0.05
    )


def overlapping(boxes: Iterable[Box]) -> list[tuple[Box, Box]]:
    items = list(boxes)
    return [
        (a, b)
        for i, a in enumerate(items)
        for b in items[i + 1 :]
        if a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    ]


def touches(point: tuple[float, float], box: Box, round_shape: bool) -> bool:
    """Whether an edge end lies on the outline of a box (or of the circle inside it)."""
    x, y = point
    if round_shape:
        distance = ((x - box.cx) ** 2 + (y - box.cy) ** 2) ** 0.5
        return abs(distance - box.width / 2) < 0.3
    near = (
        box.x - 0.2 <= x <= box.x + box.width + 0.2 and box.y - 0.2 <= y <= box.y + box.height + 0.2
    )
    edges_ = (
        abs(x - box.x),
        abs(x - box.x - box.width),
        abs(y - box.y),
        abs(y - box.y - box.height),
    )
    return near and min(edges_) < 0.2


def test_layout_is_layered_from_the_start_and_edges_touch_their_ends() -> None:
    g = graph(POLL)
    layout = g.layout
    assert layout is not None
    y = {n.name: layout.nodes[n.id].y for n in g.nodes}
    # longest path from StartAt: the happy path reads top to bottom, loops go back up
    assert layout.nodes["root#start"].y < y["Start"] < y["Wait"] < y["Check"] < y["Done?"]
    assert y["Done?"] < y["Finish"] < y["Succeeded"] < layout.nodes["root#end"].y
    assert not overlapping(layout.nodes.values())
    labels = [r.label for r in layout.edges.values() if r.label]
    assert not overlapping([*layout.nodes.values(), *labels])
    for edge in g.edges:
        route = layout.edges[edge.id]
        assert len(route.points) >= 2
        if edge.source != edge.target:
            source, target = layout.nodes[edge.source], layout.nodes[edge.target]
            assert touches(route.points[0], source, "#" in edge.source), edge.id
            assert touches(route.points[-1], target, "#" in edge.target), edge.id
    # the Done? -> Wait edge closes a loop: it is drawn upwards
    back = layout.edges["States.Done?:choice.0"]
    assert back.points[-1][1] < back.points[0][1]
    # everything fits in the canvas
    for box in [*layout.nodes.values(), *layout.clusters.values()]:
        assert box.x >= 0 and box.y >= 0
        assert box.x + box.width <= layout.width and box.y + box.height <= layout.height


def test_reversed_key_order_gives_the_identical_graph_and_layout() -> None:
    for definition in (POLL, NESTED, NO_DEFAULT, big(6)):
        reversed_definition = reverse_keys(definition)
        assert list(reversed_definition["States"]) != list(definition["States"])
        a, b = graph(definition), graph(reversed_definition)
        assert to_json(a) == to_json(b)
        assert to_svg(a) == to_svg(b)
        assert to_mermaid(a) == to_mermaid(b)
        assert to_dot(a) == to_dot(b)


def test_a_simple_fan_out_and_join_has_no_crossings() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.x", "NumericEquals": i, "Next": f"P{i}"} for i in range(3)
                ],
                "Default": "P3",
            },
            **{f"P{i}": {"Type": "Pass", "Next": "Join"} for i in range(4)},
            "Join": {"Type": "Succeed"},
        },
    }
    g = graph(definition)
    assert g.layout is not None
    xs = [g.layout.nodes[f"States.P{i}"].x for i in range(4)]
    assert xs == sorted(xs)  # the arms keep the order of the rules: no crossing


def test_two_hundred_states_lay_out_without_overlaps() -> None:
    g = graph(big(40))
    assert len(g.nodes) == 202
    layout = g.layout
    assert layout is not None
    assert not overlapping(layout.nodes.values())
    assert set(layout.edges) == {e.id for e in g.edges}
    # the forty catch edges into one handler share one line near it: one arrow head
    # (the last Task's own edge, labelled right above the handler, may arrive on its own)
    ends = {layout.edges[e.id].points[-1] for e in g.edges if e.kind == "catch"}
    assert len(ends) <= 2


def test_graph_without_layout_is_laid_out_by_the_svg_renderer() -> None:
    g = graph_of(build(POLL), layout=False)
    assert g.layout is None and g.to_dict()["layout"] is None
    assert ET.fromstring(to_svg(g)).tag == f"{SVG}svg"


# -------------------------------------------------------------------- renderers

NASTY = [
    'Say "hi"',
    "a < b & c > d",
    "Ünïcødé ✓ 名前 🚀",
    "end",
    "pipe | #35; `x` \\n",
    "[x] (y) {z} -->",
]


def nasty_definition() -> dict[str, Any]:
    states: dict[str, Any] = {}
    for i, name in enumerate(NASTY):
        body: dict[str, Any] = {"Type": "Pass", "Comment": 'multi\nline <c> & "q"'}
        if i + 1 < len(NASTY):
            body["Next"] = NASTY[i + 1]
        else:
            body["End"] = True
        states[name] = body
    states["Check <it>"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.s", "StringEquals": 'x"|<&>', "Next": NASTY[0]}],
        "Default": NASTY[3],
    }
    return {"StartAt": "Check <it>", "States": states}


def test_svg_is_valid_xml_with_all_text_escaped() -> None:
    g = graph(nasty_definition())
    root = ET.fromstring(to_svg(g))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for name in [*NASTY, "Check <it>"]:
        assert name in texts, name
    assert '$.s == "x\\"|<&>"' in texts
    states = root.findall(f".//{SVG}g[@class='sm-state']")
    assert sorted(s.get("data-id") for s in states) == sorted(n.id for n in g.nodes)
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert any(t and 'multi\nline <c> & "q"' in t for t in titles)


def test_svg_draws_catch_edges_dashed_red_and_markers() -> None:
    root = ET.fromstring(to_svg(graph(POLL)))
    paths = {p.get("data-id"): p for p in root.iter(f"{SVG}path") if p.get("data-id")}
    catch = paths["States.Check:catch.1"]
    assert catch.get("stroke-dasharray") and catch.get("marker-end") == "url(#sm-arrow-catch)"
    assert not paths["States.Check:next"].get("stroke-dasharray")
    assert root.find(f".//{SVG}g[@data-id='root#start']") is not None
    assert root.find(f".//{SVG}g[@data-id='root#end']") is not None
    assert any(f"States.Timeout {TIMES}2" in "".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def test_svg_survives_control_characters_in_names() -> None:
    definition = {
        "StartAt": "a\x01b",
        "States": {"a\x01b": {"Type": "Pass", "Comment": "\x0b", "End": True}},
    }
    ET.fromstring(to_svg(graph(definition)))


def test_mermaid_quotes_and_escapes_every_name() -> None:
    g = graph(nasty_definition())
    text = to_mermaid(g)
    assert text.startswith("flowchart TD\n")
    for i, node in enumerate(g.nodes):
        assert re.search(rf"^\s+n{i}[\[({{]", text, re.MULTILINE), node.name
    assert "Say #34;hi#34;" in text
    assert "a #60; b #38; c #62; d" in text
    assert "Ünïcødé ✓ 名前 🚀" in text
    assert "pipe #124; #35;35; #96;x#96; #92;n" in text
    assert '-->|"$.s == #34;x#92;#34;#124;#60;#38;#62;#34;"|' in text
    # no raw user punctuation leaks between the quotes of a label
    for label in re.findall(r'"([^"]*)"', text):
        assert not set(label.replace("<br/>", "")) & set("<>&|`"), label


def test_mermaid_structure_for_clusters_and_catch_edges() -> None:
    g = graph(NESTED)
    text = to_mermaid(g)
    subgraphs = re.findall(r"^\s+subgraph ", text, re.MULTILINE)
    assert len(subgraphs) == len(g.clusters) + sum(1 for n in g.nodes if n.children)
    assert len(subgraphs) == len(re.findall(r"^\s+end$", text, re.MULTILINE))
    assert re.search(r'-\.->\|"States\.ALL"\|', text)
    assert "linkStyle" in text
    assert len(re.findall(r"-->|-\.->", text)) == len(g.edges)


def test_dot_has_clusters_compound_edges_and_escaped_labels() -> None:
    g = graph(NESTED)
    text = to_dot(g)
    assert text.startswith("digraph statemachine {") and text.rstrip().endswith("}")
    assert "compound=true" in text
    assert text.count("subgraph cluster_") == len(g.clusters) + sum(
        1 for n in g.nodes if n.children
    )
    assert "lhead=cluster_" in text and "ltail=cluster_" in text
    assert text.count(" -> ") == len(g.edges)
    assert text.count("{") == text.count("}")
    nasty = to_dot(graph(nasty_definition()))
    assert 'label="Say \\"hi\\"\\nPass"' in nasty
    assert "pipe | #35; `x` \\\\n" in nasty
    for i, _ in enumerate(graph(nasty_definition()).nodes):
        assert re.search(rf"^\s+n{i} \[", nasty, re.MULTILINE)


def test_json_lists_everything_with_its_layout() -> None:
    g = graph(NESTED)
    data = json.loads(to_json(g))
    assert data["start"] == "root#start"
    ids = {n["id"] for n in data["nodes"]} | {m["id"] for m in data["markers"]}
    assert set(data["layout"]["nodes"]) == ids
    assert set(data["layout"]["clusters"]) == {c["id"] for c in data["clusters"]}
    assert set(data["layout"]["edges"]) == {e["id"] for e in data["edges"]}
    edge = data["edges"][0]
    assert set(edge) >= {"id", "from", "to", "kind", "label"}
    box = data["layout"]["nodes"]["States.Outer"]
    assert set(box) == {"x", "y", "width", "height"}


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_every_example_definition_draws(path: Path) -> None:
    g = graph_of(load(path))
    ET.fromstring(to_svg(g))
    assert to_mermaid(g).count("\n") > len(g.nodes)
    assert to_dot(g).count(" -> ") == len(g.edges)


# ------------------------------------------------------------------------- CLI


@pytest.fixture
def poll_file(tmp_path: Path) -> Path:
    path = tmp_path / "poll.asl.json"
    path.write_text(json.dumps(POLL))
    return path


def test_cli_prints_mermaid_by_default(poll_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(poll_file)]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD\n")


def test_cli_writes_svg_to_a_file(
    poll_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "poll.svg"
    assert main(["graph", str(poll_file), "--format", "svg", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert ET.parse(out).getroot().tag == f"{SVG}svg"


def test_cli_json_and_query(poll_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(poll_file), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["layout"]["width"] > 0
    assert main(["graph", str(poll_file), "--format", "json", "--query", "nodes[].name"]) == 0
    assert json.loads(capsys.readouterr().out)[:2] == ["Start", "Wait"]


def test_cli_dot(poll_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(poll_file), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith("digraph statemachine {")


def test_cli_exits_2_on_an_invalid_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.asl.json"
    path.write_text(
        json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    )
    assert main(["graph", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "bad.asl.json" in captured.err and "Nowhere" in captured.err


def test_cli_usage_errors(
    poll_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", str(tmp_path / "missing.asl.yaml")]) == 2
    assert main(["graph", str(poll_file), "--format", "png"]) == 2
    assert main(["graph", str(poll_file), "--query", "nodes"]) == 2
    assert "--query" in capsys.readouterr().err
