"""JSONPath as AWS Step Functions evaluates it (Jayway JsonPath semantics).

Compile once with :func:`compile_path` (or :func:`compile_reference_path` for the fields
the spec limits to Reference Paths), then call :meth:`JsonPath.find` as often as needed.
A path made only of ``.name`` / ``['name']`` / ``[index]`` steps is resolved by a tight
loop over a precomputed tuple of keys; everything else goes through a general walker
that follows Jayway token by token. Values are returned as they are found, not copied:
callers must not mutate them (house rule: copy on write). :func:`set_path` implements
ResultPath and copies only the containers along the path.

Semantics, and where they come from
-----------------------------------
* **Definite vs indefinite** (Jayway ``isDefinite``): a path is definite when every step
  is one name, one index, or a name union that is the last step. A definite path returns
  its single value or raises :class:`PathNotFound` ("No results for path: $['a']");
  an indefinite one returns the list of matches in document order, possibly ``[]``.
  So InputPath ``$.a[0,1]`` yields an array (ASL-NOTES 5) and ``$.a[?(@.x)]`` with no
  match yields ``[]``.
* **Missing data is an error only on the definite prefix** (Jayway ``isUpstreamDefinite``):
  ``$.a[*]`` on ``{}`` raises ("Missing property in path $['a']"), because ``a`` is looked
  up before anything indefinite happened; ``$.a[*].b`` skips items without ``b``;
  ``$.a[*]`` on ``{"a": 5}`` is ``[]``; an index out of range is "no result", never an error.
  Applying a name to a non-object, or an index/slice to a non-array, on the definite
  prefix raises with Jayway's message.
* **Name union** ``$['a','b']`` as the last step is one merged object ``{"a":..,"b":..}``
  of the names present (Jayway), so it is definite; elsewhere it iterates.
* **Wildcard** ``*`` on an object yields its values, on an array its items, on a scalar
  nothing. **Filters** on an array test each item; on an object they test the object
  itself (Jayway); on a scalar they raise on the definite prefix.
* **Slices** follow Jayway exactly: ``[a:]`` and ``[:b]`` count negative bounds from the
  end, ``[a:b]`` does not normalise ``a`` (``[1:-1]`` is empty, ``[-3:-1]`` works), and a
  third ``:step`` part is parsed but ignored.
* **Deep scan** visits nodes in pre-order (each object before its children), as Jayway's
  ScanPathToken; ``..[0].x`` applies ``.x`` to every item of every array, a Jayway quirk
  kept on purpose.
* **Filter comparisons** follow Jayway's evaluators: numbers compare as decimals
  (``1 == 1.0``); a number equals a string that parses to it when the number is on the
  left, while a string on the left is compared with the number's decimal text; strings
  order by UTF-16 code units (Java ``compareTo``); ``<`` between a string and a number
  compares texts; booleans and null only equal themselves; a missing operand is
  "undefined": ``==`` is false and ``!=`` is true. ``@.x`` alone tests existence (a
  ``null`` value exists). AWS documents that ``@`` does not match scalar items, so
  ``[?(@ > 1)]`` on an array of numbers matches nothing here. Regular expressions,
  word operators (``in``, ``nin``, ``subsetof``, ...) and ``$`` inside filters are
  rejected at compile time because AWS documents them as unsupported.
* **Roots**: ``$`` the input, ``$$`` the Context object, ``$name`` a workflow variable.
  ``normalized`` always starts with ``$`` (Jayway's root), e.g. ``$$.Map.Item.Value`` ->
  ``$['Map']['Item']['Value']``.
* **Null input**: a path with steps on a ``null`` input fails with AWS's cause "Unable to
  apply Path transformation to null or empty input."; ``$`` alone returns ``None`` (AWS
  also fails e.g. ``"x.$": "$"`` on a null input: callers that need this check for it).

Deliberately stricter than Jayway (rejected with a caret, AWS accepts them): tokens glued
without ``.`` (``$['a']b``, ``$.*a``), mixed quotes in one bracket (Jayway silently drops
the rest), ``!@.a == 1`` (Jayway silently ignores the ``!``), JSON literals other than
strict JSON with 'single-quoted' strings allowed. Known approximations: Java class names
in "Expected to find an object..." messages assume Jackson; number-to-text conversion in
mixed string/number comparisons mimics Java's ``Double.toString``; ``exists`` on an
indefinite path is true when nothing raised, even if the match list is empty.

ResultPath (:func:`set_path`): ``$`` replaces the input; otherwise a new value is built
with the target set, creating missing intermediate objects; a step that cannot be applied
(a name on a non-object, an index on a non-array or out of range, a missing array) raises
``StatesError(RESULT_PATH_ERROR, cause)`` with the cause texts AWS prints:
``Unable to apply ReferencePath $.x to input "abc"`` when the input is a scalar and
``Unable to apply step "x" to input {...}`` otherwise. Note: the ASL spec names this
error ``States.ResultPathMatchFailure``; executions observed on AWS report
``States.ReferencePathConflict`` with those causes. :data:`RESULT_PATH_ERROR` is the one
place to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from statemachine.errors import ExpressionError, StatesError
from statemachine.expressions.context import JSON, EvalContext
from statemachine.expressions.intrinsic_values import java_double
from statemachine.expressions.jsonpath_filter import _UNDEF, _compare, _value_node
from statemachine.expressions.jsonpath_parse import (
    And,
    Compare,
    Const,
    Exists,
    Filter,
    FilterExpr,
    Index,
    Indexes,
    Name,
    Names,
    Or,
    RelPath,
    Root,
    Slice,
    Step,
    Wildcard,
    parse,
    reference_keys,
    steps_definite,
    upstream_flags,
)

__all__ = [
    "RESULT_PATH_ERROR",
    "JsonPath",
    "PathNotFound",
    "compile_path",
    "compile_reference_path",
    "set_path",
]

RESULT_PATH_ERROR = "States.ResultPathMatchFailure"
NULL_INPUT_CAUSE = "Unable to apply Path transformation to null or empty input."
_PROVIDER = "com.jayway.jsonpath.spi.json.JacksonJsonProvider"
_ROOT_KIND = {"input": 0, "context": 1, "variable": 2}
_MISSING: Any = object()


class PathNotFound(LookupError):
    """A path has no match (definite path) or hit the wrong kind of value on its
    definite prefix. ``detail`` is Jayway's message; ``message`` (and ``str()``) is the
    cause AWS prints, e.g. ``Invalid path '$.x' : No results for path: $['x']``."""

    path: JsonPath
    detail: str
    message: str

    def __init__(self, path: JsonPath, detail: str, message: str | None = None) -> None:
        self.path = path
        self.detail = detail
        self.message = message if message is not None else f"Invalid path '{path.text}' : {detail}"
        super().__init__(self.message)


class _Miss(Exception):
    """Internal: Jayway's PathNotFoundException while walking."""

    def __init__(self, detail: str) -> None:
        self.detail = detail


