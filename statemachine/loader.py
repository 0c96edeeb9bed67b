"""Read a definition (YAML or JSON) into plain JSON values plus a source map.

Every definition enters the engine here: files (``load_file``) and text posted over REST or
piped on stdin (``load_text``). The result is a :class:`Document`: the value, and for every
key and list item its line and column, so that validation problems point into the file.

Anything wrong with the text raises :class:`~statemachine.errors.LoadError` with the file,
line and column where known and one of these ``rule`` ids, never a traceback:

=========================  ================================================================
rule                       cause
=========================  ================================================================
io                         the file cannot be read
too-large                  more than ``max_bytes`` (default 8 MiB)
binary                     a NUL byte: not a text file
encoding                   not UTF-8 (a UTF-8 byte-order mark is accepted and dropped)
empty                      nothing but whitespace (or YAML comments)
too-deep                   lists/objects nested more than ``MAX_DEPTH`` (200) levels
json-syntax, yaml-syntax   the parser's message at the parser's line and column
duplicate-key              the same key twice in one object
not-json                   NaN, Infinity, .inf, .nan: JSON has no such numbers
number-out-of-range        a number binary64 cannot hold (1e400) or with > 4300 digits
not-an-object              the top level is not an object (``expect_object=True``)
yaml-ambiguous-boolean     a yes/no/on/off/y/n value unquoted (see ``statemachine._yaml``)
yaml-ambiguous-number      an integer with a leading zero, e.g. 0755
yaml-unsupported-tag       a tag other than the JSON ones, e.g. !!timestamp, !!binary, !Ref
yaml-non-string-key        a key that is not a string, e.g. ``1: x``, ``null: x``
yaml-merge-key             the YAML 1.1 merge key ``<<``
yaml-alias                 an alias to nothing, or aliases expanding beyond the limit
yaml-multiple-documents    more than one ``---`` document
=========================  ================================================================

JSON is parsed by the ``json`` module (C speed, exact), which reports no positions. The
source map comes from one regex pass over the tokens (``_scan_json``) that runs first,
because it also bounds the nesting depth before ``json.loads`` could recurse into a
``RecursionError``, and finds duplicate keys with their position (the ``json`` module
keeps the last value silently). YAML is built from PyYAML's event stream, see
``statemachine._yaml``. Positions are 1-based, columns count characters.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from statemachine.errors import LoadError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "Document", "load_file", "load_text"]

JSON = Any
JsonPath = tuple[str | int, ...]
Location = tuple[int, int]
Format = Literal["yaml", "json", "auto"]

MAX_BYTES = 8 * 1024 * 1024
#: Deepest nesting of lists/objects accepted. Well below Python's recursion limit, so the
#: ``json`` module and every recursive walk downstream are safe.
MAX_DEPTH = 200

_EXTENSIONS: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Document:
    """A loaded definition. ``source_map`` maps a JSON path to the 1-based (line, column) of
    the key (mapping entries) or of the item (list entries); ``()`` is the root."""

    value: JSON
    file: str | None
    source_map: Mapping[JsonPath, Location]

    def locate(self, path: JsonPath) -> Location | None:
        """The position of ``path``, else of its nearest ancestor that has one."""
        source_map = self.source_map
        for end in range(len(path), -1, -1):
            found = source_map.get(path[:end])
            if found is not None:
                return found
        return None


def load_file(
    path: str | os.PathLike[str],
    *,
    expect_object: bool = True,
    max_bytes: int = MAX_BYTES,
) -> Document:
    """Load ``*.asl.yaml``, ``*.asl.yml``, ``*.asl.json`` (or plain ``.yaml``/``.yml``/
    ``.json``) by extension; any other name is detected like ``format="auto"``."""
    name = os.fsdecode(path)
    fmt = _EXTENSIONS.get(os.path.splitext(name)[1].lower(), "auto")
    try:
        with open(name, "rb") as stream:
            data = stream.read(max_bytes + 1)  # never read more than the limit
    except OSError as exc:
        raise LoadError(
            f"cannot read the file: {exc.strerror or exc}", file=name, rule="io"
        ) from None
    return load_text(data, name, format=fmt, expect_object=expect_object, max_bytes=max_bytes)


def load_text(
    text: str | bytes,
    file: str | None = None,
    *,
    format: Format = "auto",
    expect_object: bool = True,
    max_bytes: int = MAX_BYTES,
) -> Document:
    """Parse YAML or JSON text. ``"auto"`` reads JSON when the first non-blank character is
    ``{`` or ``[`` and YAML otherwise (so a YAML file in flow style needs ``format="yaml"``).

    With ``expect_object`` (the default, what a definition needs) the top level must be an
    object; pass ``False`` to accept any JSON value.
    """
    if format not in ("auto", "json", "yaml"):
        raise ValueError(f"format must be 'auto', 'json' or 'yaml', not {format!r}")
    source = _decode(text, file, max_bytes)
    if not source or source.isspace():
        raise LoadError("the file is empty", file=file, rule="empty")
    if format == "auto" and _JSON_START.match(source):
        try:
            value, source_map = _load_json(source, file)
        except LoadError as exc:
            if exc.rule != "json-syntax":
                raise
            message = exc.message + " (read as JSON as it starts with { or [; for YAML in "
            message += "flow style pass format='yaml')"
            raise LoadError(
                message, file=file, line=exc.line, column=exc.column, rule=exc.rule
            ) from None
    elif format == "json":
        value, source_map = _load_json(source, file)
    else:
        from statemachine._yaml import NO_DOCUMENT, load_yaml  # PyYAML: ~20 ms, YAML only

        value, source_map = load_yaml(source, file, MAX_DEPTH)
        if value is NO_DOCUMENT:
            raise LoadError("the file has no YAML document, only comments", file=file, rule="empty")
    if expect_object and not isinstance(value, dict):
        line, column = source_map.get((), (None, None))
        kind = "null" if value is None else _KINDS.get(type(value), type(value).__name__)
        raise LoadError(
            f"the definition must be a JSON object / YAML mapping, not {kind}",
            file=file,
            line=line,
            column=column,
            rule="not-an-object",
        )
    return Document(value, file, MappingProxyType(source_map))


_KINDS = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
_JSON_START = re.compile(r"[ \t\r\n]*[\[{]")


def _decode(text: str | bytes, file: str | None, max_bytes: int) -> str:
    """Text as ``str`` without a BOM, after the size, binary and encoding checks."""
    if isinstance(text, str):
        if len(text) > max_bytes or (not text.isascii() and _utf8_size(text, file) > max_bytes):
            raise _too_large(file, max_bytes)
        source = text[1:] if text.startswith("\ufeff") else text
        nul = source.find("\0")
        if nul >= 0:
            raise _binary(file, *_location(source, nul))
        return source
    data = bytes(text)
    if len(data) > max_bytes:
        raise _too_large(file, max_bytes)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("the file is UTF-16; save it as UTF-8", file=file, rule="encoding")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    nul = data.find(b"\0")
    if nul >= 0:
        raise _binary(file, *_byte_location(data, nul))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _byte_location(data, exc.start)
        raise LoadError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            file=file,
            line=line,
            column=column,
            rule="encoding",
        ) from None


def _utf8_size(text: str, file: str | None) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate: not text any file could hold
        line, column = _location(text, exc.start)
        raise LoadError(
            "the text holds an unpaired surrogate, which UTF-8 cannot encode",
            file=file,
            line=line,
            column=column,
            rule="encoding",
        ) from None


def _too_large(file: str | None, max_bytes: int) -> LoadError:
    return LoadError(f"the file is larger than {max_bytes} bytes", file=file, rule="too-large")


def _binary(file: str | None, line: int, column: int) -> LoadError:
    message = "the file holds a NUL byte: it is binary, not YAML or JSON text"
    return LoadError(message, file=file, line=line, column=column, rule="binary")


def _location(text: str, offset: int) -> Location:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def _byte_location(data: bytes, offset: int) -> Location:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


# --- JSON ------------------------------------------------------------------------------

# One token per match, with the whitespace, commas and colons before it. Group 1: a string,
# 2: an opening bracket, 3: a closing one, 4: a literal (number, true, false, null, or junk
# that json.loads rejects), 5: anything else (an unterminated string). Keys and values
# alternate inside an object, so the skipped commas and colons tell the scan nothing. The
# last group makes every position match, so broken text cannot make finditer quadratic.
_JSON_TOKEN = re.compile(
    r'[ \t\r\n,:]*+(?:("[^"\\]*(?:\\.[^"\\]*)*")|([\[{])|([\]}])|([^ \t\r\n\[\]{},:"]+)|(.))',
    re.DOTALL,
)
_NON_JSON_CONSTANTS = frozenset({"NaN", "Infinity", "-Infinity"})


def _load_json(text: str, file: str | None) -> tuple[JSON, dict[JsonPath, Location]]:
    locations, problem = _scan_json(text, file)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # "Unterminated string starting at" + position: the position is in line/column
        message = exc.msg.removesuffix(" at").removesuffix(" starting")
        raise LoadError(
            message, file=file, line=exc.lineno, column=exc.colno, rule="json-syntax"
        ) from None
    except ValueError as exc:  # NaN/Infinity or too many digits: the scan knows where
        if problem is None:
            raise LoadError(str(exc), file=file, rule="not-json") from None
    except RecursionError:  # unreachable after the depth scan; kept as a last guard
        message = f"values are nested deeper than {MAX_DEPTH} levels"
        raise LoadError(message, file=file, rule="too-deep") from None
    if problem is not None:  # raised only for text json.loads accepts
        rule, message, offset = problem
        line, column = _location(text, offset)
        raise LoadError(message, file=file, line=line, column=column, rule=rule)
    return value, locations


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _scan_json(
    text: str, file: str | None
) -> tuple[dict[JsonPath, Location], tuple[str, str, int] | None]:
    """The position of every key and list item, by JSON path, in one regex pass.

    Raises ``too-deep`` at once; the first duplicate key or non-JSON number is returned
    instead, to be raised only when ``json.loads`` accepts the text (on broken text the
    syntax error is the one to report). On text it cannot follow, the scan just stops:
    ``json.loads`` then fails at or before that point.
    """
    paths: list[JsonPath] = []
    locations: list[Location] = []
    problem: tuple[str, str, int] | None = None
    stack: list[tuple[JsonPath, bool, int, set[str]]] = []
    path: JsonPath = ()  # of the innermost open container
    in_object = want_key = False
    index = 0  # of the next item, in a list
    keys: set[str] = set()  # seen in the innermost object
    line, line_start, previous = 1, 0, 0
    for match in _JSON_TOKEN.finditer(text):
        kind = match.lastindex
        if kind == 3:  # } or ]
            if not stack:
                break
            path, in_object, index, keys = stack.pop()
            want_key = in_object
            continue
        if kind == 5:
            break
        start = match.start(kind)
        if want_key:
            if kind != 1:
                break
            token = match.group(1)
            try:
                key = json.loads(token) if "\\" in token else token[1:-1]
            except ValueError:
                break
            want_key = False
            value_path = path + (key,)  # noqa: RUF005 (twice as fast as unpacking)
            if key in keys:
                if problem is None:
                    line_column = locations[paths.index(value_path)]
                    where = f"first at line {line_column[0]}, column {line_column[1]}"
                    problem = ("duplicate-key", f"duplicate key {key!r} ({where})", start)
                continue
            keys.add(key)
        else:
            # A value: in an object its key holds the position, in a list the item does.
            record = not in_object
            if in_object:
                want_key = True  # next, after this value
            else:
                value_path = path + (index,) if stack else ()  # noqa: RUF005
                index += 1
            if kind == 2:  # { or [
                if len(stack) >= MAX_DEPTH:
                    line, column = _location(text, start)
                    message = f"values are nested deeper than {MAX_DEPTH} levels"
                    raise LoadError(message, file=file, line=line, column=column, rule="too-deep")
                stack.append((path, in_object, index, keys))
                in_object = want_key = match.group(2) == "{"
                path, index, keys = value_path, 0, set()
            elif kind == 4 and problem is None:
                problem = _number_problem(match.group(4), start)
            if not record:
                continue
        newlines = text.count("\n", previous, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", previous, start) + 1
        previous = start
        paths.append(value_path)
        locations.append((line, start - line_start + 1))
    return dict(zip(paths, locations, strict=True)), problem


def _number_problem(token: str, offset: int) -> tuple[str, str, int] | None:
    """Numbers json.loads accepts but JSON cannot carry (or Python refuses to convert)."""
    if token in _NON_JSON_CONSTANTS:
        return "not-json", f"{token} is not a JSON number", offset
    shown = token if len(token) <= 40 else token[:20] + "..."
    if "e" in token or "E" in token or len(token) > 300:
        try:
            if math.isinf(float(token)):
                return "number-out-of-range", f"{shown} is too large for a JSON number", offset
        except ValueError:
            return None
        digits_limit = sys.get_int_max_str_digits()
        if digits_limit and len(token) > digits_limit and token.lstrip("-").isdigit():
            message = f"{shown} has more than {digits_limit} digits"
            return "number-out-of-range", message, offset
    return None
