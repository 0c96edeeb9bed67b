"""Distributed Map with ItemReader (JSON, JSONL, CSV, listObjectsV2) and ResultWriter on
local folders, through the in-memory runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.runner import Runner


def machine(reader: dict[str, Any], writer: dict[str, Any] | None = None) -> Any:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": reader,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
    }
    if writer is not None:
        state["ResultWriter"] = writer
    return load({"StartAt": "M", "States": {"M": state}})


def run(root: Path, definition: Any, data: Any = None) -> Any:
    return Runner(definition, clock=VirtualClock(), object_root=root).run(data or {})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    bucket = tmp_path / "data"
    bucket.mkdir()
    (bucket / "items.json").write_text(json.dumps([{"n": 1}, {"n": 2}, {"n": 3}]))
    (bucket / "items.jsonl").write_text('{"n": 1}\n\n{"n": 2}\n')
    (bucket / "items.csv").write_text("name,qty\napple,3\npear,5\n")
    (bucket / "pipe.csv").write_text("apple|3\npear|5\n")
    return tmp_path


def get(key: str, input_type: str, **cfg: Any) -> dict[str, Any]:
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": input_type, **cfg},
        "Parameters": {"Bucket": "data", "Key": key},
    }


def test_json_array(root: Path) -> None:
    result = run(root, machine(get("items.json", "JSON")))
    assert result.status == "SUCCEEDED"
    assert result.output == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_json_lines_and_max_items(root: Path) -> None:
    assert run(root, machine(get("items.jsonl", "JSONL"))).output == [{"n": 1}, {"n": 2}]
    limited = run(root, machine(get("items.json", "JSON", MaxItems=2)))
    assert limited.output == [{"n": 1}, {"n": 2}]


def test_csv_first_row_and_given_headers(root: Path) -> None:
    assert run(root, machine(get("items.csv", "CSV"))).output == [
        {"name": "apple", "qty": "3"},
        {"name": "pear", "qty": "5"},
    ]
    given = get(
        "pipe.csv",
        "CSV",
        CSVHeaderLocation="GIVEN",
        CSVHeaders=["fruit", "count"],
        CSVDelimiter="PIPE",
    )
    assert run(root, machine(given)).output == [
        {"fruit": "apple", "count": "3"},
        {"fruit": "pear", "count": "5"},
    ]


def test_key_from_the_input(root: Path) -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "data", "Key.$": "$.key"},
    }
    result = run(root, machine(reader), {"key": "items.json"})
    assert result.output == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_list_objects(root: Path) -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data", "Prefix": "items."},
    }
    keys = [item["Key"] for item in run(root, machine(reader)).output]
    assert keys == ["items.csv", "items.json", "items.jsonl"]


def test_missing_file_and_escape_fail_with_item_reader_failed(root: Path) -> None:
    missing = run(root, machine(get("nope.json", "JSON")))
    assert (missing.status, missing.error) == ("FAILED", "States.ItemReaderFailed")
    escape = run(root, machine(get("../../etc/passwd", "JSON")))
    assert escape.error == "States.ItemReaderFailed"
    assert "leaves the bucket" in (escape.cause or "")


def test_result_writer_writes_manifest_and_results(root: Path) -> None:
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "out", "Prefix": "runs"},
    }
    result = run(root, machine(get("items.json", "JSON"), writer))
    assert result.status == "SUCCEEDED", result
    details = result.output["ResultWriterDetails"]
    assert details["Bucket"] == "out"
    manifest = json.loads((root / "out" / details["Key"]).read_text())
    assert manifest["MapRunArn"] == result.output["MapRunArn"]
    (entry,) = manifest["ResultFiles"]["SUCCEEDED"]
    rows = json.loads((root / "out" / entry["Key"]).read_text())
    assert [json.loads(r["Output"]) for r in rows] == [{"n": 1}, {"n": 2}, {"n": 3}]
