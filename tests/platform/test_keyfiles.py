"""Replicas started together on an empty var/ end with one demo signing key and one set of BSN keys."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.auth.keys import KeyRing, demo_signing_key
from api.auth.tokens import decode_access_token, issue_access_token
from api.settings import Settings
from api.signals.bsn import vault_from_settings

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _token(keys: KeyRing, subject: str) -> str:
    return issue_access_token(
        keys,
        issuer="doorstep",
        audience="doorstep-api",
        subject=subject,
        tenant="0363",
        token_type="staff",
        now=NOW,
        ttl=timedelta(minutes=5),
        extra={"role": "worker"},
    )


def _all_at_once(count: int, work):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_replicas_starting_together_share_one_signing_key(tmp_path: Path):
    keys = _all_at_once(8, lambda: demo_signing_key(tmp_path))
    assert len({key.kid for key in keys}) == 1
    rings = [KeyRing([key]) for key in keys]
    tokens = [_token(ring, f"user-{index}") for index, ring in enumerate(rings)]
    for ring in rings:
        for index, token in enumerate(tokens):
            assert (
                decode_access_token(ring, token, issuer="doorstep", audience="doorstep-api", now=NOW)["sub"]
                == f"user-{index}"
            )
    assert (tmp_path / "demo-signing-key.json").stat().st_mode & 0o777 == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["demo-signing-key.json"]  # no staging file left behind


def test_replicas_starting_together_share_one_bsn_key(tmp_path: Path):
    settings = Settings(demo=True, var_dir=tmp_path)
    vaults = _all_at_once(8, lambda: vault_from_settings(settings))
    ciphertexts = [vault.encrypt("111222333", municipality_code="0363") for vault in vaults]
    for vault in vaults:
        assert {vault.decrypt(text, municipality_code="0363") for text in ciphertexts} == {"111222333"}
        assert vault.digest("111222333", municipality_code="0363") == vaults[0].digest(
            "111222333", municipality_code="0363"
        )


def test_separate_processes_starting_together_agree_on_the_key(tmp_path: Path):
    script = (
        "import sys, json; from pathlib import Path; from api.auth.keys import demo_signing_key;"
        "print(demo_signing_key(Path(sys.argv[1])).kid)"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    kids = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(kids) == 1 and kids != {""}
    assert json.loads((tmp_path / "demo-signing-key.json").read_text())["kid"] in kids
