"""Benchmark: field sync under uvicorn (2 workers) on loopback against PostgreSQL.

Measures, in one run, on this machine:
- push: end-to-end events/s (batches of 100, two phones side by side) against the raw ceiling
  of the database (psycopg executemany of equivalent rows, 100 per transaction, 2 connections);
- pull: 40-case encrypted lists per second and p99 latency at 16 concurrent devices,
  against the framework's rate for a pre-serialised body of the same size;
- bytes on the wire for a full 40-case pull and an unchanged pull;
- the CPU each push, pull and ceiling operation costs the service, PostgreSQL and the load
  generator: on a machine of two cores, what the rates can reach at all.

    .venv/bin/python bench/sync.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench_sync]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path and its name would hide the
# `sync` package; the repository root must win.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import httpx  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench_sync"
CASES = 40
DEVICES = 16
ROUNDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def prepare(url: str, *, history_events: int = 100_000, workers: int = DEVICES) -> dict[str, str]:
    """A fresh database with one municipality, `workers` workers (16) with 40 cases each, months of
    history, and keys in the environment."""
    from argon2 import PasswordHasher
    from sqlmodel import Session

    from api.auth.keys import generate_signing_key
    from api.models import Case, Household, Municipality, StaffUser
    from api.municipality.policy import MunicipalitySettings
    from api.platform.db import make_engine, migrate
    from api.platform.sequence import next_change_seq, start_sequence
    from api.signals.bsn import generate_data_key
    from bench.import_signals import fresh_postgres

    fresh_postgres(url)
    migrate(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with Session(engine) as session:
        session.add(
            Municipality(code="0363", name="Bench", settings=MunicipalitySettings().model_dump(), created_at=now)
        )
        session.flush()
        start_sequence(session, "0363")
        # One worker per device, each with a day's list of 40 cases.
        for number in range(workers):
            worker = StaffUser(
                municipality_code="0363",
                username=f"bench-worker-{number}",
                display_name="Bench",
                role="worker",
                password_hash=hasher.hash("bench-password"),
                created_at=now,
                updated_at=now,
            )
            session.add(worker)
            session.flush()
            for index in range(CASES):
                household = Household(
                    municipality_code="0363",
                    address_key=f"1055AB|{number}-{index}|",
                    postcode="1055AB",
                    house_number=index + 1,
                    street="Bos en Lommerweg",
                    town="Amsterdam",
                    created_at=now,
                )
                session.add(household)
                session.flush()
                session.add(
                    Case(
                        municipality_code="0363",
                        household_id=household.id,
                        state="planned",
                        classification="single",
                        opened_at=now,
                        first_contact_due_date=date(2026, 12, 24),
                        assigned_worker_id=worker.id,
                        change_seq=next_change_seq(session, "0363"),
                    )
                )
        session.commit()
    _history(url, events=history_events)
    engine.dispose()
    return {
        **os.environ,
        "DOORSTEP_DATABASE_URL": url,
        "DOORSTEP_JWT_SIGNING_KEYS": json.dumps([generate_signing_key().model_dump()]),
        "DOORSTEP_BSN_ENCRYPTION_KEYS": json.dumps([generate_data_key("bench").model_dump()]),
        "DOORSTEP_BSN_HMAC_KEY": base64.b64encode(os.urandom(32)).decode(),
        "DOORSTEP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


HISTORY_CASES = 5_000


def _history(url: str, *, events: int) -> None:
    """Months of earlier work, as a municipality's database holds: closed cases with their visits,
    cards and notes. Analysed, as autovacuum would have: the planner sees tables of their real size."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        author = connection.execute("SELECT id FROM staff_user ORDER BY username LIMIT 1").fetchone()[0]  # type: ignore[index]
        connection.execute(
            "INSERT INTO household (id, municipality_code, address_key, postcode, house_number, street, town, created_at)"
            " SELECT md5('h' || n)::uuid, '0363', '1066XX|' || n || '|', '1066XX', n, 'Osdorpplein', 'Amsterdam', now()"
            " FROM generate_series(1, %(cases)s) AS n",
            {"cases": HISTORY_CASES},
        )
        connection.execute(
            "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at,"
            " first_contact_due_date, result, closed_at, version, change_seq)"
            " SELECT md5('c' || n)::uuid, '0363', md5('h' || n)::uuid, 'closed', 'single', false,"
            " now() - interval '120 days', current_date - 92, 'Geen contact', now() - interval '60 days', 5, 0"
            " FROM generate_series(1, %(cases)s) AS n",
            {"cases": HISTORY_CASES},
        )
        connection.execute(
            "INSERT INTO visit_event (id, municipality_code, case_id, device_id, author_id, kind, occurred_at, received_at,"
            " base_version, payload, outcome, change_seq, clock_skew, body_hash)"
            " SELECT gen_random_uuid(), '0363', md5('c' || (n %% %(cases)s + 1))::uuid, NULL, %(author)s,"
            " (ARRAY['visit_attempt', 'card_left', 'note', 'phone_attempt'])[n %% 4 + 1], now() - interval '90 days',"
            " now() - interval '90 days', 1, '{\"reached\": false}', 'applied', 0, false, ''"
            " FROM generate_series(1, %(events)s) AS n",
            {"cases": HISTORY_CASES, "events": events, "author": author},
        )
        connection.execute("ANALYZE")


