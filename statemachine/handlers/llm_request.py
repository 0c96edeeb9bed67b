"""Building an ``llm:chat`` request from a Task payload, and shaping the reply.

Pure functions (no client, no network), shared by the handler and by test mocks, so a
mocked model reply goes through exactly the shaping and validation a real one does.
See :mod:`statemachine.handlers.llm` for the parameters and the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from statemachine.errors import StatesError
from statemachine.handlers.llm_errors import ProviderError
from statemachine.handlers.registry import TaskContext, ToolRegistry

if TYPE_CHECKING:
    from statemachine.handlers.llm import LLMConfig

JSON = Any

_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OWN = frozenset(
    {"model", "messages", "prompt", "system", "tools", "tool_choice", "response_format"}
    | {"stream", "timeout"}
)
_PASSTHROUGH = frozenset(
    {"temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "seed"}
    | {"presence_penalty", "frequency_penalty", "logit_bias", "user", "parallel_tool_calls"}
    | {"reasoning_effort", "service_tier", "metadata", "store", "logprobs", "top_logprobs"}
    | {"extra_body", "extra_headers"}
)


def _bad(message: str) -> ProviderError:
    return ProviderError("LLM.BadRequest", message)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """What to do with the reply text: parse it as JSON, and validate it."""

    parse: bool = False
    schema: JSON = None


def build_request(
    payload: JSON, config: LLMConfig, registry: ToolRegistry, ctx: TaskContext
) -> tuple[dict[str, JSON], OutputSpec]:
    """The ``chat.completions.create`` keyword arguments for a Task payload."""
    if not isinstance(payload, Mapping):
        raise _bad(f"llm:chat expects an object of parameters, got {type(payload).__name__}")
    unknown = sorted(set(payload) - _OWN - _PASSTHROUGH)
    if unknown:
        raise _bad(
            f"llm:chat does not know the parameter(s) {', '.join(unknown)}; put "
            "provider-specific fields in extra_body"
        )
    model = payload.get("model") or config.model
    if not isinstance(model, str):
        raise _bad("llm:chat needs a model (the 'model' parameter or a configured default)")
    request: dict[str, JSON] = {"model": model, "messages": build_messages(payload)}
    tools = build_tools(payload.get("tools"), registry)
    if tools:
        request["tools"] = tools
    choice = payload.get("tool_choice")
    if choice is not None:
        request["tool_choice"] = (
            {"type": "function", "function": {"name": choice}}
            if isinstance(choice, str) and choice not in {"auto", "none", "required"}
            else choice
        )
    response_format, spec = build_response_format(payload.get("response_format"))
    if response_format is not None:
        request["response_format"] = response_format
    for key in _PASSTHROUGH:
        if key in payload:
            request[key] = payload[key]
    if payload.get("stream") not in (None, True, False):
        raise _bad(f"stream must be true or false, got {payload['stream']!r}")
    timeout = payload.get("timeout") or ctx.timeout_seconds or config.timeout_seconds
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise _bad(f"timeout must be a positive number of seconds, got {timeout!r}")
    request["timeout"] = float(timeout)
    return request, spec


def build_messages(payload: Mapping[str, JSON]) -> list[JSON]:
    messages = payload.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise _bad("messages must be an array of chat messages")
    out = [_message(m, i) for i, m in enumerate(messages or [])]
    system, prompt = payload.get("system"), payload.get("prompt")
    if system is not None:
        out.insert(0, {"role": "system", "content": _text(system)})
    if prompt is not None:
        out.append({"role": "user", "content": _text(prompt)})
    if not out:
        raise _bad("llm:chat needs messages, or a prompt")
    return out


def _message(message: JSON, index: int) -> JSON:
    if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
        raise _bad(f"messages[{index}] must be an object with a role")
    out = dict(message)
    content = out.get("content")
    if content is not None and not isinstance(content, (str, list)):
        out["content"] = _text(content)
    return out


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def build_tools(spec: JSON, registry: ToolRegistry) -> list[JSON]:
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise _bad("tools must be an array of tool names")
    tools = []
    for item in spec:
        if isinstance(item, Mapping):
            tools.append(dict(item))
            continue
        found = registry.get(item) if isinstance(item, str) else None
        if found is None:
            known = ", ".join(registry.names()) or "none"
            raise StatesError(
                "States.Runtime",
                f"llm:chat offers the tool {item!r}, which is not registered (registered: {known})",
            )
        if not _FUNCTION_NAME.fullmatch(found.name):
            raise StatesError(
                "States.Runtime",
                f"tool {found.name!r} cannot be offered to a model: function names may only "
                "contain letters, digits, _ and - (at most 64)",
            )
        tools.append(found.function_schema())
    return tools


def build_response_format(value: JSON) -> tuple[JSON, OutputSpec]:
    if value is None:
        return None, OutputSpec()
    if not isinstance(value, Mapping):
        raise _bad("response_format must be an object")
    kind = value.get("type")
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
            raise _bad("response_format json_schema needs json_schema.schema")
        spec = {"name": "response", **spec}
        return {**value, "json_schema": spec}, OutputSpec(parse=True, schema=spec["schema"])
    if kind == "json_object":
        return dict(value), OutputSpec(parse=True)
    return dict(value), OutputSpec()


def parse_output(
    content: str | None, refusal: str | None, finish: str | None, spec: OutputSpec
) -> JSON:
    """The structured reply as JSON, validated against its schema."""
    if not spec.parse:
        return None
    if content is None:
        if refusal:
            raise ProviderError("LLM.Refused", refusal)
        raise ProviderError("LLM.InvalidOutput", "the model returned no content to parse")
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as exc:
        hint = " (it stopped at the token limit)" if finish == "length" else ""
        raise ProviderError(
            "LLM.InvalidOutput", f"the model's reply is not valid JSON{hint}: {exc.msg}"
        ) from None
    if spec.schema is not None:
        from jsonschema import exceptions, validators

        validator = validators.validator_for(spec.schema)(spec.schema)
        error = exceptions.best_match(validator.iter_errors(parsed))
        if error is not None:
            raise ProviderError(
                "LLM.InvalidOutput",
                f"the model's reply does not match the schema at {error.json_path}: "
                + error.message,
            )
    return parsed


def shape_result(
    *,
    content: str | None,
    calls: list[dict[str, JSON]],
    finish_reason: str | None,
    usage: JSON,
    model: str | None,
    refusal: str | None,
    spec: OutputSpec,
) -> dict[str, JSON]:
    message: dict[str, JSON] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in calls
        ]
    result: dict[str, JSON] = {
        "content": content,
        "parsed": parse_output(content, refusal, finish_reason, spec),
        "tool_calls": [
            {"id": c["id"], "name": c["name"], "arguments": _arguments(c["arguments"])}
            for c in calls
        ],
        "finish_reason": finish_reason,
        "usage": usage,
        "model": model,
        "message": message,
    }
    if refusal:
        result["refusal"] = refusal
    return result


def _arguments(text: JSON) -> JSON:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return text
