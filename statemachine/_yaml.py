"""YAML text to plain JSON values plus a source map, in one pass over PyYAML's event stream.

Why events rather than ``yaml.compose`` and a walk over the nodes: libyaml's composer
recurses in C and kills the process (SIGSEGV) on input nested about 100,000 levels deep,
so the tree must never be composed before its depth is known. The event stream is flat:
one loop with an explicit stack builds the values, records every position and enforces the
depth and alias limits as it goes, and a bad file fails at the first offending event.

Scalars follow the YAML 1.2 core schema, which agrees with JSON, not the YAML 1.1 rules of
PyYAML's own resolver. Where the two versions read the same plain text as different values,
we refuse to guess (another tool, or a human, may read the file the 1.1 way):

- ``yes``/``no``/``on``/``off``/``y``/``n`` in any case: 1.1 booleans, 1.2 strings -> error
  ``yaml-ambiguous-boolean``; ``true``/``false`` (also ``True``, ``TRUE``) are booleans.
  As a mapping *key* such a word is the string (``on: x``, a state named ``N``): a key can
  only be a string, so there is nothing to guess.
- ``0755``: 1.1 octal 493, 1.2 decimal 755 -> error ``yaml-ambiguous-number``.
- ``.inf``/``.nan`` and numbers beyond binary64 (``1e400``) have no JSON form -> error.
- Everything else 1.1 reads as a number or a date but 1.2 does not (``1_000``, ``1:20``,
  ``0b101``, ``2026-01-01T00:00:00Z``) stays the string exactly as written; ``0x1F`` and
  ``0o17`` are integers as in 1.2; ``1e3`` is the float 1000.0 as in JSON.
- Explicit tags: ``!!str`` forces a string; ``!!int``/``!!float``/``!!bool``/``!!null``
  are accepted when the text is such a value; any other tag (``!!binary``, ``!!timestamp``,
  ``!!set``, ``!!omap``, ``!Ref``, ...) is an error: a definition holds JSON values only.
- Keys must be strings: ``1: x``, ``null: x``, ``true: x`` or a list as a key are errors
  (ASL field names are strings; write ``"1": x``). The YAML 1.1 merge key ``<<`` is an
  error too: under 1.2 it would silently become a field named ``<<``.
- Aliases are expanded into independent copies (no shared mutable values). Their total
  size is capped at ``MAX_ALIAS_NODES`` nodes, checked before each copy, so a "billion
  laughs" file fails after copying at most that many nodes instead of eating the memory.
  Positions inside a copy point at the anchored text, where the values are written.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from statemachine.errors import LoadError

JSON = Any
JsonPath = tuple[str | int, ...]
Location = tuple[int, int]

#: libyaml when PyYAML was built with it (about 10x faster), else the pure-Python parser.
Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Most nodes that aliases may add to a document, counted before anything is copied.
MAX_ALIAS_NODES = 100_000

#: Returned when the stream holds no document at all (only comments or whitespace).
NO_DOCUMENT: Any = object()

_TAG = "tag:yaml.org,2002:"
_STR_TAGS = frozenset({None, "!", _TAG + "str"})
_MAP_TAGS = frozenset({None, "!", _TAG + "map"})
_SEQ_TAGS = frozenset({None, "!", _TAG + "seq"})
_TYPED_TAGS: dict[str, tuple[type, ...]] = {
    _TAG + "int": (int,),
    _TAG + "float": (int, float),
    _TAG + "bool": (bool,),
    _TAG + "null": (type(None),),
}

# Plain scalars whose first character is none of these are strings: the fast path.
_SPECIAL_START = frozenset("0123456789+-.~nNtTfFyYoO")
_NUMBER_START = frozenset("0123456789+-.")
_WORDS: dict[str, JSON] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
# YAML 1.1 also reads a lone y/n as a boolean, but PyYAML (and most users) read them as
# strings, and "N" is a plausible state name: only the spelled-out words are reported.
_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off"})
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCTAL = re.compile(r"0o[0-7]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")


class _Reject(Exception):
    """A scalar or node that has no JSON meaning; the caller adds the position."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def resolve_plain(text: str) -> JSON:
    """The JSON value of an unquoted, untagged scalar (YAML 1.2 core schema, see above)."""
    if text and text[0] not in _SPECIAL_START:
        return text
    if text in _WORDS:
        return _WORDS[text]
    if text.lower() in _YAML11_BOOLEANS:
        raise _Reject(
            "yaml-ambiguous-boolean",
            f"`{text}` is a boolean in YAML 1.1 but a string in YAML 1.2; "
            f"write true or false, or quote it ('{text}') if you mean the string",
        )
    if text[0] not in _NUMBER_START:
        return text
    try:
        if _INT.fullmatch(text):
            return int(text)
        if _LEADING_ZERO.fullmatch(text):
            raise _Reject(
                "yaml-ambiguous-number",
                f"`{text}` has a leading zero: YAML 1.1 reads it as octal, YAML 1.2 as "
                f"decimal; write it without the leading zero, or quote it if you mean a string",
            )
        if _FLOAT.fullmatch(text):
            number = float(text)
            if math.isinf(number):
                raise _Reject("number-out-of-range", f"`{text}` is too large for a JSON number")
            return number
        if _HEX.fullmatch(text):
            return int(text, 16)
        if _OCTAL.fullmatch(text):
            return int(text[2:], 8)
    except ValueError:  # more digits than int() accepts (sys.get_int_max_str_digits)
        raise _Reject("number-out-of-range", f"`{text[:20]}...` has too many digits") from None
    if _NOT_FINITE.fullmatch(text):
        raise _Reject("not-json", f"`{text}` is not a JSON number (JSON has no inf or nan)")
    return text


