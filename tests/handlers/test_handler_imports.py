"""The handler modules load their heavy dependencies only when used: importing the
registry (which ``import statemachine`` does) or the dispatcher never imports openai or
pydantic, so ``statemachine validate`` stays fast."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openai", "pydantic", "httpx", "httpx2", "jsonschema")


def loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_importing_the_registry_and_the_package_is_light() -> None:
    assert loaded_after("import statemachine, statemachine.handlers.registry") == []


def test_building_a_dispatcher_and_checking_resources_is_light() -> None:
    statement = (
        "from statemachine.handlers import Dispatcher, check_resource_allowed, is_activity; "
        "d = Dispatcher(); d.check('python:os:system'); is_activity('activity:x')"
    )
    assert loaded_after(statement) == []


def test_validate_path_stays_light() -> None:
    statement = "import statemachine.commands.validate, statemachine.handlers.resources"
    assert "openai" not in loaded_after(statement)
