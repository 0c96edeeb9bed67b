"""The layering rules of DESIGN.md, enforced: the interpreter and everything it uses are
pure (no database, network, clock, web or LLM imports), and the validate path stays light."""

from __future__ import annotations

import ast
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


def test_validate_path_does_not_import_heavy_packages() -> None:
    code = (
        "import sys, statemachine.cli as c, statemachine.definition, "
        "statemachine.commands.validate, statemachine.runner;"
        "heavy=('fastapi','sqlmodel','sqlalchemy','openai','uvicorn');"
        "bad=[m for m in heavy if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
