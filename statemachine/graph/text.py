"""What a node shows, and how big that is.

There is no font engine here (SVG output must need no system binary), so widths are
estimated from per-character classes of a typical sans-serif face. The layout sizes boxes
with these functions and the SVG renderer draws the same lines, so text fits its box.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from statemachine.graph.types import Node

NAME_SIZE: Final = 13.0
SUB_SIZE: Final = 11.0
LABEL_SIZE: Final = 11.0
LINE_GAP: Final = 4.0
PAD_X: Final = 12.0
PAD_Y: Final = 8.0
MIN_NODE_WIDTH: Final = 96.0
MAX_NAME_CHARS: Final = 40
MAX_SUB_CHARS: Final = 44
MAX_LABEL_CHARS: Final = 44

# Advance widths (in em) of printable ASCII, rounded from a common wide sans-serif face
# (DejaVu Sans): erring wide keeps text inside its box with narrower fonts too.
_ASCII_WIDTHS: Final = (
    # space ! " # $ % & ' ( ) * + , - . /
    ".32 .40 .46 .84 .64 .95 .78 .28 .39 .39 .50 .84 .32 .36 .32 .34 "
    # 0-9 : ; < = > ? @
    ".64 .64 .64 .64 .64 .64 .64 .64 .64 .64 .34 .34 .84 .84 .84 .53 1.0 "
    # A-Z
    ".68 .69 .70 .77 .63 .58 .78 .75 .30 .30 .66 .56 .86 .75 .79 .60 .79 .70 .64 .61 "
    ".73 .68 .99 .69 .61 .69 "
    # [ \ ] ^ _ `
    ".39 .34 .39 .84 .50 .50 "
    # a-z
    ".61 .64 .55 .64 .62 .35 .64 .63 .28 .28 .58 .28 .97 .63 .61 .64 .64 .41 .52 .39 "
    ".63 .59 .82 .59 .59 .53 "
    # { | } ~
    ".64 .34 .64 .84"
)
_WIDTHS: Final = {chr(32 + i): float(w) for i, w in enumerate(_ASCII_WIDTHS.split())}

LineStyle = Literal["name", "sub", "retry"]


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    style: LineStyle

    @property
    def size(self) -> float:
        return NAME_SIZE if self.style == "name" else SUB_SIZE


def char_width(char: str, size: float) -> float:
    known = _WIDTHS.get(char)
    if known is not None:
        return size * known
    if unicodedata.combining(char):
        return 0.0
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return size
    return size * 0.7


def text_width(text: str, size: float, bold: bool = False) -> float:
    width = sum(char_width(c, size) for c in text)
    return width * (1.1 if bold else 1.0)


def ellipsize(text: str, limit: int) -> str:
    """At most ``limit`` characters; one line (control characters become spaces)."""
    flat = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def node_lines(node: Node) -> list[Line]:
    """Name; type with resource or detail; one line summing up the retriers."""
    lines = [Line(ellipsize(node.name, MAX_NAME_CHARS), "name")]
    sub = node.type
    extra = node.resource or node.detail
    if extra:
        sub = f"{sub} · {extra}"
    lines.append(Line(ellipsize(sub, MAX_SUB_CHARS), "sub"))
    if node.retry:
        text = "↻ retry " + "; ".join(r.text for r in node.retry)
        lines.append(Line(ellipsize(text, MAX_SUB_CHARS), "retry"))
    return lines


def lines_size(lines: list[Line]) -> tuple[float, float]:
    width = max(text_width(line.text, line.size, line.style == "name") for line in lines)
    height = sum(line.size + LINE_GAP for line in lines) - LINE_GAP
    return width + 2 * PAD_X, height + 2 * PAD_Y


def node_size(node: Node) -> tuple[float, float]:
    width, height = lines_size(node_lines(node))
    return max(width, MIN_NODE_WIDTH), height


def edge_label(text: str | None) -> str | None:
    return ellipsize(text, MAX_LABEL_CHARS) if text else None


def label_size(text: str) -> tuple[float, float]:
    return text_width(text, LABEL_SIZE) + 8.0, LABEL_SIZE + 6.0