def enroll(base: str, number: int = 0) -> tuple[str, str]:
    from cryptography.hazmat.primitives.asymmetric import rsa

    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode().rstrip("=")

    token = httpx.post(
        f"{base}/v1/auth/token",
        data={"grant_type": "password", "username": f"bench-worker-{number}", "password": "bench-password"},
    ).json()["access_token"]
    device = httpx.post(
        f"{base}/v1/devices",
        headers={"Authorization": f"Bearer {token}"},
        json={"public_jwk": {"kty": "RSA", "n": b64(numbers.n), "e": b64(numbers.e)}, "label": "bench"},
    ).json()
    return device["device_id"], device["access_token"]


def _proc_cpu(pid: str) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and of its children already reaped) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[1]), sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(server: subprocess.Popen[bytes] | None) -> tuple[float, float, float]:
    """CPU seconds used so far by the service (the uvicorn process and its workers), by PostgreSQL
    (every server process; a closed connection's backend counts through the postmaster) and by
    this load generator. Where the time goes, since the rates alone do not say (Linux only)."""
    service = database = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent, used = _proc_cpu(pid)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
        if server is not None and server.pid in (int(pid), parent):
            service += used
        elif command.startswith(b"postgres") or b"bin/postgres" in command:
            database += used
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return service, database, usage.ru_utime + usage.ru_stime


def measured(server: subprocess.Popen[bytes] | None, work):  # type: ignore[no-untyped-def]
    """work()'s result and the CPU seconds it cost (service, PostgreSQL, load generator)."""
    before = cpu_seconds(server)
    result = work()
    return result, tuple(after - start for start, after in zip(before, cpu_seconds(server), strict=True))


def per(costs: list[tuple[float, ...]], operations: int) -> list[float]:
    """Summed CPU seconds as milliseconds per operation."""
    return [sum(cost[i] for cost in costs) * 1000 / operations for i in range(3)]


