"""Fixtures for the handler tests: a fresh tool registry, the fake OpenAI server, and an
environment without provider settings or proxies (the tests never leave 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI

from statemachine.handlers.dispatch import Dispatcher
from statemachine.handlers.llm import LLMConfig
from statemachine.handlers.registry import ToolRegistry

_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "STATEMACHINE_PYTHON_ALLOW",
    "STATEMACHINE_LAMBDA_MAP",
    "STATEMACHINE_LLM_MODEL",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_dispatcher(
    registry: ToolRegistry, fake_openai: FakeOpenAI
) -> Iterator[Callable[..., Dispatcher]]:
    """Dispatchers against the fake server; closed after the test."""
    made: list[Dispatcher] = []

    def make(**kwargs: Any) -> Dispatcher:
        config = kwargs.pop("llm_config", None) or LLMConfig(
            base_url=fake_openai.url, api_key="test-key", timeout_seconds=30
        )
        dispatcher = Dispatcher(kwargs.pop("registry", registry), config, **kwargs)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.close()
