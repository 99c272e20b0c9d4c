"""The README is part of the contract: the two commands, the demo credentials, every setting."""

from __future__ import annotations

from pathlib import Path

from api.auth.safety import DEMO_PARTNER, DEMO_PASSWORD
from api.demo import DEMO_STAFF
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_documents_every_setting():
    missing = [
        f"DOORSTEP_{name.upper()}" for name in Settings.model_fields if f"`DOORSTEP_{name.upper()}`" not in README
    ]
    assert missing == []


def test_readme_gives_the_two_commands_and_the_demo_credentials():
    assert "`make run`" in README and "`make test`" in README
    for username, _, role in DEMO_STAFF:
        assert f"`{username}`" in README and f"| {role}" in README
    assert f"`{DEMO_PASSWORD}`" in README
    assert f"`{DEMO_PARTNER[0]}`" in README and f"`{DEMO_PARTNER[1]}`" in README


def test_ci_runs_the_readme_test_command_on_both_databases():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.count("make test") >= 2 and "DOORSTEP_TEST_DATABASE_URL" in ci
