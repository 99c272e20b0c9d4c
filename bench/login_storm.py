"""Benchmark: what a storm of wrong sign-ins does to everyone else's requests. Prints figures.

A prober sends authenticated requests one after another (`GET /v1/auth/me`: the token check and
one query, what every request does) while eight clients keep sending wrong passwords, against a
`doorstep serve` process on PostgreSQL with real argon2 costs. Three configurations:
- hashing in a wide pool (16 at once: how sign-ins ran before, on the request thread pool),
  throttling out of the way: the CPU cost of argon2 alone;
- hashing in its own pool of one (the default), throttling out of the way;
- the defaults: hashing pool of one and throttling on (the storm soon meets 429s).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_signals import fresh_postgres  # noqa: E402
from bench.sync import free_port, start  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench_login"
STORM_CLIENTS = 8
PROBES = 150
PASSWORD = "the bench's long password"


def prepare(url: str) -> dict[str, str]:
    from sqlmodel import Session

    from api.auth.keys import generate_signing_key
    from api.auth.passwords import hash_secret
    from api.models import Municipality, StaffUser
    from api.municipality.policy import MunicipalitySettings
    from api.platform.db import make_engine, migrate
    from api.platform.sequence import start_sequence
    from api.signals.bsn import generate_data_key

    fresh_postgres(url)
    migrate(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(
            Municipality(code="0363", name="Bench", settings=MunicipalitySettings().model_dump(), created_at=now)
        )
        session.flush()
        start_sequence(session, "0363")
        session.add(
            StaffUser(
                municipality_code="0363",
                username="office",
                display_name="Bench",
                role="backoffice",
                password_hash=hash_secret(PASSWORD),
                created_at=now,
                updated_at=now,
            )
        )  # real cost
        session.commit()
    engine.dispose()
    return {
        **os.environ,
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "DOORSTEP_JWT_SIGNING_KEYS": json.dumps([generate_signing_key().model_dump()]),
        "DOORSTEP_BSN_ENCRYPTION_KEYS": json.dumps([generate_data_key("bench").model_dump()]),
        "DOORSTEP_BSN_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
    }


def probe(base: str, headers: dict[str, str]) -> list[float]:
    latencies = []
    with httpx.Client(timeout=60) as client:
        for _ in range(PROBES):
            started = time.perf_counter()
            assert client.get(f"{base}/v1/auth/me", headers=headers).status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def storm(base: str, stop: threading.Event, answers: dict[int, int]) -> None:
    with httpx.Client(timeout=60) as client:
        number = 0
        while not stop.is_set():
            number += 1
            status = client.post(
                f"{base}/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": f"guess-{threading.get_ident()}-{number % 7}",
                    "password": "wrong",
                },
            ).status_code
            answers[status] = answers.get(status, 0) + 1


def run(env: dict[str, str], label: str, *, storming: bool) -> None:
    import psycopg

    # Each configuration from a clean slate: the earlier storms' failures still count for 127.0.0.1.
    with psycopg.connect(env["DOORSTEP_DATABASE_URL"].replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute("DELETE FROM login_throttle")
    port = free_port()
    server = start([sys.executable, "-m", "uvicorn", "--factory", "bench._app:make", "--port", str(port)], env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(
            f"{base}/v1/auth/token", data={"grant_type": "password", "username": "office", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        stop, answers = threading.Event(), {}  # type: ignore[var-annotated]
        clients = [
            threading.Thread(target=storm, args=(base, stop, answers)) for _ in range(STORM_CLIENTS if storming else 0)
        ]
        for client in clients:
            client.start()
        time.sleep(1.0 if storming else 0)
        started = time.perf_counter()
        latencies = probe(base, headers)
        elapsed = time.perf_counter() - started
        stop.set()
        for client in clients:
            client.join()
        quantiles = statistics.quantiles(latencies, n=100)
        storm_text = (
            (
                f"; storm answers in {elapsed:.1f} s: "
                + ", ".join(f"{count} × {status}" for status, count in sorted(answers.items()))
            )
            if storming
            else ""
        )
        print(f"{label:<58} p50 {quantiles[49]:7.1f} ms  p99 {quantiles[98]:7.1f} ms{storm_text}")
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=PG_DEFAULT)
    args = parser.parse_args()
    env = prepare(args.pg)
    no_throttle = {
        "DOORSTEP_LOGIN_FAILURES_BEFORE_DELAY": "100",
        "DOORSTEP_LOGIN_FAILURES_BEFORE_LOCK": "1000",
        "DOORSTEP_LOGIN_ADDRESS_FAILURES_BEFORE_DELAY": "10000",
    }
    print(f"GET /v1/auth/me, {PROBES} in a row; storm: {STORM_CLIENTS} clients sending wrong passwords")
    run(env, "quiet", storming=False)
    run(
        {**env, **no_throttle, "DOORSTEP_PASSWORD_HASHING_WORKERS": "16", "DOORSTEP_PASSWORD_HASHING_QUEUE": "64"},
        "storm, 16 hashes at once (as before), no throttling",
        storming=True,
    )
    run({**env, **no_throttle}, "storm, hashing pool of one, no throttling", storming=True)
    run(env, "storm, the defaults (pool of one, throttling)", storming=True)


if __name__ == "__main__":
    main()