@dataclass(frozen=True, slots=True, eq=False)
class JsonPath:
    """A compiled JSONPath. Immutable; compare and hash by ``text``."""

    text: str
    root: Root
    variable: str | None
    is_definite: bool
    is_reference: bool
    normalized: str
    steps: tuple[Step, ...] = field(repr=False)
    _upstream: tuple[bool, ...] = field(repr=False)
    _keys: tuple[str | int, ...] | None = field(repr=False)
    _names_only: bool = field(repr=False)
    _root_kind: int = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonPath) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def find(self, data: JSON, ctx: EvalContext | None = None) -> JSON:
        """Resolve against ``data`` (``$``), ``ctx.context`` (``$$``) or a variable.

        Definite paths return the value or raise :class:`PathNotFound`; indefinite
        paths return the list of matches (possibly empty)."""
        node = data if self._root_kind == 0 else self._root_value(data, ctx)
        keys = self._keys
        if keys is None:
            return self._find_general(node)
        cur = node
        if self._names_only:
            for key in keys:
                if cur.__class__ is dict:
                    try:
                        cur = cur[key]
                        continue
                    except KeyError:
                        pass
                return self._find_general(node)
            return cur
        for key in keys:
            if key.__class__ is str:
                if cur.__class__ is dict:
                    try:
                        cur = cur[key]
                        continue
                    except KeyError:
                        pass
            elif cur.__class__ is list:
                try:
                    cur = cur[key]
                    continue
                except IndexError:
                    pass
            return self._find_general(node)
        return cur

    def exists(self, data: JSON, ctx: EvalContext | None = None) -> bool:
        """Choice ``IsPresent``: true when :meth:`find` would not raise."""
        try:
            if self._keys is not None:  # no exception on the common "absent" answer
                return _lookup(self._keys, self._root_value(data, ctx)) is not _MISSING
            self.find(data, ctx)
        except PathNotFound:
            return False
        return True

    def _root_value(self, data: JSON, ctx: EvalContext | None) -> JSON:
        if self._root_kind == 0:
            return data
        if self._root_kind == 1:
            return ctx.context if ctx is not None else None
        variables = ctx.variables if ctx is not None else {}
        try:
            return variables[self.variable or ""]
        except KeyError:
            detail = f"The variable '${self.variable}' is not defined"
            raise PathNotFound(self, detail) from None

    def _find_general(self, node: JSON) -> JSON:
        steps = self.steps
        if not steps:
            return node
        if node is None and self._root_kind == 0:
            raise PathNotFound(self, NULL_INPUT_CAUSE, NULL_INPUT_CAUSE)
        out: list[JSON] = []
        try:
            _walk(steps, self._upstream, 0, node, out)
        except _Miss as miss:
            raise PathNotFound(self, miss.detail) from None
        if not self.is_definite:
            return out
        if out:
            return out[0]
        raise PathNotFound(self, f"No results for path: {self.normalized}")