def run_concurrently(workers: int, work) -> float:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def bench_push(base: str, phones: list[tuple[str, str, list[str]]], batches: int) -> float:
    """Two phones (device id, token, the cases it holds) push side by side, as a municipality's
    devices do: one phone syncs one batch at a time (push locks its device row), so two clients
    of one device would measure one push after another, not the two workers the ceiling gets."""

    def work(worker: int) -> None:
        device_id, token, case_ids = phones[worker]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for batch in range(batches // 2):
                events = [
                    {
                        "event_id": str(uuid.uuid4()),
                        "case_id": case_ids[(batch * 100 + i) % len(case_ids)],
                        "kind": "card_left",
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "base_version": 1,
                        "payload": {},
                    }
                    for i in range(100)
                ]
                response = client.post("/v1/sync/push", json={"device_id": device_id, "events": events})
                response.raise_for_status()

    elapsed = run_concurrently(len(phones), work)
    return batches * 100 / elapsed


def insert_ceiling(url: str, batches: int) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_event")
        connection.execute("CREATE TABLE bench_event (LIKE visit_event INCLUDING ALL)")

    def work(worker: int) -> None:
        with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
            for _ in range(batches // 2):
                now = datetime.now(UTC)
                rows = [
                    (
                        uuid.uuid4(),
                        "0363",
                        uuid.UUID(int=1),
                        None,
                        uuid.UUID(int=2),
                        "card_left",
                        now,
                        now,
                        1,
                        "{}",
                        "applied",
                        0,
                        False,
                        "",
                    )
                    for _ in range(100)
                ]
                cursor.executemany(
                    "INSERT INTO bench_event (id, municipality_code, case_id, device_id, author_id, kind, occurred_at,"
                    " received_at, base_version, payload, outcome, change_seq, clock_skew, body_hash)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    rows,
                )
                connection.commit()

    # The scratch table has no foreign keys (LIKE does not copy them): a ceiling, as it should be.
    elapsed = run_concurrently(2, work)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE bench_event")
    return batches * 100 / elapsed


def bench_get(url: str, headers: list[dict[str, str]], *, clients: int, requests_each: int) -> tuple[float, float, int]:
    latencies: list[float] = []
    sizes: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        with httpx.Client(headers=headers[worker % len(headers)], timeout=30) as client:
            for _ in range(requests_each):
                started = time.perf_counter()
                response = client.get(url)
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - started)
                    sizes.append(len(response.content))

    elapsed = run_concurrently(clients, work)
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return clients * requests_each / elapsed, p99, sizes[0]


FRAMEWORK_APP = """
import os
from fastapi import FastAPI, Response
BODY = b"x" * int(os.environ["BENCH_BODY_BYTES"])
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
@app.get("/body")
def body():
    return Response(BODY, media_type="application/jose")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--history-events", type=int, default=100_000, help="earlier events already stored")
    args = parser.parse_args()
    env = prepare(args.pg, history_events=args.history_events)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench._app:make",
            "--workers",
            "2",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        port,
    )
    try:
        devices = [enroll(base, number) for number in range(DEVICES)]
        headers = [{"Authorization": f"Bearer {token}"} for _, token in devices]
        pulled = [
            measured(server, lambda: bench_get(f"{base}/v1/sync/pull", headers, clients=DEVICES, requests_each=25))
            for _ in range(ROUNDS)
        ]
        pull_rounds = [result for result, _ in pulled]
        pull_cpu = per([cost for _, cost in pulled], ROUNDS * DEVICES * 25)
        pulls, p99 = (statistics.median(r[i] for r in pull_rounds) for i in (0, 1))
        full_bytes = pull_rounds[0][2]
        cases = cases_by_worker(args.pg)
        phones = [(*devices[n], cases[f"bench-worker-{n}"]) for n in range(2)]
        pushed_rounds = [measured(server, lambda: bench_push(base, phones, args.batches)) for _ in range(ROUNDS)]
        push_rounds = [result for result, _ in pushed_rounds]
        push_cpu = per([cost for _, cost in pushed_rounds], ROUNDS * args.batches)
        print(
            f"rounds: push {[round(r) for r in push_rounds]} events/s, pull {[round(r[0]) for r in pull_rounds]} lists/s"
        )
        pushed = statistics.median(push_rounds)
    finally:
        server.terminate()
        server.wait()
    inserted = [measured(None, lambda: insert_ceiling(args.pg, args.batches)) for _ in range(ROUNDS)]
    ceiling_insert = statistics.median(result for result, _ in inserted)
    insert_cpu = per([cost for _, cost in inserted], ROUNDS * args.batches)

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "framework_app.py").write_text(FRAMEWORK_APP)
        fport = free_port()
        framework = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "framework_app:app",
                "--workers",
                "2",
                "--port",
                str(fport),
                "--log-level",
                "warning",
                "--no-access-log",
                "--app-dir",
                tmp,
            ],
            {**env, "BENCH_BODY_BYTES": str(full_bytes)},
            fport,
        )
        try:
            served = [
                measured(
                    framework,
                    lambda: bench_get(f"http://127.0.0.1:{fport}/body", [{}], clients=DEVICES, requests_each=50),
                )
                for _ in range(ROUNDS)
            ]
            framework_rounds = [result for result, _ in served]
            framework_cpu = per([cost for _, cost in served], ROUNDS * DEVICES * 50)
            ceiling_rate, ceiling_p99 = (statistics.median(r[i] for r in framework_rounds) for i in (0, 1))
        finally:
            framework.terminate()
            framework.wait()

    unchanged = _unchanged_pull_bytes(args.pg, env)
    print(f"(each figure the median of {ROUNDS} rounds; this machine is shared and its ceilings vary by a third)")
    print(
        f"push   {pushed:>8,.0f} events/s   raw insert ceiling {ceiling_insert:>8,.0f} rows/s   "
        f"ratio {pushed / ceiling_insert:.2f} (target ≥ 0.40)"
    )
    print(
        f"pull   {pulls:>8,.0f} lists/s    framework ceiling  {ceiling_rate:>8,.0f} req/s    "
        f"ratio {pulls / ceiling_rate:.2f} (target ≥ 0.25)"
    )
    print(f"pull   p99 {p99:.1f} ms at 16 devices (target ≤ 25 ms); framework p99 {ceiling_p99:.1f} ms")
    print(f"bytes  full 40-case pull {full_bytes:,} B; unchanged pull {unchanged:,} B (target < 1 KB)")
    print(
        "CPU per push of 100 events: service {:.1f} ms, PostgreSQL {:.1f} ms, load generator {:.1f} ms".format(
            *push_cpu
        )
    )
    print(
        "    per 100 ceiling rows:                    PostgreSQL {1:.1f} ms, load generator {2:.1f} ms".format(
            *insert_cpu
        )
    )
    print(
        "CPU per pull:               service {:.1f} ms, PostgreSQL {:.1f} ms, load generator {:.1f} ms".format(
            *pull_cpu
        )
    )
    print("    per bare framework request: service {0:.1f} ms, load generator {2:.1f} ms".format(*framework_cpu))


def cases_by_worker(url: str) -> dict[str, list[str]]:
    """Each bench worker's assigned case ids, by username, in one query."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    cases: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for username, case_id in connection.execute(
            sa.text("SELECT u.username, c.id FROM outreach_case c JOIN staff_user u ON u.id = c.assigned_worker_id")
        ):
            cases.setdefault(username, []).append(str(case_id))
    engine.dispose()
    return cases


def _unchanged_pull_bytes(url: str, env: dict[str, str]) -> int:
    port = free_port()
    server = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench._app:make",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        port,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _, token = enroll(base, 1)
        headers = {"Authorization": f"Bearer {token}"}
        first = httpx.get(f"{base}/v1/sync/pull", headers=headers)
        first.raise_for_status()
        # The cursor is inside the JWE; the device decrypts it. Here the server's own view serves:
        # an unchanged pull carries the same cursor, so ask twice and take the second.
        cursor = _cursor_from_db(url)
        second = httpx.get(f"{base}/v1/sync/pull", headers=headers, params={"cursor": cursor})
        return len(second.content)
    finally:
        server.terminate()
        server.wait()


def _cursor_from_db(url: str) -> str:
    import sqlalchemy as sa

    from sync.cursor import Cursor, encode_cursor

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        seq = connection.execute(sa.text("SELECT last_seq FROM tenant_sequence")).scalar_one()
    engine.dispose()
    return encode_cursor(Cursor(tenant="0363", seq=seq, generation=1))


if __name__ == "__main__":
    main()
