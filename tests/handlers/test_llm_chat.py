"""llm:chat with the real ``openai`` client against the fake server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fake_openai import FakeOpenAI, completion, error, slow, stream, tool_call
from handler_context import context
from pydantic import BaseModel

from statemachine.clock import VirtualClock
from statemachine.definition import load
from statemachine.errors import StatesError
from statemachine.handlers import stream as live
from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.llm import LLMConfig
from statemachine.handlers.llm_errors import ProviderError, parse_retry_after
from statemachine.handlers.registry import ToolRegistry
from statemachine.runner import Runner

MakeDispatcher = Callable[..., Dispatcher]
PATIENCE = 30.0


def chat(dispatcher: Dispatcher, payload: dict[str, Any], **ctx: Any) -> Any:
    return dispatcher("llm:chat", payload, context(resource="llm:chat", **ctx))


def test_plain_reply(fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher) -> None:
    fake_openai.script(completion("Paris.", model="gpt-test"))
    out = chat(
        make_dispatcher(),
        {
            "model": "gpt-test",
            "system": "Answer in one word.",
            "prompt": "Capital of France?",
            "temperature": 0,
            "max_tokens": 20,
        },
    )
    assert out == {
        "content": "Paris.",
        "parsed": None,
        "tool_calls": [],
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        "model": "gpt-test",
        "message": {"role": "assistant", "content": "Paris."},
    }
    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of France?"},
        ],
        "temperature": 0,
        "max_tokens": 20,
    }


def test_messages_with_structured_content_are_sent_as_text(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(completion("ok"))
    messages = [
        {"role": "user", "content": "look"},
        {"role": "tool", "tool_call_id": "c1", "content": {"rows": [1, 2]}},
    ]
    chat(make_dispatcher(), {"model": "m", "messages": messages})
    sent = fake_openai.bodies[0]["messages"]
    assert sent[1]["content"] == '{"rows": [1, 2]}'
    assert messages[1]["content"] == {"rows": [1, 2]}  # the input is never mutated


class Lookup(BaseModel):
    """Look a word up in the dictionary."""

    word: str


def test_tools_are_sent_as_function_schemas_and_tool_calls_come_back(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, registry: ToolRegistry
) -> None:
    @registry.tool("lookup")
    def lookup(args: Lookup) -> str:
        """Look a word up."""
        return args.word

    fake_openai.script(completion(tool_calls=[tool_call("lookup", {"word": "ozone"}, "call_9")]))
    out = chat(
        make_dispatcher(),
        {"model": "m", "prompt": "define ozone", "tools": ["lookup"], "tool_choice": "lookup"},
    )
    body = fake_openai.bodies[0]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look a word up.",
                "parameters": Lookup.model_json_schema(),
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert out["finish_reason"] == "tool_calls"
    assert out["tool_calls"] == [{"id": "call_9", "name": "lookup", "arguments": {"word": "ozone"}}]
    assert out["message"]["tool_calls"] == [tool_call("lookup", {"word": "ozone"}, "call_9")]


def test_offering_an_unregistered_tool_is_a_runtime_error(
    make_dispatcher: MakeDispatcher,
) -> None:
    with pytest.raises(StatesError) as info:
        chat(make_dispatcher(), {"model": "m", "prompt": "x", "tools": ["ghost"]})
    assert info.value.error == "States.Runtime"


SCHEMA = {
    "type": "object",
    "required": ["city", "population"],
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "additionalProperties": False,
}


def test_structured_output_is_parsed_and_validated(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(completion('{"city": "Oslo", "population": 709000}'))
    payload = {
        "model": "m",
        "prompt": "Biggest city in Norway?",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"schema": SCHEMA, "strict": True},
        },
    }
    out = chat(make_dispatcher(), payload)
    assert out["parsed"] == {"city": "Oslo", "population": 709000}
    sent = fake_openai.bodies[0]["response_format"]
    assert sent["json_schema"]["name"] == "response" and sent["json_schema"]["strict"] is True


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (completion('{"city": "Oslo"}'), "population"),
        (completion("Oslo, about 700k"), "not valid JSON"),
        (completion('{"city": "Os', finish_reason="length"), "token limit"),
    ],
)
def test_structured_output_that_does_not_fit_is_invalid_output(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, reply: Any, needle: str
) -> None:
    fake_openai.script(reply)
    payload = {
        "model": "m",
        "prompt": "x",
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": SCHEMA},
        },
    }
    with pytest.raises(ProviderError) as info:
        chat(make_dispatcher(), payload)
    assert info.value.error == "LLM.InvalidOutput"
    assert needle in (info.value.cause or "")


def test_a_refusal_of_structured_output(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(completion(None, refusal="I can't help with that."))
    payload = {"model": "m", "prompt": "x", "response_format": {"type": "json_object"}}
    with pytest.raises(ProviderError) as info:
        chat(make_dispatcher(), payload)
    assert info.value.error == "LLM.Refused"


def test_streaming_publishes_deltas_and_returns_the_final_message(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, registry: ToolRegistry
) -> None:
    registry.register("lookup", lambda args: args)
    fake_openai.script(
        stream(["Hel", "lo", " there"], tool_calls=[tool_call("lookup", {"word": "hi"}, "c1")])
    )
    ctx = context(resource="llm:chat", state="Ask")
    with live.subscribe(ctx.execution_id) as sub:
        # a watcher is subscribed, so the call streams without being asked to
        out = make_dispatcher()(
            "llm:chat", {"model": "m", "prompt": "hi", "tools": ["lookup"]}, ctx
        )
        events = sub.drain()
    body = fake_openai.bodies[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    deltas = [e["content"] for e in events if e["type"] == "llm.delta"]
    assert deltas == ["Hel", "lo", " there"]
    assert all(e["state"] == "Ask" for e in events)
    assert events[-1]["type"] == "llm.done"
    assert any(e["type"] == "llm.tool_call.delta" for e in events)
    assert out["content"] == "Hello there"
    assert out["tool_calls"] == [{"id": "c1", "name": "lookup", "arguments": {"word": "hi"}}]
    assert out["finish_reason"] == "tool_calls"
    assert out["usage"] == {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    assert out["message"]["tool_calls"][0]["function"]["arguments"] == '{"word": "hi"}'


def test_stream_false_never_streams(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(completion("plain"))
    ctx = context(resource="llm:chat")
    with live.subscribe(ctx.execution_id):
        out = make_dispatcher()("llm:chat", {"model": "m", "prompt": "x", "stream": False}, ctx)
    assert out["content"] == "plain"
    assert "stream" not in fake_openai.bodies[0]


def test_streaming_heartbeats_per_chunk(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(stream(["a", "b"]))
    beats: list[int] = []
    chat(
        make_dispatcher(),
        {"model": "m", "prompt": "x", "stream": True},
        heartbeat=lambda: beats.append(1),
    )
    assert len(beats) >= 3


def test_rate_limit_exposes_retry_after(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(
        error(429, "Rate limit reached", code="rate_limit_exceeded", headers={"Retry-After": "7"}),
        error(429, "slow down", headers={"retry-after-ms": "1500"}),
    )
    dispatcher = make_dispatcher()
    with pytest.raises(ProviderError) as info:
        chat(dispatcher, {"model": "m", "prompt": "x"})
    assert info.value.error == "LLM.RateLimited"
    assert info.value.retry_after == 7.0
    assert info.value.status_code == 429
    assert "Rate limit reached" in (info.value.cause or "")
    with pytest.raises(ProviderError) as info:
        chat(dispatcher, {"model": "m", "prompt": "x"})
    assert info.value.retry_after == 1.5
    assert len(fake_openai.requests) == 2  # the client itself never retried


@pytest.mark.parametrize(
    ("reply", "name"),
    [
        (error(500, "boom", kind="server_error"), "LLM.ServerError"),
        (error(503, "overloaded", kind="server_error"), "LLM.ServerError"),
        (error(400, "too long", code="context_length_exceeded"), "LLM.ContextLengthExceeded"),
        (error(400, "bad temperature"), "LLM.BadRequest"),
        (error(401, "bad key", kind="authentication_error"), "LLM.AuthenticationFailed"),
        (error(404, "no such model"), "LLM.NotFound"),
        (error(429, "quota", code="insufficient_quota"), "LLM.QuotaExceeded"),
        (error(418, "teapot"), "LLM.ProviderError"),
    ],
)
def test_provider_errors_are_named(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher, reply: Any, name: str
) -> None:
    fake_openai.script(reply)
    with pytest.raises(ProviderError) as info:
        chat(make_dispatcher(), {"model": "m", "prompt": "x"})
    assert info.value.error == name


def test_a_slow_reply_is_llm_timeout(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(slow(PATIENCE))
    with pytest.raises(ProviderError) as info:
        chat(make_dispatcher(), {"model": "m", "prompt": "x", "timeout": 0.3})
    assert info.value.error == "LLM.Timeout"


def test_an_unreachable_endpoint_is_a_connection_error(make_dispatcher: MakeDispatcher) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dispatcher = make_dispatcher(llm_config=LLMConfig(base_url=f"http://127.0.0.1:{port}/v1"))
    with pytest.raises(ProviderError) as info:
        chat(dispatcher, {"model": "m", "prompt": "x"})
    assert info.value.error == "LLM.ConnectionError"


def test_not_configured(registry: ToolRegistry) -> None:
    with Dispatcher(registry) as dispatcher, pytest.raises(ProviderError) as info:
        chat(dispatcher, {"model": "m", "prompt": "x"})
    assert info.value.error == "LLM.NotConfigured"
    assert "OPENAI_API_KEY" in (info.value.cause or "")


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"prompt": "x"}, "needs a model"),
        ({"model": "m"}, "needs messages"),
        ({"model": "m", "prompt": "x", "temprature": 1}, "temprature"),
        ({"model": "m", "messages": [{"content": "no role"}]}, "messages[0]"),
        ("just text", "expects an object"),
    ],
)
def test_bad_parameters(make_dispatcher: MakeDispatcher, payload: Any, needle: str) -> None:
    with pytest.raises(ProviderError) as info:
        chat(make_dispatcher(), payload)
    assert info.value.error == "LLM.BadRequest"
    assert needle in (info.value.cause or "")


def test_default_model_and_usage_hook(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(completion("hi"))
    records: list[dict[str, Any]] = []
    config = LLMConfig(base_url=fake_openai.url, model="house-model")
    dispatcher = make_dispatcher(llm_config=config, usage_hook=records.append)
    chat(dispatcher, {"prompt": "x"}, state="Greet", attempt=2)
    assert fake_openai.bodies[0]["model"] == "house-model"
    assert records == [
        {
            "execution_id": context().execution_id,
            "state_name": "Greet",
            "attempt": 2,
            "resource": "llm:chat",
            "model": "fake-model",
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
    ]


def test_azure_endpoint(fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher) -> None:
    fake_openai.script(completion("from azure"))
    config = LLMConfig(azure_endpoint=fake_openai.root, api_version="2024-10-21", api_key="az")
    out = chat(make_dispatcher(llm_config=config), {"model": "my-deployment", "prompt": "x"})
    assert out["content"] == "from azure"
    path = fake_openai.requests[0].path
    assert path.startswith("/openai/deployments/my-deployment/chat/completions")
    assert "api-version=2024-10-21" in path


def test_config_from_env() -> None:
    env = {"OPENAI_BASE_URL": "http://localhost:11434/v1", "STATEMACHINE_LLM_MODEL": "llama3.2"}
    config = LLMConfig.from_env(env)
    assert (config.base_url, config.api_key, config.model) == (
        env["OPENAI_BASE_URL"],
        None,
        "llama3.2",
    )
    assert config.configured
    assert not LLMConfig.from_env({}).configured


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "12"}) == 12.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    date = "Wed, 21 Oct 2015 07:28:30 GMT"
    assert parse_retry_after({"retry-after": date}, now=1445412480.0) == 30.0


# --- through the runner -------------------------------------------------------------------------


def one_call(**task: Any) -> Any:
    return load(
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "llm:chat",
                    "Parameters": {"model": "m", "prompt": "hi"},
                    "ResultSelector": {"text.$": "$.content"},
                    "End": True,
                    **task,
                }
            },
        }
    )


def test_retry_with_backoff_after_a_rate_limit(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(error(429, headers={"Retry-After": "3"}), completion("second time lucky"))
    machine = one_call(
        Retry=[{"ErrorEquals": ["LLM.RateLimited"], "IntervalSeconds": 2, "MaxAttempts": 3}]
    )
    result = Runner(machine, dispatcher=make_dispatcher(), clock=VirtualClock()).run({})
    assert result.status == "SUCCEEDED", result.to_json()
    assert result.output == {"text": "second time lucky"}
    assert len(fake_openai.requests) == 2


def test_timeout_seconds_on_a_slow_model(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(slow(PATIENCE))
    result = Runner(one_call(TimeoutSeconds=1), dispatcher=make_dispatcher()).run({})
    # the watchdog and the request timeout (bounded by TimeoutSeconds) race; both are
    # timeouts, and a States.Timeout catcher matches either way
    assert result.status == "FAILED"
    assert result.error in {"States.Timeout", "LLM.Timeout"}


def test_the_final_message_only_is_the_result_while_watchers_see_tokens(
    fake_openai: FakeOpenAI, make_dispatcher: MakeDispatcher
) -> None:
    fake_openai.script(stream(["one ", "two"]))
    execution_id = "arn:aws:states:local:000000000000:execution:machine:live"
    got: list[Any] = []
    with live.subscribe(execution_id) as sub:
        reader = threading.Thread(target=lambda: got.extend(sub))
        reader.start()
        result = Runner(one_call(), dispatcher=make_dispatcher()).run({}, name="live")
        live.close_execution(execution_id)
        reader.join(PATIENCE)
    assert result.output == {"text": "one two"}
    assert [e["content"] for e in got if e["type"] == "llm.delta"] == ["one ", "two"]
    assert "llm.delta" not in json.dumps(result.history)  # deltas are not history
