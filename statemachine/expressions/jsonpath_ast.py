"""The data model of a parsed JSONPath (what :mod:`.jsonpath_parse` produces).

Steps (:class:`Name`, :class:`Index`, :class:`Filter`, ...), the filter expressions inside
``[?(...)]`` (:class:`Compare`, :class:`Exists`, :class:`And`, ...), :class:`ParsedPath`, and
the helpers that classify a sequence of steps the way Jayway JsonPath does (definite or not,
plain reference keys, upstream-definite flags).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "And",
    "Compare",
    "Const",
    "Exists",
    "Filter",
    "FilterExpr",
    "Index",
    "Indexes",
    "Name",
    "Names",
    "Not",
    "Or",
    "ParsedPath",
    "RelPath",
    "Root",
    "Scan",
    "Slice",
    "Step",
    "Wildcard",
    "reference_keys",
    "step_is_definite",
    "steps_definite",
    "upstream_flags",
]

Root = Literal["input", "context", "variable"]


def _escape_name(name: str) -> str:
    # Jayway's PropertyPathToken escapes backslash and single quote in its fragment.
    return name.replace("\\", "\\\\").replace("'", "\\'")


# ----------------------------------------------------------------------------- steps
# Every step keeps the 0-based column where it starts (for reference-path errors) and
# knows its Jayway "path fragment", which is what normalized paths are made of.


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    quote: str = "'"
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return f"[{self.quote}{_escape_name(self.name)}{self.quote}]"


@dataclass(frozen=True, slots=True)
class Names:
    """``['a','b']``: merged into one object when last, iterated otherwise (Jayway)."""

    names: tuple[str, ...]
    quote: str = "'"
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        q = self.quote
        return "[" + ",".join(f"{q}{_escape_name(n)}{q}" for n in self.names) + "]"


@dataclass(frozen=True, slots=True)
class Index:
    index: int
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True, slots=True)
class Indexes:
    indexes: tuple[int, ...]
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return "[" + ",".join(str(i) for i in self.indexes) + "]"


@dataclass(frozen=True, slots=True)
class Slice:
    start: int | None
    stop: int | None
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        a = "" if self.start is None else str(self.start)
        b = "" if self.stop is None else str(self.stop)
        return f"[{a}:{b}]"


@dataclass(frozen=True, slots=True)
class Wildcard:
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return "[*]"


@dataclass(frozen=True, slots=True)
class Scan:
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return ".."


@dataclass(frozen=True, slots=True)
class Filter:
    expr: FilterExpr
    col: int = field(default=0, compare=False)

    def fragment(self) -> str:
        return "[?]"  # Jayway prints every inline filter as [?]


Step = Name | Names | Index | Indexes | Slice | Wildcard | Scan | Filter


# ------------------------------------------------------------------ filter expressions


@dataclass(frozen=True, slots=True)
class RelPath:
    """An ``@...`` operand: steps evaluated against the current item. ``keys`` is set
    when every step is one name or one index, for a lookup without the walker."""

    steps: tuple[Step, ...]
    definite: bool
    upstream: tuple[bool, ...] = field(compare=False)
    keys: tuple[str | int, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Const:
    """A literal operand; ``kind`` is one of str, num (a Decimal), bool, null, json."""

    kind: str
    value: Any = field(hash=False)


@dataclass(frozen=True, slots=True)
class Exists:
    path: RelPath
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: RelPath | Const
    right: RelPath | Const


@dataclass(frozen=True, slots=True)
class Not:
    operand: FilterExpr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[FilterExpr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[FilterExpr, ...]


FilterExpr = Exists | Compare | Not | And | Or


@dataclass(frozen=True, slots=True)
class ParsedPath:
    root: Root
    variable: str | None
    steps: tuple[Step, ...]


# ------------------------------------------------------------------- step analysis


def step_is_definite(step: Step, is_last: bool) -> bool:
    """Jayway's isTokenDefinite: one property, one index, or a property union that is
    merged into one object because it is the last step."""
    if isinstance(step, Name | Index):
        return True
    return isinstance(step, Names) and is_last


def steps_definite(steps: tuple[Step, ...]) -> bool:
    last = len(steps) - 1
    return all(step_is_definite(s, i == last) for i, s in enumerate(steps))


def reference_keys(steps: tuple[Step, ...]) -> tuple[str | int, ...] | None:
    """The plain keys of a path made only of single names and indexes, else None."""
    keys: list[str | int] = []
    for step in steps:
        if isinstance(step, Name):
            keys.append(step.name)
        elif isinstance(step, Index):
            keys.append(step.index)
        else:
            return None
    return tuple(keys)


def upstream_flags(steps: tuple[Step, ...]) -> tuple[bool, ...]:
    """For each step, whether every step before it is definite (Jayway's
    isUpstreamDefinite): only then does missing data raise instead of being skipped."""
    flags: list[bool] = []
    definite = True
    last = len(steps) - 1
    for i, step in enumerate(steps):
        flags.append(definite)
        definite = definite and step_is_definite(step, i == last)
    return tuple(flags)
