"""Issue 5: a crash test kills the worker in the middle of the agent loop; no model call
or tool call that completed is made again.

``statemachine run definitions/agent-loop.asl.yaml --db ... --name a1`` talks to an
in-process fake OpenAI server scripted by conversation length (tools for two turns, then an
answer) and runs the demo tools through a wrapper that logs each completed call's
idempotency key. It is killed with SIGKILL after the first tool call has completed and
while the run cannot have ended (the server holds the next model request until the kill),
then the same command runs again and must finish the same execution.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from crash_support import ROOT, committed_keys, environment, kill, wait_until

from statemachine.service import Service

TOOLS = Path(__file__).with_name("agent_crash_tools.py")
FLOW = ROOT / "definitions" / "agent-loop.asl.yaml"
ANSWER = "17% of the Q3 budget is 8160 EUR."
_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "STATEMACHINE_LLM_MODEL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def _fake_openai() -> Any:
    """``tests/handlers/fake_openai.py`` (a sibling test folder, not a package)."""
    module = sys.modules.get("fake_openai")
    if module is None:
        path = ROOT / "tests" / "handlers" / "fake_openai.py"
        spec = importlib.util.spec_from_file_location("fake_openai", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_openai"] = module
        spec.loader.exec_module(module)
    return module


def _script() -> dict[int, Any]:
    """Replies keyed by conversation length: system + user (2) -> two tool calls; + the
    assistant and two tool results (5) -> one more tool call; + 2 (7) -> the answer."""
    fo = _fake_openai()
    return {
        2: fo.completion(
            tool_calls=[
                fo.tool_call("search_notes", {"query": "Q3 budget"}, "c1"),
                fo.tool_call("calculator", {"expression": "0.17 * 48000"}, "c2"),
            ]
        ),
        5: fo.completion(
            tool_calls=[fo.tool_call("write_file", {"filename": "a.txt", "content": "8160"}, "c3")]
        ),
        7: fo.completion(ANSWER),
    }


def _request_lengths(fake: Any) -> Counter[int]:
    return Counter(
        len(r.body["messages"])
        for r in list(fake.requests)
        if r.path.endswith("/chat/completions") and isinstance(r.body, dict)
    )


def _calls(path: Path, kind: str) -> Counter[str]:
    if not path.exists():
        return Counter()
    return Counter(
        line.split()[1] for line in path.read_text().splitlines() if line.startswith(kind + " ")
    )


def test_agent_loop_killed_mid_loop_repeats_no_completed_call(
    sqlite_db_url: str, tmp_path: Path
) -> None:
    fo = _fake_openai()
    held = threading.Event()  # set: the test has killed the first process
    replies: dict[int, Any] = {}

    def respond(body: Any) -> Any:
        length = len(body["messages"])
        if length > 2:
            # Nothing after the first turn is answered before the kill, so the first
            # process cannot finish the run; generous, never part of an assertion.
            held.wait(300)
        reply = replies.get(length)
        return reply if reply is not None else fo.error(500, f"unexpected length {length}")

    calls = tmp_path / "calls.log"
    env = environment(tmp_path)
    for name in _PROVIDER_ENV:
        env.pop(name, None)
    with fo.FakeOpenAI() as fake:
        replies.update(_script())
        fake.respond_with(respond)
        env.update(
            OPENAI_BASE_URL=fake.url,
            OPENAI_API_KEY="test-key",
            NO_PROXY="127.0.0.1,localhost",
            AGENT_CALLS=str(calls),
            AGENT_TOOL_DELAY="0.2",
            STATEMACHINE_AGENT_DIR=str(tmp_path / "agent"),
        )
        command = [
            sys.executable, "-m", "statemachine", "run", str(FLOW),
            "--db", sqlite_db_url, "--name", "a1", "--handlers", str(TOOLS),
            "--input", json.dumps({"task": "What is 17% of the Q3 budget?", "model": "m"}),
        ]  # fmt: skip
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: sum(_calls(calls, "done").values()) >= 1 or first.poll() is not None)
            assert first.poll() is None, first.communicate()[1].decode(errors="replace")
        finally:
            kill(first)
            if first.stdout is not None:
                first.stdout.close()
            held.set()
        before_requests = _request_lengths(fake)
        before_done = _calls(calls, "done")
        service = Service(sqlite_db_url)
        try:
            execution_id = service.list_executions().executions[0].execution_id
            committed_before = committed_keys(service, execution_id)
        finally:
            service.close()

        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        output = json.loads(second.stdout)
        assert output["answer"] == ANSWER and output["turns"] == 3
        requests = _request_lengths(fake)

    # The model: one request per turn, except the one in flight at the kill.
    assert set(requests) == {2, 5, 7}
    assert before_requests[2] == 1 and sum(before_requests.values()) <= 2
    assert all(count <= 2 for count in requests.values()), requests
    assert sum(count - 1 for count in requests.values()) <= 1, requests
    # Tools: three calls completed; a call whose result was committed before the kill
    # never ran again; only one completed but not yet committed can have run twice.
    done = _calls(calls, "done")
    assert len(done) == 3, done
    assert before_done, "the kill came after the first tool call had completed"
    service = Service(sqlite_db_url)
    try:
        committed_after = committed_keys(service, execution_id)
        assert service.describe_execution(execution_id).status == "SUCCEEDED"
    finally:
        service.close()
    tool_keys = set(done)
    assert tool_keys <= committed_after
    for key, count in done.items():
        assert count <= 2, (key, count)
        if key in committed_before:
            assert count == 1, f"{key} completed and committed before the kill, yet ran again"
    assert (tmp_path / "agent" / "a.txt").read_text() == "8160"
