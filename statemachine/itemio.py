"""Distributed Map datasets on the local disk: ItemReader and ResultWriter.

Definitions keep AWS's shape (``Resource: arn:aws:states:::s3:getObject`` with
``Parameters: {Bucket, Key}``), and a bucket is a folder under the *object root*
(``$STATEMACHINE_OBJECT_ROOT``, default ``./objects``): ``Bucket: data, Key: in/items.csv``
reads ``./objects/data/in/items.csv``. ``s3:listObjectsV2`` lists the files under a
``Prefix``. ``s3:putObject`` in a ResultWriter writes ``manifest.json`` and
``SUCCEEDED_0.json`` under ``Prefix/<map run id>/`` as AWS does.

Readers (``ReaderConfig.InputType``): ``JSON`` (a file holding an array), ``JSONL`` (one
value per line), ``CSV`` (header from the first row, or ``CSVHeaders`` with
``CSVHeaderLocation: GIVEN``; delimiter ``CSVDelimiter``); values of CSV rows are strings
as on AWS. ``MaxItems`` limits the count. Any failure raises
``StatesError("States.ItemReaderFailed" | "States.ResultWriterFailed", cause)``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from statemachine.errors import StatesError

JSON = Any
_DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def object_root() -> Path:
    return Path(os.environ.get("STATEMACHINE_OBJECT_ROOT", "objects"))


def _location(params: dict[str, JSON], what: str) -> tuple[str, str]:
    bucket = params.get("Bucket")
    if not isinstance(bucket, str) or not bucket or "/" in bucket or bucket in {".", ".."}:
        raise StatesError(what, f"Parameters.Bucket must be a folder name, got {bucket!r}")
    return bucket, str(params.get("Key", params.get("Prefix", "")) or "")


def _safe_path(root: Path, bucket: str, key: str, what: str) -> Path:
    base = (root / bucket).resolve()
    target = (base / key).resolve()
    if target != base and base not in target.parents:
        raise StatesError(what, f"the key {key!r} leaves the bucket folder")
    return target


def read_items(reader: dict[str, JSON], max_items: int | None, root: Path | None = None) -> list:
    what = "States.ItemReaderFailed"
    root = root or object_root()
    resource = str(reader.get("Resource", ""))
    params = reader.get("Parameters") or reader.get("Arguments") or {}
    cfg = reader.get("ReaderConfig") or {}
    bucket, key = _location(params, what)
    try:
        if resource.endswith("s3:listObjectsV2"):
            items = _list_objects(_safe_path(root, bucket, "", what), key)
        elif resource.endswith("s3:getObject"):
            path = _safe_path(root, bucket, key, what)
            items = _parse(path.read_bytes(), cfg.get("InputType", "JSON"), cfg, what)
        else:
            raise StatesError(what, f"unsupported ItemReader resource {resource!r}")
    except OSError as exc:
        raise StatesError(what, f"cannot read {bucket}/{key}: {exc.strerror or exc}") from exc
    if max_items is not None:
        items = items[:max_items]
    return items


def _list_objects(base: Path, prefix: str) -> list[JSON]:
    out = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        key = path.relative_to(base).as_posix()
        if not key.startswith(prefix):
            continue
        stat = path.stat()
        out.append(
            {
                "Key": key,
                "Size": stat.st_size,
                "LastModified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
                "StorageClass": "STANDARD",
            }
        )
    return out


def _parse(data: bytes, kind: str, cfg: dict[str, JSON], what: str) -> list[JSON]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatesError(what, f"the dataset is not UTF-8 text: {exc}") from exc
    if kind == "JSON":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StatesError(what, f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        if not isinstance(value, list):
            raise StatesError(what, "a JSON dataset must hold an array")
        return value
    if kind == "JSONL":
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise StatesError(what, f"invalid JSON on line {number}: {exc.msg}") from exc
        return items
    if kind == "CSV":
        delimiter = _DELIMITERS.get(str(cfg.get("CSVDelimiter", "COMMA")), ",")
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        if cfg.get("CSVHeaderLocation", "FIRST_ROW") == "GIVEN":
            headers = [str(h) for h in cfg.get("CSVHeaders") or []]
        else:
            if not rows:
                return []
            headers, rows = rows[0], rows[1:]
        items = []
        for row in rows:
            if not row:
                continue
            if len(row) > len(headers):
                raise StatesError(
                    what, f"a CSV row has {len(row)} fields for {len(headers)} headers"
                )
            items.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
        return items
    raise StatesError(what, f"unsupported InputType {kind!r} (JSON, JSONL and CSV are)")


def write_results(
    writer: dict[str, JSON], results: list[JSON], map_run_arn: str, root: Path | None = None
) -> JSON:
    what = "States.ResultWriterFailed"
    root = root or object_root()
    params = writer.get("Parameters") or writer.get("Arguments") or {}
    bucket, prefix = _location(params, what)
    run_id = map_run_arn.rsplit(":", 1)[-1]
    folder_key = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
    folder = _safe_path(root, bucket, folder_key, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        succeeded = [
            {"Output": json.dumps(r, separators=(",", ":")), "Status": "SUCCEEDED"} for r in results
        ]
        body = json.dumps(succeeded, separators=(",", ":")).encode()
        (folder / "SUCCEEDED_0.json").write_bytes(body)
        manifest = {
            "DestinationBucket": bucket,
            "MapRunArn": map_run_arn,
            "ResultFiles": {
                "FAILED": [],
                "PENDING": [],
                "SUCCEEDED": [{"Key": f"{folder_key}/SUCCEEDED_0.json", "Size": len(body)}],
            },
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    except OSError as exc:
        raise StatesError(what, f"cannot write results: {exc.strerror or exc}") from exc
    return {
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder_key}/manifest.json"},
    }