# ---------------------------------------------------------------------------- compile


@lru_cache(maxsize=4096)
def _compile(expr: str) -> JsonPath:
    parsed = parse(expr)
    steps = parsed.steps
    keys = reference_keys(steps)
    return JsonPath(
        text=expr,
        root=parsed.root,
        variable=parsed.variable,
        is_definite=steps_definite(steps),
        is_reference=keys is not None,
        normalized="$" + "".join(s.fragment() for s in steps),
        steps=steps,
        _upstream=upstream_flags(steps),
        _keys=keys,
        _names_only=keys is not None and all(k.__class__ is str for k in keys),
        _root_kind=_ROOT_KIND[parsed.root],
    )


def compile_path(expr: str) -> JsonPath:
    """Compile any JSONPath AWS accepts; raise :class:`ExpressionError` with the column."""
    if not isinstance(expr, str):
        raise ExpressionError(f"a JSONPath must be a string, not {type(expr).__name__}", repr(expr))
    return _compile(expr)


def compile_reference_path(expr: str) -> JsonPath:
    """Compile a Reference Path: ``$``/``$$``/``$var`` followed only by ``.name``,
    ``['name']`` and ``[index]`` steps (the spec forbids ``@ .. , : ? *`` there)."""
    path = compile_path(expr)
    if not path.is_reference:
        bad = next(s for s in path.steps if not isinstance(s, Name | Index))
        raise ExpressionError(
            "a reference path may only use .name, ['name'] and [index] steps, not "
            f"'{bad.fragment()}'",
            expr,
            bad.col,
        )
    return path


# ------------------------------------------------------------------------------- walk


def _eval_path(steps: tuple[Step, ...], upto: int) -> str:
    """The current path Jayway reports in its messages (only for definite prefixes)."""
    parts = ["$"]
    for s in steps[:upto]:
        parts.append(f"['{s.name}']" if isinstance(s, Name) else s.fragment())
    return "".join(parts)


def _tail(steps: tuple[Step, ...], i: int) -> str:
    return "".join(s.fragment() for s in steps[i:])


def _not_object(steps: tuple[Step, ...], i: int, node: JSON) -> _Miss:
    return _Miss(
        f"Expected to find an object with property {steps[i].fragment()} in path "
        f"{_eval_path(steps, i)} but found '{_java_class(node)}'. This is not a json object "
        f"according to the JsonProvider: '{_PROVIDER}'."
    )


def _not_array(steps: tuple[Step, ...], i: int, node: JSON) -> _Miss:
    if node is None:
        return _Miss(f"The path {_eval_path(steps, i)} is null")
    return _Miss(
        f"Filter: {_tail(steps, i)} can only be applied to arrays. "
        f"Current context is: {_java_str(node)}"
    )


