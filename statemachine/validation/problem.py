"""One validation problem: a rule id, a message, where in the definition and in the file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
PathPart = str | int


def format_path(parts: tuple[PathPart, ...]) -> str:
    """Render a JSON path tuple as ``$.States.A.Next`` / ``$.States['a b'].Retry[0]``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str
    message: str
    path: tuple[PathPart, ...] = ()
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: Severity = "error"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def json_path(self) -> str:
        return format_path(self.path)

    def format(self) -> str:
        """``file:line:col: error [rule] message (at $.States.X.Next)``."""
        where = self.file or "<definition>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.severity} [{self.rule}] {self.message} (at {self.json_path})"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "path": self.json_path,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }
