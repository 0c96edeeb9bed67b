"""The definition loader: YAML/JSON text to plain JSON values, a source map, or a LoadError."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import yaml

from statemachine import _yaml
from statemachine.errors import LoadError
from statemachine.loader import MAX_DEPTH, Document, load_file, load_text

FIXTURES = Path(__file__).parent / "loader_fixtures"
YAML_FIXTURE = FIXTURES / "pipeline.asl.yaml"
JSON_FIXTURE = FIXTURES / "pipeline.asl.json"


def load_error(text: str | bytes, **kwargs: object) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_text(text, "def.asl", **kwargs)  # type: ignore[arg-type]
    return info.value


def value(text: str, **kwargs: object) -> object:
    return load_text(text, **kwargs).value  # type: ignore[arg-type]


# --- formats and extensions --------------------------------------------------------------


def test_the_yaml_and_json_fixtures_load_to_the_same_value() -> None:
    from_yaml = load_file(YAML_FIXTURE)
    from_json = load_file(JSON_FIXTURE)
    assert from_yaml.value == from_json.value
    assert from_yaml.file == str(YAML_FIXTURE)
    assert set(from_yaml.source_map) == set(from_json.source_map)
    charge = from_yaml.value["States"]["Charge"]
    assert charge["Parameters"] == {
        "order.$": "$.order",
        "amount": 12.5,
        "currency": "EUR",
        "captured": True,
        "reference": None,
    }


@pytest.mark.parametrize(
    "suffix", [".asl.yaml", ".asl.yml", ".asl.json", ".yaml", ".yml", ".json", ".ASL.JSON"]
)
def test_every_supported_extension_loads(tmp_path: Path, suffix: str) -> None:
    source = JSON_FIXTURE if suffix.lower().endswith(".json") else YAML_FIXTURE
    path = tmp_path / f"machine{suffix}"
    path.write_bytes(source.read_bytes())
    doc = load_file(path)
    assert doc.value == load_file(JSON_FIXTURE).value
    assert doc.file == str(path)


def test_the_extension_picks_the_parser(tmp_path: Path) -> None:
    flow_yaml = "{StartAt: A, States: {A: {Type: Succeed}}}"
    (tmp_path / "flow.asl.yaml").write_text(flow_yaml)
    assert load_file(tmp_path / "flow.asl.yaml").value["StartAt"] == "A"
    (tmp_path / "flow.asl.json").write_text(flow_yaml)
    with pytest.raises(LoadError) as info:
        load_file(tmp_path / "flow.asl.json")
    assert info.value.rule == "json-syntax"
    assert info.value.file == str(tmp_path / "flow.asl.json")
    (tmp_path / "machine.txt").write_text("StartAt: A\n")  # unknown extension: auto
    assert load_file(tmp_path / "machine.txt").value == {"StartAt": "A"}


def test_auto_reads_json_when_the_text_starts_with_a_bracket() -> None:
    # A trailing comma is fine in YAML flow style but not in JSON: it shows which ran.
    text = ' \n {"a": [1, 2,],}'
    error = load_error(text)
    assert error.rule == "json-syntax"
    assert "format='yaml'" in error.message
    assert value(text, format="yaml") == {"a": [1, 2]}
    assert value("# a comment first\n{a: 1}") == {"a": 1}  # YAML: starts with '#'
    assert value("[1, 2]", expect_object=False) == [1, 2]


def test_explicit_format_wins_over_detection() -> None:
    assert load_error("a: 1", format="json").rule == "json-syntax"
    assert value('{"a": 1}', format="yaml") == {"a": 1}
    with pytest.raises(ValueError):
        load_text("a: 1", format="toml")  # type: ignore[arg-type]


# --- source map ---------------------------------------------------------------------------


def test_yaml_source_map_points_at_keys_and_items() -> None:
    doc = load_text("a: 1\nlist:\n  - x\n  - {b: 2}\n'quoted key': [3]\n")
    assert doc.source_map[()] == (1, 1)
    assert doc.source_map[("a",)] == (1, 1)
    assert doc.source_map[("list",)] == (2, 1)
    assert doc.source_map[("list", 0)] == (3, 5)
    assert doc.source_map[("list", 1)] == (4, 5)
    assert doc.source_map[("list", 1, "b")] == (4, 6)
    assert doc.source_map[("quoted key",)] == (5, 1)
    assert doc.source_map[("quoted key", 0)] == (5, 16)


def test_json_source_map_points_at_keys_and_items() -> None:
    doc = load_text('{\n  "a": 1,\n  "list": ["x", {"b": 2}],\n  "e\\u0301": []\n}')
    assert doc.source_map == {
        (): (1, 1),
        ("a",): (2, 3),
        ("list",): (3, 3),
        ("list", 0): (3, 12),
        ("list", 1): (3, 17),
        ("list", 1, "b"): (3, 18),
        ("e\u0301",): (4, 3),
    }


@pytest.mark.parametrize(
    "text",
    [
        JSON_FIXTURE.read_text(),
        '{"é": {"ü": [1, {"∑": null}]}, "x\\"y": "a\\\\", "z": [[], {}, [[true]]]}',
        '{\r\n  "crlf": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n',
        '[1, "two", {"three": [3]}]',
        '"just a string"',
    ],
)
def test_json_positions_agree_with_the_yaml_parser(text: str) -> None:
    """JSON is (nearly) YAML: libyaml's marks on the same text are an independent oracle."""
    from_json = load_text(text, format="json", expect_object=False)
    from_yaml = load_text(text, format="yaml", expect_object=False)
    assert from_json.value == from_yaml.value
    assert dict(from_json.source_map) == dict(from_yaml.source_map)


def test_columns_count_characters_not_bytes() -> None:
    assert load_text('{"ééé": {"ü": 1}}').source_map[("ééé", "ü")] == (1, 10)
    assert load_text("ééé: {ü: 1}\n").source_map[("ééé", "ü")] == (1, 7)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc = load_file(YAML_FIXTURE)
    assert doc.locate(("States", "Charge", "Resource")) == (8, 5)
    assert doc.locate(("States", "Charge", "Resource", "no", 3)) == (8, 5)
    assert doc.locate(("Nope",)) == (2, 1)  # the root
    assert Document(value={}, file=None, source_map={}).locate(("a",)) is None


def test_an_alias_copy_points_at_the_anchored_text() -> None:
    doc = load_file(YAML_FIXTURE)
    assert doc.locate(("States", "Ship", "Retry")) == (33, 5)
    assert doc.locate(("States", "Ship", "Retry", 0, "MaxAttempts")) == doc.locate(
        ("States", "Charge", "Retry", 0, "MaxAttempts")
    )


def test_a_utf8_bom_is_accepted_and_does_not_shift_columns() -> None:
    for text in ("\ufeffa: [x]\n", b"\xef\xbb\xbfa: [x]\n"):
        doc = load_text(text)
        assert doc.value == {"a": ["x"]}
        assert doc.source_map[("a", 0)] == (1, 5)
    assert load_text(b'\xef\xbb\xbf{"a": 1}').source_map[("a",)] == (1, 2)


# --- duplicate keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: 1\nb:\n  c: 1\n  c: 2\n", (4, 3)),
        ("a: 1\n'a': 2\n", (2, 1)),
        ('{"a": 1,\n "b": {"c": 1, "c": 2}}', (2, 16)),
        ('{"a": 1, "\\u0061": 2}', (1, 10)),  # the same key once decoded
    ],
)
def test_duplicate_keys_are_errors(text: str, where: tuple[int, int]) -> None:
    error = load_error(text)
    assert error.rule == "duplicate-key"
    assert (error.line, error.column) == where
    assert "first at line" in error.message
    assert error.file == "def.asl"


def test_the_same_key_in_different_objects_is_fine() -> None:
    assert value('{"a": {"x": 1}, "b": {"x": 2}}') == {"a": {"x": 1}, "b": {"x": 2}}
    assert value("a: {x: 1}\nb: {x: 2}\n") == {"a": {"x": 1}, "b": {"x": 2}}


# --- YAML scalars: the 1.2 core schema, and errors where 1.1 disagrees ---------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2026-01-01", "2026-01-01"),
        ("2026-01-01 10:00:00.5+01:00", "2026-01-01 10:00:00.5+01:00"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("null", None),
        ("~", None),
        ("", None),
        ("-12", -12),
        ("+7", 7),
        ("0", 0),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.5", -0.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("1_000", "1_000"),
        ("1:20", "1:20"),
        ("0b101", "0b101"),
        ("-0x1F", "-0x1F"),
        ("'yes'", "yes"),
        ('"0755"', "0755"),
        ("!!str 123", "123"),
        ("!!str yes", "yes"),
        ("! 12", "12"),
        ("!!int 12", 12),
        ("!!float 1", 1.0),
        ("!!bool true", True),
        ("!!null null", None),
        ("$.order", "$.order"),
        ("tool:charge", "tool:charge"),
        ("States.ALL", "States.ALL"),
        ("nothing", "nothing"),
        ("offset", "offset"),
    ],
)
def test_plain_scalars_follow_the_yaml_12_core_schema(text: str, expected: object) -> None:
    loaded = value(f"v: {text}\n")
    assert loaded == {"v": expected}
    assert type(loaded["v"]) is type(expected)  # type: ignore[index]


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off", "YES", "oN"])
def test_yaml_11_booleans_are_errors(word: str) -> None:
    error = load_error(f"a: 1\nflag: {word}\n")
    assert error.rule == "yaml-ambiguous-boolean"
    assert (error.line, error.column) == (2, 7)
    assert "true or false" in error.message
    assert "quote" in error.message
    assert value(f"{word}: 1\n") == {word: 1}  # a key can only be a string: no ambiguity


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("0755", "yaml-ambiguous-number"),
        ("-012", "yaml-ambiguous-number"),
        ("089", "yaml-ambiguous-number"),
        (".inf", "not-json"),
        ("-.Inf", "not-json"),
        (".NaN", "not-json"),
        ("1e400", "number-out-of-range"),
        ("9" * 5000, "number-out-of-range"),
        ("!!int abc", "yaml-unsupported-tag"),
        ("!!bool yes", "yaml-ambiguous-boolean"),
        ("!!timestamp 2026-01-01", "yaml-unsupported-tag"),
        ("!!binary aGVsbG8=", "yaml-unsupported-tag"),
        ("!!set {a, b}", "yaml-unsupported-tag"),
        ("!!omap [a: 1]", "yaml-unsupported-tag"),
        ("!!python/object:os.system x", "yaml-unsupported-tag"),
        ("!Ref Bucket", "yaml-unsupported-tag"),
    ],
)
def test_scalars_and_tags_without_a_json_meaning_are_errors(text: str, rule: str) -> None:
    error = load_error(f"a: 1\nv: {text}\n")
    assert error.rule == rule
    assert (error.line, error.column) == (2, 4)


@pytest.mark.parametrize("key", ["1", "1.5", "null", "~", "true", "[a, b]", "{a: 1}", "? [a]\n"])
def test_mapping_keys_must_be_strings(key: str) -> None:
    error = load_error(f"ok: 1\n{key}: x\n")
    assert error.rule == "yaml-non-string-key"
    assert (error.line, error.column) == (2, 1 if not key.startswith("?") else 3)


def test_quoted_numeric_keys_are_strings() -> None:
    assert value("'1': x\n\"null\": z\n") == {"1": "x", "null": "z"}


def test_merge_keys_are_errors() -> None:
    error = load_error("base: &b {a: 1}\nderived:\n  <<: *b\n  c: 2\n")
    assert error.rule == "yaml-merge-key"
    assert (error.line, error.column) == (3, 3)
    assert value("'<<': quoted is a plain key\n") == {"<<": "quoted is a plain key"}


def test_multiple_documents_are_an_error() -> None:
    error = load_error("a: 1\n---\nb: 2\n")
    assert error.rule == "yaml-multiple-documents"
    assert error.line == 2
    assert value("---\na: 1\n...\n") == {"a": 1}  # one explicit document is fine


# --- anchors and aliases ------------------------------------------------------------------


def test_aliases_expand_to_independent_copies() -> None:
    doc = load_text("a: &x {list: [1, 2]}\nb: *x\nc: [*x]\n")
    assert doc.value == {"a": {"list": [1, 2]}, "b": {"list": [1, 2]}, "c": [{"list": [1, 2]}]}
    assert doc.value["a"] is not doc.value["b"]
    assert doc.value["a"]["list"] is not doc.value["c"][0]["list"]
    assert doc.source_map[("b",)] == (2, 1)
    assert doc.source_map[("c", 0)] == (3, 5)
    assert doc.source_map[("c", 0, "list", 1)] == doc.source_map[("a", "list", 1)]


def test_an_alias_to_nothing_is_an_error() -> None:
    error = load_error("a: *nowhere\n")
    assert (error.rule, error.line, error.column) == ("yaml-alias", 1, 4)
    assert load_error("a: &self [*self]\n").rule == "yaml-alias"  # no recursive values


def test_billion_laughs_fails_fast() -> None:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    started = time.perf_counter()
    error = load_error("\n".join(lines) + "\n")
    assert error.rule == "yaml-alias"
    assert "100000" in error.message
    assert time.perf_counter() - started < 2.0


def test_an_alias_cannot_nest_beyond_the_depth_limit() -> None:
    anchored = "[" * 150 + "]" * 150
    around = "[" * 60 + "*d" + "]" * 60
    assert value(f"a: &d {anchored}\nb: *d\n")["b"] == value(f"b: {anchored}\n")["b"]
    error = load_error(f"a: &d {anchored}\nb: {around}\n")
    assert (error.rule, error.line) == ("too-deep", 2)


# --- unusable input -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t\n", b"", b"\xef\xbb\xbf", "# only a comment\n"])
def test_empty_input_is_an_error(text: str | bytes) -> None:
    assert load_error(text).rule == "empty"


def test_invalid_utf8_is_an_error_with_its_position() -> None:
    error = load_error(b"a: 1\nb: caf\xe9\n")
    assert (error.rule, error.line, error.column) == ("encoding", 2, 7)
    assert "UTF-8" in error.message
    assert load_error("a: \ud800\n").rule == "encoding"  # a lone surrogate in a str
    utf16 = "a: 1\n".encode("utf-16")
    assert "UTF-16" in load_error(utf16).message


def test_binary_input_is_an_error() -> None:
    error = load_error(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert (error.rule, error.line, error.column) == ("binary", 3, 1)
    assert load_error('{"a": "\x00"}').rule == "binary"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "a list"), ("hello\n", "a string"), ("42", "a number"), ("null", "null")],
)
def test_the_top_level_must_be_an_object(text: str, kind: str) -> None:
    error = load_error(text)
    assert error.rule == "not-an-object"
    assert error.message.endswith(kind)
    assert "JSON object / YAML mapping" in error.message
    assert error.line == 1


def test_expect_object_false_accepts_any_json_value() -> None:
    assert value("- a\n- b\n", expect_object=False) == ["a", "b"]
    assert value("42", expect_object=False) == 42
    assert value('"s"', format="json", expect_object=False) == "s"


def test_input_larger_than_max_bytes_is_an_error(tmp_path: Path) -> None:
    assert load_error("a: 12345\n", max_bytes=8).rule == "too-large"
    assert load_error(b"a: 12345\n", max_bytes=8).rule == "too-large"
    assert load_error("é" * 5, max_bytes=8).rule == "too-large"  # 10 bytes in UTF-8
    assert value("a: 1234\n", max_bytes=8) == {"a": 1234}
    big = tmp_path / "big.asl.json"
    big.write_text('{"a": "' + "x" * 100 + '"}')
    with pytest.raises(LoadError) as info:
        load_file(big, max_bytes=64)
    assert info.value.rule == "too-large"


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_an_error_not_a_crash(levels: int) -> None:
    for text in ("[" * levels + "]" * levels, '{"a":' * levels + "1" + "}" * levels):
        error = load_error(text, expect_object=False)
        assert (error.rule, error.line) == ("too-deep", 1)
        # PyYAML >= 6.0.4 stops at its own flow-nesting limit first (a syntax error):
        # either way the caller gets a LoadError, never a crash.
        yaml_error = load_error(text, format="yaml", expect_object=False)
        assert yaml_error.rule == "too-deep" or "nesting depth" in yaml_error.message
    block = "".join("  " * i + "-\n" for i in range(levels if levels < 1000 else 1000))
    assert load_error(block, expect_object=False).rule == "too-deep"


def test_nesting_up_to_the_limit_loads() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_text(text, expect_object=False).value == value(
        text, format="yaml", expect_object=False
    )


