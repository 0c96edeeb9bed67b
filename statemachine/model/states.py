"""The frozen, parsed form of a state machine definition.

Every node keeps ``path`` (its JSON path tuple inside the definition) so errors and graphs
can point back at the source. Expressions are compiled objects, never raw strings: the
interpreter only ever evaluates them. Build instances with :func:`statemachine.model.build`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = Any
QueryLanguage = Literal["JSONPath", "JSONata"]
PathTuple = tuple[str | int, ...]


class _Absent:
    """Marks a field that was not written, as opposed to one written as ``null``."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class Dyn:
    """A field that is a literal, a JSONPath (``...Path`` forms) or a JSONata expression.

    Exactly one of ``value`` / ``path`` / ``jsonata`` is meaningful; ``kind`` says which.
    """

    kind: Literal["value", "path", "intrinsic", "jsonata"]
    value: JSON = None
    path: Any = None  # JsonPath, or Intrinsic when kind == "intrinsic"
    jsonata: Any = None  # JsonataExpression
    source: str = ""  # the field name it came from, for error messages


@dataclass(frozen=True, slots=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: Literal["FULL", "NONE"] = "NONE"
    path: PathTuple = ()


@dataclass(frozen=True, slots=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Any = ABSENT  # JsonPath | None (null) | ABSENT (defaults to "$")
    output: Any = None  # JsonataTemplate | None
    assign: Any = None  # Template (JSONPath) | JsonataTemplate | None
    path: PathTuple = ()


@dataclass(frozen=True, slots=True)
class Scope:
    """A list of states with a StartAt: the machine itself, a Parallel branch or a Map
    processor. ``key`` identifies the scope inside the definition (``""`` for the machine,
    else the JSON path of the container such as ``States.M.ItemProcessor``)."""

    key: str
    start_at: str
    states: Mapping[str, State]
    path: PathTuple = ()
    mode: str = "INLINE"  # Map processors: INLINE | DISTRIBUTED


@dataclass(frozen=True, slots=True)
class State:
    name: str
    type: str
    path: PathTuple
    query_language: QueryLanguage
    comment: str | None = None
    next: str | None = None
    end: bool = False
    # JSONPath data flow. ABSENT = default ("$"), None = written as null.
    input_path: Any = ABSENT
    output_path: Any = ABSENT
    # JSONata output. None = default for the state type.
    output: Any = None
    assign: Any = None  # Template (JSONPath) | JsonataTemplate | None

    @property
    def is_jsonata(self) -> bool:
        return self.query_language == "JSONata"


@dataclass(frozen=True, slots=True)
class PassState(State):
    result: JSON = ABSENT
    parameters: Any = None  # Template
    result_path: Any = ABSENT


@dataclass(frozen=True, slots=True)
class TaskState(State):
    resource: str = ""
    parameters: Any = None  # Template (JSONPath) | JsonataTemplate (Arguments)
    result_selector: Any = None
    result_path: Any = ABSENT
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    timeout_seconds: Dyn | None = None
    heartbeat_seconds: Dyn | None = None
    credentials: JSON = None

    @property
    def wait_for_task_token(self) -> bool:
        return self.resource.endswith(".waitForTaskToken")


@dataclass(frozen=True, slots=True)
class ChoiceBranch:
    next: str
    rule: Any = None  # ChoiceRule (JSONPath)
    condition: Any = None  # JsonataExpression
    output: Any = None  # JsonataTemplate
    assign: Any = None
    path: PathTuple = ()


@dataclass(frozen=True, slots=True)
class ChoiceState(State):
    choices: tuple[ChoiceBranch, ...] = ()
    default: str | None = None


@dataclass(frozen=True, slots=True)
class WaitState(State):
    seconds: Dyn | None = None
    timestamp: Dyn | None = None


@dataclass(frozen=True, slots=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, slots=True)
class FailState(State):
    error: Dyn | None = None
    cause: Dyn | None = None


@dataclass(frozen=True, slots=True)
class ParallelState(State):
    branches: tuple[Scope, ...] = ()
    parameters: Any = None  # Template | JsonataTemplate (Arguments)
    result_selector: Any = None
    result_path: Any = ABSENT
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass(frozen=True, slots=True)
class MapState(State):
    processor: Scope | None = None
    items_path: Any = ABSENT  # JsonPath | ABSENT
    items: Any = None  # JsonataTemplate (JSONata Items)
    item_selector: Any = None  # Template | JsonataTemplate
    item_reader: JSON = None
    item_batcher: JSON = None
    result_writer: JSON = None
    max_concurrency: Dyn | None = None
    tolerated_failure_percentage: Dyn | None = None
    tolerated_failure_count: Dyn | None = None
    result_selector: Any = None
    result_path: Any = ABSENT
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    label: str | None = None

    @property
    def distributed(self) -> bool:
        return self.processor is not None and self.processor.mode == "DISTRIBUTED"


@dataclass(frozen=True, slots=True)
class StateMachine:
    """A whole parsed definition. ``scopes`` indexes every Scope by key for the engine."""

    root: Scope
    query_language: QueryLanguage = "JSONPath"
    comment: str | None = None
    version: str | None = None
    timeout_seconds: int | None = None
    raw: JSON = None
    scopes: Mapping[str, Scope] = field(default_factory=dict)

    @property
    def start_at(self) -> str:
        return self.root.start_at

    @property
    def states(self) -> Mapping[str, State]:
        return self.root.states

    def scope(self, key: str) -> Scope:
        return self.scopes[key]

    def iter_states(self) -> list[tuple[Scope, State]]:
        out: list[tuple[Scope, State]] = []
        for scope in self.scopes.values():
            out.extend((scope, state) for state in scope.states.values())
        return out
