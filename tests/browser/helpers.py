"""Driving a real browser: where Chromium is and how it starts, and a tab that screenshots and
checks (axe-core) every screen it shows; signing in to the console the way a user does."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.factories import PASSWORD

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


def sign_in(screens: Screens, username: str, password: str = PASSWORD) -> None:
    """Signs in on the console's sign-in page and waits for the day's overview."""
    page = screens.page
    screens.goto("/console")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url("**/console")