def _walk(
    steps: tuple[Step, ...], up: tuple[bool, ...], i: int, node: JSON, out: list[JSON]
) -> None:
    """Apply ``steps[i:]`` to ``node``, appending every match to ``out``."""
    step = steps[i]
    leaf = i == len(steps) - 1
    if isinstance(step, Name):
        if not isinstance(node, dict):
            if up[i]:
                raise _not_object(steps, i, node)
            return
        name = step.name
        if name in node:
            _emit(steps, up, i, leaf, node[name], out)
        elif not leaf and up[i]:
            raise _Miss(f"Missing property in path {_eval_path(steps, i + 1)}")
    elif isinstance(step, Index | Indexes | Slice):
        if not isinstance(node, list):
            if up[i]:
                raise _not_array(steps, i, node)
            return
        size = len(node)
        for idx in _indexes(step, size):
            if idx < 0:
                idx += size
            if 0 <= idx < size:
                if leaf:
                    out.append(node[idx])
                else:
                    _walk(steps, up, i + 1, node[idx], out)
    elif isinstance(step, Wildcard):
        values = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        if leaf:
            out.extend(values)
        else:
            for value in values:
                _walk(steps, up, i + 1, value, out)
    elif isinstance(step, Names):
        if not isinstance(node, dict):
            if up[i]:
                raise _not_object(steps, i, node)
            return
        names = step.names
        if leaf:
            out.append({n: node[n] for n in names if n in node})
        else:
            for n in names:
                if n in node:
                    _walk(steps, up, i + 1, node[n], out)
    elif isinstance(step, Filter):
        expr = step.expr
        if isinstance(node, dict):
            if _accept(expr, node):
                _emit(steps, up, i, leaf, node, out)
        elif isinstance(node, list):
            for item in node:
                if _accept(expr, item):
                    _emit(steps, up, i, leaf, item, out)
        elif up[i]:
            raise _Miss(
                f"Filter: {_tail(steps, i)} can not be applied to primitives. "
                f"Current context is: {_java_str(node)}"
            )
    else:  # Scan; the parser guarantees a step follows it
        _scan(steps, up, i + 1, node, out, _scan_predicate(steps[i + 1], i + 2 == len(steps)))


def _emit(
    steps: tuple[Step, ...], up: tuple[bool, ...], i: int, leaf: bool, value: JSON, out: list[JSON]
) -> None:
    if leaf:
        out.append(value)
    else:
        _walk(steps, up, i + 1, value, out)


def _indexes(step: Index | Indexes | Slice, size: int) -> tuple[int, ...] | range:
    """Indexes a token visits, before negative ones are taken from the end (Jayway)."""
    if isinstance(step, Index):
        return (step.index,)
    if isinstance(step, Indexes):
        return step.indexes
    start, stop = step.start, step.stop
    if size == 0:
        return ()
    if start is None:  # [:b]; the parser never leaves both bounds out
        b = stop or 0
        return range(0, min(size, b + size if b < 0 else b))
    if stop is None:  # [a:]
        return range(max(0, start + size if start < 0 else start), size)
    return range(start, min(size, stop))  # [a:b]: bounds taken as written


def _scan(
    steps: tuple[Step, ...], up: tuple[bool, ...], j: int, node: JSON, out: list[JSON], pred: Any
) -> None:
    """Jayway's ScanPathToken.walk: pre-order over objects and arrays."""
    if isinstance(node, dict):
        if pred(node):
            _walk(steps, up, j, node, out)
        for value in node.values():
            _scan(steps, up, j, value, out, pred)
    elif isinstance(node, list):
        if pred(node):
            if j == len(steps) - 1:
                _walk(steps, up, j, node, out)
            else:  # Jayway applies the step *after* the scanned one to each item
                for item in node:
                    _walk(steps, up, j + 1, item, out)
        for item in node:
            _scan(steps, up, j, item, out, pred)


def _scan_predicate(target: Step, is_last: bool) -> Any:
    if isinstance(target, Name):
        name = target.name
        return lambda node: isinstance(node, dict) and name in node
    if isinstance(target, Names):
        names = target.names
        if is_last:
            return lambda node: isinstance(node, dict) and all(n in node for n in names)
        return lambda node: isinstance(node, dict)
    if isinstance(target, Index | Indexes | Slice):
        return lambda node: isinstance(node, list)
    if isinstance(target, Filter):
        expr = target.expr
        return lambda node: _accept(expr, node)
    return lambda node: True  # Wildcard


# ---------------------------------------------------------------------------- filters
# Operands become (kind, value) pairs mirroring Jayway's ValueNode classes:
# "undef", "null", "bool", "num" (Decimal), "str", "json" (list or dict); comparing them
# is in jsonpath_filter.