@pytest.mark.parametrize(
    ("text", "rule", "where"),
    [
        ("a: [1,\n  2\nb: 3\n", "yaml-syntax", (3, 2)),
        ("a: 1\n b: 2\n", "yaml-syntax", (2, 3)),
        ("a: 'open\n", "yaml-syntax", (2, 1)),
        ("a:\n\t- 1\n", "yaml-syntax", (2, 1)),
        ("a: \x07\n", "yaml-syntax", (1, 4)),
        ('{"a": 1,\n "b" 2}', "json-syntax", (2, 6)),
        ('{"a": [1, 2}', "json-syntax", (1, 12)),
        ('{"a": "open', "json-syntax", (1, 7)),
        ('{"a": 1} {"b": 2}', "json-syntax", (1, 10)),
        ('{"a": NaN}', "not-json", (1, 7)),
        ('{"a": [-Infinity]}', "not-json", (1, 8)),
        ('{"a": 1e999}', "number-out-of-range", (1, 7)),
        ('{"a": ' + "1" * 5000 + "}", "number-out-of-range", (1, 7)),
    ],
)
def test_syntax_errors_carry_the_parser_position(
    text: str, rule: str, where: tuple[int, int]
) -> None:
    error = load_error(text)
    assert (error.rule, (error.line, error.column)) == (rule, where)
    assert str(error).startswith(f"def.asl:{where[0]}:{where[1]}: ")


def test_unreadable_files_are_load_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.asl.yaml", tmp_path):
        with pytest.raises(LoadError) as info:
            load_file(path)
        assert (info.value.rule, info.value.file) == ("io", str(path))


def test_mangled_definitions_raise_load_errors_only() -> None:
    """Random damage to a real definition: a Document or a LoadError, never anything else."""
    rng = random.Random(20260101)
    alphabet = [*"{}[]:,-'\"&*!|>#%@` \n\t\\yn0.\x00é", "\ud800", "\ufeff"]
    for source in (YAML_FIXTURE.read_text(), JSON_FIXTURE.read_text()):
        for _ in range(300):
            chars = list(source)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(chars))
                if rng.random() < 0.5:
                    del chars[at]
                else:
                    chars.insert(at, rng.choice(alphabet))
            text = "".join(chars)
            for data in (text, text.encode("utf-8", "surrogatepass")):
                try:
                    doc = load_text(data, expect_object=False)
                except LoadError:
                    continue
                json.dumps(doc.value)  # plain JSON values only


# --- the C loader, the fallback, speed -----------------------------------------------------


def test_the_c_loader_is_used_when_available() -> None:
    if yaml.__with_libyaml__:
        assert _yaml.Loader is yaml.CSafeLoader


@pytest.mark.parametrize(
    "text",
    [
        YAML_FIXTURE.read_text(),
        "a: &x [1, {b: yes}]\n",
        "a: 1\na: 2\n",
        "[" * (MAX_DEPTH + 1),
        "a: \x07\n",
        "é: 'open\n",
    ],
)
def test_the_pure_python_parser_gives_the_same_results(text: str) -> None:
    def run(loader: type) -> object:
        try:
            return _yaml.load_yaml(text, "f", MAX_DEPTH, loader)
        except LoadError as exc:
            return (exc.rule, exc.line, exc.column)

    assert run(yaml.SafeLoader) == run(yaml.CSafeLoader)


def _best_of(runs: int, load: object) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        load()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def test_a_typical_definition_loads_in_milliseconds() -> None:
    """A loose guard (10x headroom on a slow CI box): JSON ~0.3 ms, YAML ~1 ms here."""
    json_text = JSON_FIXTURE.read_text().replace("\n", "\n\n")  # about 100 lines
    yaml_text = YAML_FIXTURE.read_text().replace("\n", "\n\n")
    assert _best_of(20, lambda: load_text(json_text)) < 0.005
    assert _best_of(20, lambda: load_text(yaml_text)) < 0.02


def test_single_letter_y_and_n_stay_strings() -> None:
    """A lone y/n is a boolean only in strict YAML 1.1; PyYAML and users read a string."""
    doc = load_text("StartAt: N\nStates:\n  N: {Type: Succeed, Comment: y}\n", expect_object=True)
    assert doc.value["StartAt"] == "N"
    assert doc.value["States"]["N"]["Comment"] == "y"
