"""Colours by state type, shared by the SVG, Mermaid and DOT renderers."""

from __future__ import annotations

from typing import Final

# type -> (fill, stroke)
COLORS: Final[dict[str, tuple[str, str]]] = {
    "Task": ("#e3edff", "#3b6fd8"),
    "Choice": ("#fff4d6", "#c98500"),
    "Pass": ("#eef0f3", "#7a8494"),
    "Wait": ("#efe8ff", "#7b52d6"),
    "Succeed": ("#e1f5e6", "#2f9a4e"),
    "Fail": ("#fde3e3", "#d33b3b"),
    "Parallel": ("#f5f9ff", "#5b8fc9"),
    "Map": ("#fcf5ff", "#a35bc9"),
    "Missing": ("#ffffff", "#999999"),
}
DEFAULT: Final = ("#f4f4f4", "#888888")
CLUSTER: Final = ("#ffffff", "#b8c0cc")
EDGE: Final = "#5f6773"
CATCH: Final = "#d33b3b"
TEXT: Final = "#1f2328"
MUTED: Final = "#5f6773"
MARKER: Final = "#333333"


def colors(state_type: str) -> tuple[str, str]:
    return COLORS.get(state_type, DEFAULT)
