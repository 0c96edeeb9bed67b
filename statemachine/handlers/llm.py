"""``Resource: llm:chat``: one Chat Completions call to any OpenAI-compatible endpoint.

Works with OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio and anything else that speaks
the Chat Completions protocol, through the official ``openai`` client (imported only
when a model is actually called, so loading definitions stays fast).

Parameters (the Task's payload)::

    model            the model (or Azure deployment); defaults to the configured one
    messages         OpenAI chat messages; non-string content is sent as JSON text
    prompt, system   shorthand: a user message appended / a system message prepended
    tools            names of registered tools, sent as function schemas derived from
                     their type hints (OpenAI tool objects are passed through)
    tool_choice      "auto" | "none" | "required" | a tool name | an OpenAI object
    response_format  {"type": "json_schema", "json_schema": {"name", "schema"}}: the
                     reply is parsed and validated against the schema into "parsed";
                     {"type": "json_object"} parses without a schema
    temperature, max_tokens, max_completion_tokens, top_p, stop, seed, ...
    stream           true/false; by default the call streams when someone watches
                     the execution live (see :mod:`.stream`)
    timeout          seconds for this request (default: the state's TimeoutSeconds,
                     else the configured timeout)
    extra_body       provider-specific fields, sent as they are

Result::

    {"content", "parsed", "tool_calls": [{"id", "name", "arguments"}], "finish_reason",
     "usage": {"prompt_tokens", "completion_tokens", "total_tokens", ...}, "model",
     "message": <the assistant message, ready to append to "messages">}

Tool call ``arguments`` are parsed when they are valid JSON (the raw text otherwise);
the ``message`` keeps OpenAI's exact form. Provider failures raise named errors (see
:mod:`.llm_errors`); the client never retries on its own, so the state's ``Retry``
decides, with the provider's ``Retry-After`` exposed as ``retry_after``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from statemachine.handlers import stream as live
from statemachine.handlers.llm_errors import ProviderError, from_openai
from statemachine.handlers.llm_request import (
    OutputSpec,
    build_messages,
    build_request,
    build_response_format,
    build_tools,
    parse_output,
    shape_result,
)
from statemachine.handlers.registry import TaskContext, ToolRegistry, default_registry

if TYPE_CHECKING:
    import openai

__all__ = [
    "ChatHandler",
    "LLMConfig",
    "OutputSpec",
    "UsageHook",
    "build_messages",
    "build_request",
    "build_response_format",
    "build_tools",
    "parse_output",
    "shape_result",
]

JSON = Any
UsageHook = Callable[[dict[str, JSON]], None]

_log = logging.getLogger("statemachine.llm")


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where ``llm:chat`` sends requests. Set ``base_url`` for a self-hosted server
    (Ollama: ``http://localhost:11434/v1``; such servers need no key), ``api_key`` for
    OpenAI, or ``azure_endpoint`` + ``api_version`` for Azure OpenAI."""

    api_key: str | None = None
    base_url: str | None = None
    model: str | None = None
    timeout_seconds: float = 120.0
    azure_endpoint: str | None = None
    api_version: str | None = None
    stream: bool | None = None
    stream_usage: bool = True
    default_headers: Mapping[str, str] | None = None

    @property
    def configured(self) -> bool:
        return bool(self.api_key or self.base_url or self.azure_endpoint)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig:
        """``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``STATEMACHINE_LLM_MODEL``,
        ``STATEMACHINE_LLM_TIMEOUT``; for Azure ``AZURE_OPENAI_ENDPOINT``,
        ``AZURE_OPENAI_API_KEY``, ``OPENAI_API_VERSION``."""
        env = os.environ if environ is None else environ
        azure = env.get("AZURE_OPENAI_ENDPOINT") or None
        timeout = env.get("STATEMACHINE_LLM_TIMEOUT")
        return cls(
            api_key=(env.get("AZURE_OPENAI_API_KEY") if azure else None)
            or env.get("OPENAI_API_KEY")
            or None,
            base_url=env.get("OPENAI_BASE_URL") or None,
            model=env.get("STATEMACHINE_LLM_MODEL") or None,
            timeout_seconds=float(timeout) if timeout else 120.0,
            azure_endpoint=azure,
            api_version=env.get("OPENAI_API_VERSION") or None,
        )