def _scalar(event: ScalarEvent) -> JSON:
    tag = event.tag
    if tag is None and event.implicit[0]:
        return resolve_plain(event.value)
    if tag in _STR_TAGS:
        return event.value
    if tag in _TYPED_TAGS:
        value = resolve_plain(event.value)
        if type(value) not in _TYPED_TAGS[tag]:
            raise _Reject("yaml-unsupported-tag", f"`{event.value}` is not a valid {_short(tag)}")
        return float(value) if tag == _TAG + "float" else value
    raise _unsupported_tag(tag)


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _unsupported_tag(tag: str) -> _Reject:
    return _Reject(
        "yaml-unsupported-tag",
        f"the tag {_short(tag)} is not supported: a definition holds JSON values only "
        f"(strings, numbers, booleans, null, lists and mappings)",
    )


def _clone(value: JSON, depth: int, max_depth: int) -> JSON:
    """An independent copy of an anchored value, checking the depth it reaches."""
    if isinstance(value, dict):
        if depth > max_depth:
            raise _Reject("too-deep", f"the alias nests values deeper than {max_depth} levels")
        return {k: _clone(v, depth + 1, max_depth) for k, v in value.items()}
    if isinstance(value, list):
        if depth > max_depth:
            raise _Reject("too-deep", f"the alias nests values deeper than {max_depth} levels")
        return [_clone(v, depth + 1, max_depth) for v in value]
    return value


class _Frame:
    """An open mapping or sequence: where it is, what it holds so far, and its anchor."""

    __slots__ = (
        "anchor",
        "entries_start",
        "is_map",
        "key",
        "key_path",
        "nodes_start",
        "path",
        "value",
    )

    def __init__(
        self, path: JsonPath, value: Any, anchor: str | None, nodes: int, entries: int
    ) -> None:
        self.path = path
        self.value = value
        self.is_map = isinstance(value, dict)
        self.key: str | None = None  # the key whose value comes next (mappings only)
        self.key_path: JsonPath = path
        self.anchor = anchor
        self.nodes_start = nodes
        self.entries_start = entries


class _Anchor:
    __slots__ = ("entries", "path", "size", "value")

    def __init__(
        self, value: JSON, path: JsonPath, size: int, entries: list[tuple[JsonPath, Location]]
    ) -> None:
        self.value = value
        self.path = path
        self.size = size
        self.entries = entries


def load_yaml(
    text: str, file: str | None, max_depth: int, loader_class: type = Loader
) -> tuple[JSON, dict[JsonPath, Location]]:
    """Build the value and its source map; ``NO_DOCUMENT`` for a stream without documents."""
    try:
        loader = loader_class(text)
        try:
            return _build(loader.get_event, file, max_depth)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except yaml.reader.ReaderError as exc:
        offset = exc.position
        if loader_class is not yaml.SafeLoader:  # libyaml counts UTF-8 bytes, not characters
            offset = len(text.encode()[:offset].decode(errors="ignore"))
        line, column = _offset_location(text, offset)
        message = f"{exc.reason} (character {chr(exc.character)!r})"
        raise LoadError(message, file=file, line=line, column=column, rule="yaml-syntax") from None
    except yaml.YAMLError as exc:
        raise LoadError(str(exc), file=file, rule="yaml-syntax") from None


_NODE_EVENTS = frozenset({ScalarEvent, AliasEvent, MappingStartEvent, SequenceStartEvent})


