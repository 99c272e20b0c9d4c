"""Real-browser tests: the console served by uvicorn, driven by Playwright in the system's Chromium.

No browser is downloaded: Playwright starts Debian's `chromium` (`.ci/run` installs it). On a
machine without it these tests skip, unless DOORSTEP_REQUIRE_BROWSER=1 (CI) makes that a failure.
Every screen visited is screenshotted and checked with axe-core into `test-output/browser/`.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.settings import Settings
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, OUTPUT, Screens
from tests.processes import free_port


def _browser_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not _browser_available():
        if os.environ.get("DOORSTEP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's `chromium` package")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium); CI requires it")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The served console speaks plain http on 127.0.0.1, so its cookie cannot be Secure here."""
    return settings.model_copy(update={"console_secure_cookie": False})


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The test's app (same database, same clock) served by uvicorn in a thread."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, log_config=None, lifespan="off"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/health/live", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        raise RuntimeError("uvicorn did not start")
    yield base
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def screens(chromium, server: str, request: pytest.FixtureRequest) -> Iterator[Screens]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=server, locale="nl-NL", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield Screens(page=page, base=server, name=request.node.name)
    finally:
        context.close()
