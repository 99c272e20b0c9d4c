"""Real-browser tests: the console served by uvicorn, driven by Playwright in the system's Chromium.

No browser is downloaded: Playwright starts Debian's `chromium` (`.ci/run` installs it). On a
machine without it these tests skip, unless DOORSTEP_REQUIRE_BROWSER=1 (CI) makes that a failure.
Every screen visited is screenshotted and checked with axe-core into `test-output/browser/`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.settings import Settings
from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("DOORSTEP_TEST_OUTPUT", ROOT / "test-output")) / "browser"
CHROMIUM = os.environ.get("DOORSTEP_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=nl-NL",
]
BLOCKING_IMPACTS = {"serious", "critical"}


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


@dataclass
class Screens:
    """Visits screens in one browser tab: screenshot plus axe-core check of every page shown."""

    page: object
    base: str
    name: str
    checked: list[str] = field(default_factory=list)
    output: Path = OUTPUT

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)  # type: ignore[attr-defined]

    def check(self, screen: str) -> list[dict]:
        """Screenshot the current page and return axe's serious or critical violations (should be none)."""
        from axe_playwright_python.sync_playwright import Axe

        self.page.wait_for_load_state("load")  # type: ignore[attr-defined]
        self.output.mkdir(parents=True, exist_ok=True)
        # CSS pixels: a phone's 3x screen would make each shot nine times the size, and no sharper to review.
        self.page.screenshot(path=str(self.output / f"{screen}.png"), full_page=True, scale="css")  # type: ignore[attr-defined]
        results = Axe().run(
            self.page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}
        )
        (self.output / f"{screen}.axe.json").write_text(json.dumps(results.response["violations"], indent=2))
        self.checked.append(screen)
        return [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"]
            if v["impact"] in BLOCKING_IMPACTS
        ]


@pytest.fixture
def screens(chromium, server: str, request: pytest.FixtureRequest) -> Iterator[Screens]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=server, locale="nl-NL", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield Screens(page=page, base=server, name=request.node.name)
    finally:
        context.close()
