"""``statemachine graph FILE``: draw a definition as Mermaid, DOT, JSON or SVG.

Mermaid goes in Markdown (GitHub renders it), DOT in Graphviz, JSON (the graph with its
layout) in other tools, SVG anywhere; SVG is drawn here in pure Python, with no
Graphviz or browser needed. An invalid definition prints its problems, in the format
of ``statemachine validate``, on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from statemachine.commands._output import add_query_argument, print_json

FORMATS = ("mermaid", "dot", "json", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a definition (*.asl.yaml / *.asl.json)")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="mermaid (default), dot (Graphviz), json (nodes, edges and layout) or svg",
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="write to this file instead of standard output"
    )
    add_query_argument(parser)


def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError
    from statemachine.definition import load
    from statemachine.errors import DefinitionError
    from statemachine.graph import graph_of, to_dot, to_mermaid, to_svg

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {args.file}")
    if args.query and args.format != "json":
        raise UsageError("--query applies to --format json only")
    try:
        machine = load(path)
    except DefinitionError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        print(f"{path}: invalid definition, no graph drawn", file=sys.stderr)
        return 2
    graph = graph_of(machine, layout=args.format in ("json", "svg"))
    if args.format == "json":
        buffer = io.StringIO()
        print_json(graph.to_dict(), args.query, stream=buffer)
        text = buffer.getvalue()
    else:
        render = {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}[args.format]
        text = render(graph)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    return 0
