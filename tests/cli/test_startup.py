"""The command line's start-up: the garbage collector paused while modules load, then
frozen and back on for the command's work (see :mod:`statemachine.startup`)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from statemachine import startup

ROOT = Path(__file__).resolve().parents[2]

# Prints whether the collector was on while the command's own work ran (inside a tool),
# and after main() returned, for a process started like the `statemachine` script.
PROBE = """\
import gc, sys
import statemachine
from statemachine.cli import main

@statemachine.tool("probe")
def probe(payload, ctx):
    print("during", gc.isenabled(), gc.get_freeze_count() > 0, flush=True)
    return payload

sys.argv = ["statemachine", "run", sys.argv[1]]
code = main()
print("after", gc.isenabled(), code, flush=True)
"""


@pytest.fixture
def collector() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_resume_undoes_only_a_pause(collector: None) -> None:
    frozen = gc.get_freeze_count()
    startup.resume()  # nothing paused: nothing to undo
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    startup.pause()
    assert not gc.isenabled()
    startup.resume()
    assert gc.isenabled() and gc.get_freeze_count() > frozen
    startup.resume()  # idempotent
    assert gc.isenabled()


def test_a_collector_disabled_by_someone_else_stays_off(collector: None) -> None:
    gc.disable()
    startup.pause()
    startup.resume()
    assert not gc.isenabled()


def test_commands_work_with_the_collector_on(tmp_path: Path) -> None:
    flow = tmp_path / "probe.asl.yaml"
    flow.write_text("StartAt: P\nStates:\n  P: {Type: Task, Resource: 'tool:probe', End: true}\n")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(flow)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert "during True True" in out
    assert out[-1] == "after True 0"


def test_main_called_in_process_leaves_the_collector_alone(collector: None) -> None:
    from statemachine.cli import main

    frozen = gc.get_freeze_count()
    assert main(["validate", str(ROOT / "definitions" / "hello.asl.yaml")]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
