"""The pre-walked view of a definition that every semantic rule reads.

The JSON Schema pass runs first and reports shape and type problems, but the rules still
see every definition, well-formed or not. So the walk here is defensive: anything whose
shape is wrong (a ``States`` that is not an object, a state body that is a list, a
``Branches`` entry that is a string) is recorded as far as it makes sense and otherwise
skipped. Rules then only look at the pieces they understand and never raise.

Scopes follow the ASL: the top-level machine, each ``Parallel`` branch and each ``Map``
``ItemProcessor`` (or its deprecated synonym ``Iterator``) has its own ``StartAt`` and
``States`` and transitions may not cross their borders.

Query language (AWS, see ASL-NOTES 33): the machine's ``QueryLanguage`` (default
``JSONPath``) applies to every state, a state's own ``QueryLanguage`` overrides it for that
state only, and states inside a ``Map``/``Parallel`` inherit the *machine's* language, not
the language of the enclosing state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from statemachine.validation.problem import PathPart, Problem, Severity, format_path

__all__ = [
    "JSON",
    "Path",
    "RuleContext",
    "ScopeInfo",
    "StateInfo",
    "issue",
]

JSON = Any
Path = tuple[PathPart, ...]
Language = Literal["JSONPath", "JSONata"]
ScopeKind = Literal["machine", "branch", "processor", "iterator"]

LANGUAGES: tuple[Language, ...] = ("JSONPath", "JSONata")


def issue(message: str, path: Path, *, severity: Severity = "error", **extra: Any) -> Problem:
    """A problem whose rule id is filled in by :func:`iter_rule_problems` from the table."""
    return Problem(rule="", message=message, path=path, severity=severity, extra=extra)


@dataclass(eq=False, slots=True)
class ScopeInfo:
    """One ``StartAt``/``States`` pair: the machine, a branch, or a Map processor."""

    kind: ScopeKind
    path: Path  # path of the object that holds StartAt and States
    raw: JSON
    parent: ScopeInfo | None
    owner: StateInfo | None  # the Parallel/Map state that owns this scope
    index: int | None = None  # branch number for Parallel branches
    states: dict[str, StateInfo] = field(default_factory=dict)

    @property
    def start_at(self) -> str | None:
        value = self.raw.get("StartAt") if isinstance(self.raw, Mapping) else None
        return value if isinstance(value, str) else None

    @property
    def has_states_object(self) -> bool:
        return isinstance(self.raw, Mapping) and isinstance(self.raw.get("States"), Mapping)

    def ancestors(self) -> Iterator[ScopeInfo]:
        scope = self.parent
        while scope is not None:
            yield scope
            scope = scope.parent

    def describe(self) -> str:
        """A human name for the scope, used in messages about crossing scope borders."""
        if self.kind == "machine" or self.owner is None:
            return "the top-level state machine"
        if self.kind == "branch":
            return f"branch {self.index} of Parallel state {self.owner.name!r}"
        field_name = "ItemProcessor" if self.kind == "processor" else "Iterator"
        return f"the {field_name} of Map state {self.owner.name!r}"


@dataclass(eq=False, slots=True)
class StateInfo:
    """One state with everything a rule needs to know about where it sits."""

    name: str
    path: Path
    raw: JSON
    scope: ScopeInfo
    language: Language

    @property
    def body(self) -> Mapping[str, Any]:
        """The state object, or an empty mapping when the body has the wrong shape."""
        return self.raw if isinstance(self.raw, Mapping) else {}

    @property
    def type(self) -> str | None:
        value = self.body.get("Type")
        return value if isinstance(value, str) else None

    @property
    def is_jsonata(self) -> bool:
        return self.language == "JSONata"

    def at(self, *parts: PathPart) -> Path:
        return (*self.path, *parts)


@dataclass(eq=False, slots=True)
class RuleContext:
    """Everything the rules share, computed once per definition."""

    definition: JSON
    machine_language: Language
    scopes: list[ScopeInfo]
    states: list[StateInfo]

    @classmethod
    def build(cls, definition: JSON) -> RuleContext:
        language: Language = "JSONPath"
        if isinstance(definition, Mapping) and definition.get("QueryLanguage") == "JSONata":
            language = "JSONata"
        ctx = cls(definition=definition, machine_language=language, scopes=[], states=[])
        if isinstance(definition, Mapping):
            ctx._walk(definition, (), "machine", None, None, None)
        return ctx

    @property
    def root(self) -> ScopeInfo | None:
        return self.scopes[0] if self.scopes else None

    @property
    def raw(self) -> Mapping[str, Any]:
        return self.definition if isinstance(self.definition, Mapping) else {}

    def states_named(self, name: str) -> list[StateInfo]:
        return [state for state in self.states if state.name == name]

    def _walk(
        self,
        raw: JSON,
        path: Path,
        kind: ScopeKind,
        parent: ScopeInfo | None,
        owner: StateInfo | None,
        index: int | None,
    ) -> None:
        scope = ScopeInfo(kind=kind, path=path, raw=raw, parent=parent, owner=owner, index=index)
        self.scopes.append(scope)
        states = raw.get("States") if isinstance(raw, Mapping) else None
        if not isinstance(states, Mapping):
            return
        for name, body in states.items():
            if not isinstance(name, str):
                continue
            own = body.get("QueryLanguage") if isinstance(body, Mapping) else None
            language: Language = own if own in LANGUAGES else self.machine_language
            state = StateInfo(
                name=name,
                path=(*path, "States", name),
                raw=body,
                scope=scope,
                language=language,
            )
            scope.states[name] = state
            self.states.append(state)
            self._walk_children(state)

    def _walk_children(self, state: StateInfo) -> None:
        body = state.body
        if state.type == "Parallel" and isinstance(body.get("Branches"), list):
            for i, branch in enumerate(body["Branches"]):
                if isinstance(branch, Mapping):
                    self._walk(branch, state.at("Branches", i), "branch", state.scope, state, i)
        if state.type == "Map":
            for field_name, kind in (("ItemProcessor", "processor"), ("Iterator", "iterator")):
                processor = body.get(field_name)
                if isinstance(processor, Mapping):
                    self._walk(processor, state.at(field_name), kind, state.scope, state, None)


def where(path: Path) -> str:
    """``$.States.A.Next`` for messages."""
    return format_path(path)