def _accept(expr: FilterExpr, item: JSON) -> bool:
    if isinstance(expr, Compare):
        return _compare(expr.op, _operand(expr.left, item), _operand(expr.right, item))
    if isinstance(expr, Exists):
        return _exists(expr.path, item) != expr.negate
    if isinstance(expr, And):
        return all(_accept(operand, item) for operand in expr.operands)
    if isinstance(expr, Or):
        return any(_accept(operand, item) for operand in expr.operands)
    return not _accept(expr.operand, item)  # Not


def _lookup(keys: tuple[str | int, ...], node: JSON) -> JSON:
    """Follow plain keys; ``_MISSING`` when a step does not apply (Jayway: undefined)."""
    for key in keys:
        if isinstance(key, str):
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        else:
            if not isinstance(node, list):
                return _MISSING
            idx = key + len(node) if key < 0 else key
            if not 0 <= idx < len(node):
                return _MISSING
            node = node[idx]
    return node


def _relative(path: RelPath, item: JSON) -> tuple[bool, list[JSON]]:
    """Evaluate ``@...`` on ``item``: (evaluated without error, matches)."""
    if path.keys is not None:
        value = _lookup(path.keys, item)
        return (False, []) if value is _MISSING else (True, [value])
    out: list[JSON] = []
    try:
        _walk(path.steps, path.upstream, 0, item, out)
    except _Miss:
        return False, out
    return True, out


def _exists(path: RelPath, item: JSON) -> bool:
    if not isinstance(item, dict):  # AWS: '@' does not match scalar values, only objects
        return False
    if not path.steps:
        return True
    ok, out = _relative(path, item)
    return ok and (bool(out) or not path.definite)


def _operand(operand: RelPath | Const, item: JSON) -> tuple[str, Any]:
    if isinstance(operand, Const):
        return operand.kind, operand.value
    if not isinstance(item, dict):
        return _UNDEF
    path = operand
    if not path.steps:
        return "json", item
    ok, out = _relative(path, item)
    if not ok:
        return _UNDEF
    if not path.definite:
        return "json", out
    return _value_node(out[0]) if out else _UNDEF


# ------------------------------------------------------------------- Java-isms for text
def _java_class(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


def _java_str(value: JSON) -> str:
    """Java ``toString`` of a Jackson-provided model (only used in messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in value.items()) + "}"
    return str(value)


# ------------------------------------------------------------------------ ResultPath


def _dumps(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def set_path(data: JSON, path: JsonPath, value: JSON) -> JSON:
    """Return ``data`` with ``value`` placed at ``path`` (ResultPath semantics).

    ``data`` is never mutated: only the containers on the path are copied (shallow), the
    rest is shared. ``$`` returns ``value`` itself. Missing intermediate names become new
    objects; an array is never created and an index must already exist (negative counts
    from the end). Anything else raises ``StatesError(RESULT_PATH_ERROR, cause)``."""
    if path.root != "input" or path._keys is None:
        raise ValueError(f"ResultPath must be a reference path on the state input: {path.text!r}")
    keys = path._keys
    if not keys:
        return value
    if not isinstance(data, dict | list):
        cause = f"Unable to apply ReferencePath {path.text} to input {_dumps(data)}"
        raise StatesError(RESULT_PATH_ERROR, cause)
    return _put(data, keys, 0, value, data)


def _put(node: JSON, keys: tuple[str | int, ...], i: int, value: JSON, whole: JSON) -> JSON:
    key = keys[i]
    last = i == len(keys) - 1
    if isinstance(key, str):
        if not isinstance(node, dict):
            raise StatesError(
                RESULT_PATH_ERROR, f'Unable to apply step "{key}" to input {_dumps(whole)}'
            )
        copy = dict(node)
        if last:
            copy[key] = value
        else:
            child = node.get(key, _MISSING)
            copy[key] = _put({} if child is _MISSING else child, keys, i + 1, value, whole)
        return copy
    size = len(node) if isinstance(node, list) else 0
    idx = key + size if key < 0 else key
    if not isinstance(node, list) or not 0 <= idx < size:
        raise StatesError(
            RESULT_PATH_ERROR, f'Unable to apply step "{key}" to input {_dumps(whole)}'
        )
    copy_list = list(node)
    copy_list[idx] = value if last else _put(node[idx], keys, i + 1, value, whole)
    return copy_list
