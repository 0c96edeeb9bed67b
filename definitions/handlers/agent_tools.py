"""Demo tools for the agent examples (``agent-loop.asl.yaml``, ``plan-execute-agent.asl.yaml``).

    statemachine run definitions/agent-loop.asl.yaml \\
        --handlers definitions/handlers/agent_tools.py \\
        --input '{"task": "What is 17% of the Q3 budget in the notes?"}'

Each tool takes a pydantic model, so its JSON Schema (sent to the model as the function's
parameters) comes from the type hints, and a model that sends bad arguments gets a
``Tool.InvalidInput`` error it can read and correct.

* ``search_notes``: keyword search over a few built-in team notes.
* ``calculator``: arithmetic on numbers (no names, no calls but a few math functions).
* ``write_file``: saves a text file in ``$STATEMACHINE_AGENT_DIR`` (default: a
  ``statemachine-agent`` folder in the system temp dir), never anywhere else.
"""

from __future__ import annotations

import ast
import math
import operator
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

import statemachine
from statemachine import TaskError

NOTES = [
    {
        "title": "Q3 budget",
        "text": "The Q3 budget for the platform team is 48000 EUR, of which 12000 EUR "
        "is reserved for cloud costs.",
    },
    {
        "title": "On-call rota",
        "text": "Ana covers on-call in weeks 1 and 3, Ben in weeks 2 and 4. Escalate to "
        "the team lead after 30 minutes without an answer.",
    },
    {
        "title": "Release checklist",
        "text": "Before a release: run the migration dry-run, tag the commit, update the "
        "changelog and announce the window in the ops channel.",
    },
    {
        "title": "Hiring plan",
        "text": "Two backend engineers join in October; interviews run until mid September.",
    },
    {
        "title": "Incident 42",
        "text": "A full disk on the queue host stopped workers for 25 minutes; alerts now "
        "fire at 80 percent disk usage.",
    },
]


class SearchNotes(BaseModel):
    query: str = Field(description="words to look for")
    limit: int = Field(3, ge=1, le=10, description="how many notes to return at most")


class Note(BaseModel):
    title: str
    text: str
    score: int


@statemachine.tool("search_notes")
def search_notes(args: SearchNotes) -> list[Note]:
    """Search the team's notes by keywords; returns the best matching notes."""
    words = {w for w in re.findall(r"[a-z0-9]+", args.query.lower()) if len(w) > 1}
    scored = []
    for note in NOTES:
        text = f"{note['title']} {note['text']}".lower()
        score = sum(text.count(word) for word in words)
        if score:
            scored.append(Note(title=note["title"], text=note["text"], score=score))
    scored.sort(key=lambda n: -n.score)
    return scored[: args.limit]


class Calculation(BaseModel):
    expression: str = Field(description="an arithmetic expression, e.g. 0.17 * 48000")


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max}


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (
            abs(right) > 100 or abs(left) ** min(abs(right), 100) > 10**300
        ):
            raise TaskError("Calculator.InvalidExpression", "that power is too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(arg) for arg in node.args))
    raise TaskError(
        "Calculator.InvalidExpression",
        f"only numbers, + - * / // % ** and {', '.join(_FUNCTIONS)} are allowed",
    )


@statemachine.tool("calculator")
def calculator(args: Calculation) -> dict[str, Any]:
    """Evaluate an arithmetic expression exactly as written and return the number."""
    try:
        tree = ast.parse(args.expression, mode="eval")
    except SyntaxError as exc:
        raise TaskError("Calculator.InvalidExpression", f"cannot parse: {exc.msg}") from None
    try:
        value = _evaluate(tree)
    except ZeroDivisionError:
        raise TaskError("Calculator.InvalidExpression", "division by zero") from None
    except OverflowError:
        raise TaskError("Calculator.InvalidExpression", "the result is too large") from None
    if isinstance(value, float):
        value = round(value, 10)  # 0.17 * 48000 is 8160, not 8160.000000000001
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return {"expression": args.expression, "result": value}


class WriteFile(BaseModel):
    filename: str = Field(description="a plain file name such as summary.md (no folders)")
    content: str = Field(description="the text to write")


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def output_dir() -> Path:
    folder = os.environ.get("STATEMACHINE_AGENT_DIR") or os.path.join(
        tempfile.gettempdir(), "statemachine-agent"
    )
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@statemachine.tool("write_file")
def write_file(args: WriteFile) -> dict[str, Any]:
    """Save text to a file in the agent's output folder (overwrites a file of that name)."""
    if not _SAFE_NAME.fullmatch(args.filename) or ".." in args.filename:
        raise TaskError(
            "WriteFile.InvalidName",
            "use a plain file name of letters, digits, . _ - (no folders), e.g. notes.md",
        )
    target = output_dir() / args.filename
    data = args.content.encode()
    target.write_bytes(data)
    return {"path": str(target), "bytes": len(data)}
