"""Helpers for the workflow-testing tests: write a definition and its test file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

WriteCase = Callable[..., Path]


@pytest.fixture
def write_case(tmp_path: Path) -> WriteCase:
    """``write_case(definition, cases, name="flow", **file_fields) -> test file path``."""

    def write(
        definition: dict[str, Any], cases: list[dict[str, Any]], name: str = "flow", **extra: Any
    ) -> Path:
        (tmp_path / f"{name}.asl.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
        test_file = tmp_path / f"{name}.test.yaml"
        test_file.write_text(yaml.safe_dump({**extra, "cases": cases}, sort_keys=False))
        return test_file

    return write
