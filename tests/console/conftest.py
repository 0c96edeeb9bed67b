"""Browser fixtures: ``statemachine serve`` as a subprocess (one per test process, and one
more with API tokens), headless Chromium driven by Playwright, and a page per test that
refuses every request to another origin. See :mod:`console_support`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from console_support import CHROMIUM, TOKEN, Server, Watched, open_page, serve


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("console-serve"), None)


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("console-serve-token"), TOKEN)


# Module scope, not session: while Playwright's sync API is running it leaves an asyncio
# loop marked as running in this thread, which would break asyncio.run() in any later
# test that the same xdist worker runs.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console(browser: Any, server: Server) -> Iterator[Watched]:
    yield from open_page(browser, server)


@pytest.fixture
def token_console(browser: Any, token_server: Server) -> Iterator[Watched]:
    yield from open_page(browser, token_server)
