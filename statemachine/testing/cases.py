"""Test files (``NAME.test.yaml`` next to ``NAME.asl.yaml``): reading, checking, discovery.

A test file is data, checked against ``schemas/test-case.schema.json`` (shared with
editors) and then turned into frozen :class:`CaseFile` / :class:`Case` / :class:`Mock`
values. Every problem points at the file and line it comes from, like ``validate`` does
for definitions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from statemachine.errors import LoadError, StateMachineError
from statemachine.validation.problem import Problem

JSON = Any

TEST_SUFFIXES = (".test.yaml", ".test.yml", ".test.json")
DEFINITION_SUFFIXES = (".asl.yaml", ".asl.yml", ".asl.json")
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})
_SCHEMA_FILE = "test-case.schema.json"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


class CaseFileError(StateMachineError):
    """A test file cannot be used: unreadable, not matching the schema, or naming a
    definition that does not exist. ``problems`` lists every reason."""

    http_status = 400
    type_slug = "invalid-test-file"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


@dataclass(frozen=True, slots=True)
class Response:
    """One mocked answer. ``kind`` is "result", "error", "llm" or "no_answer"."""

    kind: str
    result: JSON = None
    error: str | None = None
    cause: str | None = None
    llm: Mapping[str, JSON] | None = None
    after: float = 0.0
    heartbeats: bool = True


@dataclass(frozen=True, slots=True)
class Mock:
    """Responses for one state: ``sequence`` by invocation count (the last one repeats), or
    per Map iteration: ``iterations`` is a list of ``(first, last, mock)`` index ranges,
    tried in order, and ``default`` the ``"*"`` entry."""

    sequence: tuple[Response, ...] = ()
    iterations: tuple[tuple[int, int, Mock], ...] = ()
    default: Mock | None = None

    def pick(self, call: int, map_index: int | None) -> Response | None:
        """The response to the ``call``-th call (1-based) in iteration ``map_index``;
        None when this mock does not cover that iteration."""
        if self.sequence:
            return self.sequence[min(call, len(self.sequence)) - 1]
        if map_index is not None:
            for first, last, mock in self.iterations:
                if first <= map_index <= last:
                    return mock.pick(call, None)
        if self.default is not None:
            return self.default.pick(call, None)
        return None

    def responses(self) -> Iterator[Response]:
        yield from self.sequence
        for _first, _last, mock in self.iterations:
            yield from mock.responses()
        if self.default is not None:
            yield from self.default.responses()


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    expect: Mapping[str, JSON]
    input: JSON = field(default_factory=dict)
    mocks: Mapping[str, Mock] = field(default_factory=dict)
    description: str | None = None
    skip: str | None = None
    start_time: datetime = DEFAULT_START
    line: int | None = None

    # Not a pytest test class, whatever module imports it.
    __test__ = False


@dataclass(frozen=True, slots=True)
class CaseFile:
    path: Path
    definition: Path
    cases: tuple[Case, ...]
    handlers: tuple[str, ...] = ()
    strict_mocks: bool = False

    def case_named(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)


# -- discovery -------------------------------------------------------------------------------


def is_test_file(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path).endswith(TEST_SUFFIXES)


def discover(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Test files under ``paths`` (files, or folders searched recursively, skipping hidden
    folders and virtual environments), and the arguments that named nothing."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for arg in paths:
        path = Path(arg)
        if path.is_file():
            found.setdefault(str(path), path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith(".")
                    and d not in _SKIP_DIRS
                    and not (Path(root) / d / "pyvenv.cfg").exists()
                )
                for name in sorted(files):
                    if is_test_file(name):
                        file = Path(root) / name
                        found.setdefault(str(file), file)
        else:
            missing.append(os.fspath(arg))
    return list(found.values()), missing


def default_definition(test_file: Path) -> Path | None:
    """``x.test.yaml`` -> the first of ``x.asl.yaml``, ``x.asl.yml``, ``x.asl.json``."""
    name = test_file.name
    for suffix in TEST_SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            for candidate in DEFINITION_SUFFIXES:
                path = test_file.with_name(stem + candidate)
                if path.is_file():
                    return path
    return None


# -- loading ---------------------------------------------------------------------------------


def load_case_file(path: str | os.PathLike[str]) -> CaseFile:
    """Read and check a test file. Raises :class:`CaseFileError` with every problem."""
    from statemachine.loader import load_file

    file = Path(path)
    where = os.fspath(path)
    try:
        doc = load_file(file)
    except LoadError as exc:
        raise CaseFileError(
            [Problem(exc.rule, exc.message, (), exc.file or where, exc.line, exc.column)]
        ) from exc

    def problem(rule: str, message: str, at: tuple[str | int, ...]) -> Problem:
        line, column = doc.locate(at) or (None, None)
        return Problem(rule, message, at, where, line, column)

    value = doc.value
    problems = [problem("test-schema", *_explain(err)) for err in _validator().iter_errors(value)]
    if problems:
        raise CaseFileError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))

    if "definition" in value:
        definition: Path | None = file.parent / value["definition"]
        if not definition.is_file():
            problems.append(
                problem("test-definition", f"no such definition: {definition}", ("definition",))
            )
    else:
        definition = default_definition(file)
        if definition is None:
            stem = file.name.split(".test.")[0]
            problems.append(
                problem(
                    "test-definition",
                    f"no definition next to the test file ({stem}.asl.yaml, .asl.yml or "
                    ".asl.json); name it with 'definition:'",
                    (),
                )
            )

    shared = _mocks(value.get("mocks") or {})
    file_start = _timestamp(value.get("start_time")) or DEFAULT_START
    cases: list[Case] = []
    seen: set[str] = set()
    for i, raw in enumerate(value["cases"]):
        name = raw["name"]
        if name in seen:
            problems.append(
                problem("test-duplicate", f"two cases are named {name!r}", ("cases", i, "name"))
            )
        seen.add(name)
        mocks = dict(shared)
        mocks.update(_mocks(raw.get("mocks") or {}))
        cases.append(
            Case(
                name=name,
                expect=raw["expect"],
                input=raw.get("input", {}),
                mocks=mocks,
                description=raw.get("description"),
                skip=raw.get("skip"),
                start_time=_timestamp(raw.get("start_time")) or file_start,
                line=(doc.locate(("cases", i)) or (None, None))[0],
            )
        )
    if problems:
        raise CaseFileError(problems)
    assert definition is not None
    return CaseFile(
        path=file,
        definition=definition,
        cases=tuple(cases),
        handlers=tuple(_handler_spec(file, h) for h in value.get("handlers") or ()),
        strict_mocks=bool(value.get("strict_mocks", False)),
    )


def _handler_spec(test_file: Path, spec: str) -> str:
    """Files are relative to the test file; anything else is a module name."""
    if spec.endswith(".py"):
        return str(test_file.parent / spec)
    return spec


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return None
    from statemachine.expressions.timestamps import parse_timestamp

    return parse_timestamp(text)


def _mocks(raw: Mapping[str, JSON]) -> dict[str, Mock]:
    return {key: _mock(value) for key, value in raw.items()}


def _mock(raw: Mapping[str, JSON]) -> Mock:
    if "sequence" in raw:
        return Mock(sequence=tuple(_response(r) for r in raw["sequence"]))
    if "iterations" in raw:
        ranges: list[tuple[int, int, Mock]] = []
        default = None
        for key, value in raw["iterations"].items():
            mock = _mock(value)
            if key == "*":
                default = mock
                continue
            first, _, last = key.partition("-")
            ranges.append((int(first), int(last or first), mock))
        return Mock(iterations=tuple(ranges), default=default)
    return Mock(sequence=(_response(raw),))


def _response(raw: Mapping[str, JSON]) -> Response:
    timing = {"after": float(raw.get("after", 0)), "heartbeats": raw.get("heartbeats", True)}
    if "error" in raw:
        return Response("error", error=raw["error"], cause=raw.get("cause"), **timing)
    if "llm" in raw:
        return Response("llm", llm=raw["llm"], **timing)
    if raw.get("no_answer"):
        return Response("no_answer", **timing)
    return Response("result", result=raw.get("result"), **timing)


# -- schema ----------------------------------------------------------------------------------


def schema_path() -> Path:
    """The packaged copy (wheel: ``statemachine/_schemas``) wins over the source tree."""
    for candidate in (
        _PACKAGE_DIR / "_schemas" / _SCHEMA_FILE,
        _PACKAGE_DIR.parent / "schemas" / _SCHEMA_FILE,
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"test-case schema {_SCHEMA_FILE} not found")


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


_ANSWERS = ("result", "error", "llm", "no_answer")
_RESPONSE_KEYS = frozenset({*_ANSWERS, "cause", "after", "heartbeats"})


def _explain(error: Any) -> tuple[str, tuple[str | int, ...]]:
    """A message about what the author meant, and where. A mock is one of three shapes
    (a response, ``sequence``, ``iterations``): the keys it has say which one, so this
    reports that shape's errors rather than "not valid under any of the given schemas"."""
    from jsonschema.exceptions import best_match

    where = tuple(error.absolute_path)
    if "propertyNames" in error.schema_path:
        return (
            f'{error.instance!r} is not an iteration key: use an index ("3"), an inclusive '
            'range ("2-5") or "*" for every other iteration',
            where,
        )
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return error.message, where
    keys = set(error.instance)
    branches = list(error.validator_value)
    refs = [b.get("$ref", "") for b in branches]
    if "#/$defs/response" not in refs and "#/$defs/sequence" not in refs:
        # The response's own rule: exactly one of result/error/llm/no_answer.
        found = [k for k in _ANSWERS if k in keys]
        unknown = sorted(keys - _RESPONSE_KEYS)
        if len(found) != 1:
            got = ", ".join(found) or "none"
            message = f"a mock response needs exactly one of {', '.join(_ANSWERS)} (found: {got})"
            if unknown:
                message += f"; unknown key{'s' * (len(unknown) > 1)}: {', '.join(unknown)}"
        elif "cause" in keys and found != ["error"]:
            message = "'cause' goes with 'error' only"
        elif "no_answer" in keys and "after" in keys:
            message = "'no_answer' cannot have 'after' (nobody ever answers)"
        else:
            message = error.message
        return message, where
    if "sequence" in keys and "#/$defs/sequence" in refs:
        chosen = refs.index("#/$defs/sequence")
    elif "iterations" in keys and any("iterations" in b.get("required", ()) for b in branches):
        chosen = next(i for i, b in enumerate(branches) if "iterations" in b.get("required", ()))
    else:
        chosen = refs.index("#/$defs/response")
    inner = [e for e in error.context if e.relative_schema_path[0] == chosen]
    if not inner:
        return error.message, where
    return _explain(best_match(inner))