class ChatHandler:
    """The ``llm:chat`` handler: one shared client per configuration (thread-safe)."""

    def __init__(
        self,
        config: LLMConfig | None = None,
        registry: ToolRegistry | None = None,
        *,
        usage_hook: UsageHook | None = None,
        broker: live.Broker | None = None,
    ) -> None:
        self.config = config or LLMConfig.from_env()
        self.registry = registry if registry is not None else default_registry
        self.usage_hook = usage_hook
        self.broker = broker or live.default_broker
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    def client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = _make_client(self.config)
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __call__(self, payload: JSON, ctx: TaskContext) -> dict[str, JSON]:
        import openai

        request, spec = build_request(payload, self.config, self.registry, ctx)
        wanted = payload.get("stream", self.config.stream)
        streaming = self.broker.has_subscribers(ctx.execution_id) if wanted is None else wanted
        client = self.client()
        try:
            reply = self._stream(client, request, ctx) if streaming else _complete(client, request)
        except openai.APIError as exc:
            raise from_openai(exc) from None
        result = shape_result(spec=spec, **reply)
        self._record_usage(ctx, result)
        return result

    def _stream(
        self, client: openai.OpenAI, request: dict[str, JSON], ctx: TaskContext
    ) -> dict[str, JSON]:
        import openai

        if self.config.stream_usage:
            request = {**request, "stream_options": {"include_usage": True}}
        parts: list[str] = []
        refusal: list[str] = []
        calls: dict[int, dict[str, JSON]] = {}
        reply: dict[str, JSON] = {"finish_reason": None, "usage": None, "model": None}

        def emit(event: dict[str, JSON]) -> None:
            self.broker.publish(
                ctx.execution_id, {"state": ctx.state_name, "attempt": ctx.attempt, **event}
            )

        try:
            with client.chat.completions.create(**request, stream=True) as chunks:
                for chunk in chunks:
                    ctx.heartbeat()
                    reply["model"] = chunk.model or reply["model"]
                    if chunk.usage is not None:
                        reply["usage"] = chunk.usage.model_dump(mode="json", exclude_none=True)
                    for choice in chunk.choices:
                        if choice.index == 0:
                            _absorb(choice, parts, refusal, calls, reply, emit)
        except openai.APIError:
            raise
        except Exception as exc:  # the transport broke mid-stream
            raise ProviderError(
                "LLM.ConnectionError", f"The stream broke: {type(exc).__name__}: {exc}"
            ) from None
        content = "".join(parts) if parts else None
        emit({"type": "llm.done", "content": content, "finish_reason": reply["finish_reason"]})
        return {
            "content": content,
            "calls": [calls[i] for i in sorted(calls)],
            "refusal": "".join(refusal) or None,
            **reply,
        }

    def _record_usage(self, ctx: TaskContext, result: dict[str, JSON]) -> None:
        if self.usage_hook is None:
            return
        record = {
            "execution_id": ctx.execution_id,
            "state_name": ctx.state_name,
            "attempt": ctx.attempt,
            "resource": ctx.resource,
            "model": result["model"],
            "usage": result["usage"],
        }
        try:
            self.usage_hook(record)
        except Exception:  # accounting must never fail the task
            _log.exception("the LLM usage hook failed")


def _absorb(
    choice: Any,
    parts: list[str],
    refusal: list[str],
    calls: dict[int, dict[str, JSON]],
    reply: dict[str, JSON],
    emit: Callable[[dict[str, JSON]], None],
) -> None:
    """Fold one streamed choice delta into the message being assembled."""
    delta = choice.delta
    if delta is not None:
        if delta.content:
            parts.append(delta.content)
            emit({"type": "llm.delta", "content": delta.content})
        if getattr(delta, "refusal", None):
            refusal.append(delta.refusal)
        for call in delta.tool_calls or ():
            slot = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
            if call.id:
                slot["id"] = call.id
            function = call.function
            if function is not None:
                if function.name and not slot["name"]:
                    slot["name"] = function.name
                if function.arguments:
                    slot["arguments"] += function.arguments
                emit(
                    {
                        "type": "llm.tool_call.delta",
                        "index": call.index,
                        "name": function.name,
                        "arguments": function.arguments,
                    }
                )
    if choice.finish_reason:
        reply["finish_reason"] = choice.finish_reason


def _complete(client: openai.OpenAI, request: dict[str, JSON]) -> dict[str, JSON]:
    completion = client.chat.completions.create(**request)
    if not completion.choices:
        raise ProviderError("LLM.InvalidResponse", "the provider returned no choices")
    choice = completion.choices[0]
    message = choice.message
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in message.tool_calls or ()
        if getattr(c, "function", None) is not None
    ]
    usage = completion.usage
    return {
        "content": message.content,
        "calls": calls,
        "finish_reason": choice.finish_reason,
        "usage": usage.model_dump(mode="json", exclude_none=True) if usage else None,
        "model": completion.model,
        "refusal": getattr(message, "refusal", None),
    }


def _make_client(config: LLMConfig) -> openai.OpenAI:
    if not config.configured:
        raise ProviderError(
            "LLM.NotConfigured",
            "No model endpoint is configured: set OPENAI_API_KEY (OpenAI), OPENAI_BASE_URL "
            "(Ollama, vLLM, LM Studio, ...) or AZURE_OPENAI_ENDPOINT",
        )
    import openai

    common: dict[str, Any] = {
        "max_retries": 0,  # the state's Retry decides, with the provider's Retry-After
        "timeout": config.timeout_seconds,
        "default_headers": dict(config.default_headers or {}) or None,
    }
    if config.azure_endpoint:
        return openai.AzureOpenAI(
            azure_endpoint=config.azure_endpoint,
            api_version=config.api_version,
            api_key=config.api_key,
            **common,
        )
    # Self-hosted servers ignore the key, but the client insists on having one.
    return openai.OpenAI(api_key=config.api_key or "not-needed", base_url=config.base_url, **common)