def _build(
    next_event: Any, file: str | None, max_depth: int
) -> tuple[JSON, dict[JsonPath, Location]]:
    entries: list[tuple[JsonPath, Location]] = []  # document order; becomes the source map
    stack: list[_Frame] = []
    anchors: dict[str, _Anchor] = {}
    root: JSON = NO_DOCUMENT
    documents = 0
    nodes = 0  # nodes built so far, an alias counting as the size of what it copies
    expanded = 0  # nodes added by aliases
    event: Any = None
    try:
        while True:
            event = next_event()
            cls = type(event)
            if cls in _NODE_EVENTS:
                mark = event.start_mark
                location = (mark.line + 1, mark.column + 1)
                plain = cls is ScalarEvent and event.tag is None and event.implicit[0]
                if not stack:
                    path: JsonPath = ()
                    entries.append((path, location))
                else:
                    top = stack[-1]
                    if not top.is_map:
                        path = top.path + (len(top.value),)  # noqa: RUF005 (faster)
                        entries.append((path, location))
                    elif top.key is not None:
                        path = top.key_path
                    else:  # this node is a key of the open mapping
                        key = event.value if plain else None
                        if not key or key[0] in _SPECIAL_START or key == "<<" or event.anchor:
                            key = _key(event, anchors)  # the slow path: not a plain word
                        if key in top.value:
                            line, column = dict(entries)[top.path + (key,)]  # noqa: RUF005
                            raise _Reject(
                                "duplicate-key",
                                f"duplicate key {key!r} (first at line {line}, column {column})",
                            )
                        top.key = key
                        top.key_path = top.path + (key,)  # noqa: RUF005
                        entries.append((top.key_path, location))
                        continue

                if cls is ScalarEvent:
                    nodes += 1
                    if plain:
                        value = event.value
                        if not value or value[0] in _SPECIAL_START:
                            value = resolve_plain(value)
                    else:
                        value = _scalar(event)
                    if event.anchor is not None:
                        anchors[event.anchor] = _Anchor(value, path, 1, [])
                elif cls is AliasEvent:
                    anchor = anchors.get(event.anchor)
                    if anchor is None:
                        raise _Reject(
                            "yaml-alias",
                            f"the alias *{event.anchor} refers to no complete anchor before it",
                        )
                    expanded += anchor.size
                    if expanded > MAX_ALIAS_NODES:
                        raise _Reject(
                            "yaml-alias",
                            f"aliases expand to more than {MAX_ALIAS_NODES} nodes; "
                            "write the repeated parts out or make the file smaller",
                        )
                    nodes += anchor.size
                    value = _clone(anchor.value, len(stack) + 1, max_depth)
                    cut = len(anchor.path)
                    entries.extend((path + p[cut:], where) for p, where in anchor.entries)
                else:
                    is_map = cls is MappingStartEvent
                    if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                        raise _unsupported_tag(event.tag)
                    if len(stack) >= max_depth:
                        raise _Reject(
                            "too-deep", f"values are nested deeper than {max_depth} levels"
                        )
                    if event.anchor is not None:  # an alias inside may not refer to its own node
                        anchors.pop(event.anchor, None)
                    stack.append(
                        _Frame(path, {} if is_map else [], event.anchor, nodes, len(entries))
                    )
                    nodes += 1
                    continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                frame = stack.pop()
                value = frame.value
                if frame.anchor is not None:
                    anchors[frame.anchor] = _Anchor(
                        value, frame.path, nodes - frame.nodes_start, entries[frame.entries_start :]
                    )
            elif cls is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Reject(
                        "yaml-multiple-documents",
                        "the file holds more than one YAML document (a second `---`); "
                        "a definition is exactly one document",
                    )
                continue
            elif cls is StreamEndEvent:
                return root, dict(entries)
            else:  # StreamStartEvent, DocumentEndEvent
                continue

            # A complete value: put it into its parent.
            if not stack:
                root = value
            else:
                parent = stack[-1]
                if parent.is_map:
                    parent.value[parent.key] = value
                    parent.key = None
                else:
                    parent.value.append(value)
    except _Reject as exc:
        mark = event.start_mark
        raise LoadError(
            exc.message, file=file, line=mark.line + 1, column=mark.column + 1, rule=exc.rule
        ) from None


def _key(event: Any, anchors: dict[str, _Anchor]) -> str:
    """A mapping key, which must be a string (ASL field names are)."""
    if isinstance(event, ScalarEvent):
        if event.tag is None and event.implicit[0] and event.value == "<<":
            raise _Reject(
                "yaml-merge-key",
                "YAML merge keys (<<) are not supported; repeat the fields, or reuse a "
                "whole value with an alias (*name)",
            )
        if event.tag is None and event.implicit[0] and event.value.lower() in _YAML11_BOOLEANS:
            key = event.value  # a string in YAML 1.2, and a key can only be a string
        else:
            key = _scalar(event)
        if event.anchor is not None:
            anchors[event.anchor] = _Anchor(key, (), 1, [])
        shown = event.value
    elif isinstance(event, AliasEvent) and event.anchor in anchors:
        key = anchors[event.anchor].value
        shown = f"*{event.anchor}"
    else:
        raise _Reject("yaml-non-string-key", "a mapping key must be a string, not a list/mapping")
    if not isinstance(key, str):
        kind = "null" if key is None else type(key).__name__
        raise _Reject(
            "yaml-non-string-key",
            f'the key `{shown}` is read as {kind}, but keys must be strings; quote it ("{shown}")',
        )
    return key


def _syntax_error(exc: yaml.MarkedYAMLError, file: str | None) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    context = exc.context_mark
    if exc.problem and exc.context and context is not None:
        message += f", {exc.context} at line {context.line + 1}, column {context.column + 1}"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return LoadError(message, file=file, line=line, column=column, rule="yaml-syntax")


def _offset_location(text: str, offset: int) -> Location:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
