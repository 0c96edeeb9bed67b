"""The layering rules of DESIGN.md, enforced: the interpreter and everything it uses are
pure (no database, network, clock, web or LLM imports), and the validate path stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "statemachine"
PURE = ["interpreter", "model", "expressions", "validation"]
FORBIDDEN = {
    "sqlmodel",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "openai",
    "httpx",
    "psycopg",
    "sqlite3",
    "socket",
    "time",
    "urllib",
    "requests",
    "statemachine.store",
    "statemachine.engine",
    "statemachine.handlers",
    "statemachine.runner",
    "statemachine.clock",
    "api",
    "asyncio",
    "threading",
    "subprocess",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_pure_packages_import_nothing_impure() -> None:
    offenders = []
    for sub in PURE:
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            for name in _imports(path):
                if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN):
                    offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_datetime_now_is_never_called_in_pure_code() -> None:
    offenders = []
    for sub in PURE:
        for path in sorted((PACKAGE / sub).rglob("*.py")):
            text = path.read_text()
            for needle in ("datetime.now(", "datetime.utcnow(", "date.today("):
                if needle in text:
                    offenders.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert offenders == []


# A JSONPath-only definition that touches every kind of state, intrinsics, Retry/Catch and
# Choice operators, so that building its model compiles every JSONPath-side expression.
JSONPATH_DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {
                "id.$": "States.Format('order-{}', $.order.id)",
                "items.$": "$.order.items[?(@.qty > 0)]",
                "key.$": "States.Hash($.order.id, 'SHA-256')",
            },
            "ResultPath": "$.prepared",
            "Next": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "tool:charge",
            "Parameters": {"amount.$": "$.order.total", "run.$": "$$.Execution.Id"},
            "TimeoutSeconds": 30,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.order.total", "NumericGreaterThan": 100},
                        {"Variable": "$.order.express", "BooleanEquals": True},
                    ],
                    "Next": "Fanout",
                },
                {"Variable": "$.order.when", "TimestampLessThanPath": "$.now", "Next": "Wait"},
            ],
            "Default": "Fanout",
        },
        "Wait": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Fanout"},
        "Fanout": {
            "Type": "Map",
            "ItemsPath": "$.prepared.items",
            "ItemSelector": {"sku.$": "$$.Map.Item.Value.sku"},
            "ItemProcessor": {"StartAt": "Ship", "States": {"Ship": {"Type": "Pass", "End": True}}},
            "ResultPath": "$.shipped",
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "Order.Failed", "CausePath": "$.error.Cause"},
    },
}

# Never on the validate path of a JSONPath definition (jsonschema: only for invalid ones).
NOT_ON_VALIDATE_PATH = (
    "jsonata",
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "openai",
    "uvicorn",
    "httpx",
    "asyncio",
)


def _modules_after_validate(path: Path) -> tuple[int, set[str]]:
    """Run ``statemachine validate PATH`` in a fresh interpreter; its exit code and modules."""
    listing = path.with_suffix(".modules")
    code = (
        "import sys; from statemachine.cli import main; rc = main(['validate', sys.argv[1]]); "
        "open(sys.argv[2], 'w').write('\\n'.join(sys.modules)); sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), str(listing)], capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, set(listing.read_text().split("\n"))


def _top_level(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules)


def test_validate_path_does_not_import_heavy_packages(tmp_path: Path) -> None:
    code = (
        "import sys, statemachine.cli as c, statemachine.definition, "
        "statemachine.commands.validate, statemachine.runner;"
        "heavy=('fastapi','sqlmodel','sqlalchemy','openai','uvicorn');"
        "bad=[m for m in heavy if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

    # The command itself, end to end, on a valid JSONPath definition: no JSONata library,
    # no web/database/LLM stack, no asyncio, and no jsonschema (the compiled check says yes).
    valid = tmp_path / "valid.asl.json"
    valid.write_text(json.dumps(JSONPATH_DEFINITION))
    status, modules = _modules_after_validate(valid)
    assert status == 0
    assert _top_level(modules, (*NOT_ON_VALIDATE_PATH, "jsonschema")) == []

    # An invalid one needs jsonschema for the detailed errors, and still nothing else.
    broken = json.loads(json.dumps(JSONPATH_DEFINITION))
    broken["States"]["Done"]["Nxt"] = "Failed"
    invalid = tmp_path / "invalid.asl.json"
    invalid.write_text(json.dumps(broken))
    status, modules = _modules_after_validate(invalid)
    assert status == 1
    assert "jsonschema" in modules
    assert _top_level(modules, NOT_ON_VALIDATE_PATH) == []
