"""Benchmark: flat with history. The same day's work at 10,000, 100,000 and 1,000,000 cases.

A municipality runs Doorstep for years; a national host runs hundreds of municipalities on one
database. For each size this builds a fresh PostgreSQL database server-side (`INSERT … SELECT
generate_series`, foreign-key triggers off, secondary indexes built after the load, then
`VACUUM ANALYZE` as autovacuum would have): the cases with their households, signals (1.3 a case),
visit events (6 a case), audit entries (3 a case) and trajectories, spread over 1, 50 and 342
municipalities. The benchmark municipality (0363) has the same day at every size: 16 workers with
40 planned cases each, and the same intake of about 417 cases a month; only its history is longer
(2 years at 10k, 4 at 100k, 8 at 1M) and the other tenants' rows around it grow.

Then one `doorstep serve` process answers, over loopback, one request at a time (`--repeat`
each, after a warm-up): a full and an incremental pull, a push of 20 events, two case lists with
filters, the dashboard, the monitor and the DDAS delivery for last month, two console screens;
and last a 10,000-row signal file import. Each operation's queries are also captured in-process
and their PostgreSQL plans (`EXPLAIN (FORMAT JSON)`) compared between sizes.

Targets (issue 19): each operation at 1M cases within 1.5x its 10k time; the import's rows/s at
1M at least 0.8x its 10k rate. Results are kept per size in docs/benchmarks/scale.json (a run
replaces the sizes it measured), and written as docs/benchmarks/scale.md and scale.png.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--repeat 20] [--pg-prefix scale_bench]

The databases `<prefix>_<size>` are wiped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import httpx  # noqa: E402

from bench.sync import CASES, DEVICES, HISTORY_CASES, enroll, free_port, prepare, start  # noqa: E402

PG_PREFIX = "postgresql+psycopg://postgres@127.0.0.1:5432/scale_bench"
OUT = ROOT / "docs" / "benchmarks"
MUNICIPALITIES = {10_000: 1, 100_000: 50, 1_000_000: 342}
MONTHLY_INTAKE = 10_000 / 24  # the benchmark municipality's new cases a month, at every size
BIG_TABLES = ("household", "outreach_case", "signal", "visit_event", "audit_entry")
EVENTS_PER_CASE, AUDITS_PER_CASE, SIGNALS_PER_CASE = 6, 3, 1.3
TARGET_RATIO, IMPORT_TARGET = 1.5, 0.8
IMPORT_ROWS = 10_000
PUSH_EVENTS = 20
PASSWORD = "bench-password"


def municipalities_for(cases: int) -> int:
    return MUNICIPALITIES.get(cases) or (1 if cases <= 10_000 else 50 if cases <= 100_000 else 342)


def own_cases(cases: int, municipalities: int) -> int:
    """The benchmark municipality's cases: all of them alone; among others, 10,000 at 10k total
    and twice as many for every tenfold (a longer history at the same monthly intake)."""
    if municipalities == 1:
        return cases
    return min(cases // 2, round(10_000 * 2 ** math.log10(max(cases, 10_000) / 10_000)))


# --- building a size ------------------------------------------------------------------------


def build(url: str, cases: int, municipalities: int) -> tuple[dict[str, str], dict[str, float]]:
    """A fresh database of `cases` cases; returns the service's environment and the build's timings."""
    import psycopg

    timings: dict[str, float] = {}
    started = time.perf_counter()
    env = prepare(url, history_events=0)  # 0363, its 16 workers × 40 planned cases, 5,000 closed ones
    timings["app objects"] = time.perf_counter() - started
    own = own_cases(cases, municipalities)
    own_history = max(0, own - DEVICES * CASES - HISTORY_CASES)
    others = max(0, cases - max(own, DEVICES * CASES + HISTORY_CASES))
    history = own_history + others
    own_days = max(60.0, own_history / (MONTHLY_INTAKE / 30.4))
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as db:
        _office(db)
        db.execute("SET session_replication_role = replica")  # bulk load: no foreign-key triggers
        db.execute("SET maintenance_work_mem = '512MB'")
        db.execute("SET synchronous_commit = off")
        settings = db.execute("SELECT settings::text FROM municipality WHERE code = '0363'").fetchone()[0]  # type: ignore[index]
        db.execute(
            "INSERT INTO municipality (code, name, settings, created_at)"
            " SELECT (1000 + k)::text, 'Gemeente ' || k, %(settings)s::json, now() - interval '8 years'"
            " FROM generate_series(1, %(n)s) AS k",
            {"settings": settings, "n": municipalities - 1},
        )
        db.execute(
            "INSERT INTO tenant_sequence (municipality_code, last_seq) SELECT code, 0 FROM municipality"
            " WHERE code <> '0363'"
        )
        db.execute(
            "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, active,"
            " created_at, updated_at) SELECT md5('w' || code)::uuid, code, 'worker-' || code, 'Worker', 'worker', 'x',"
            " true, now(), now() FROM municipality WHERE code <> '0363'"
        )
        workers = [
            row[0]
            for row in db.execute(
                "SELECT id FROM staff_user WHERE role = 'worker' AND municipality_code = '0363' ORDER BY username"
            )
        ]
        indexes = _drop_indexes(db)
        step = time.perf_counter()
        _history(db, history=history, own=own_history, own_days=own_days, others=municipalities - 1, workers=workers)
        timings["rows"] = time.perf_counter() - step
        step = time.perf_counter()
        for definition in indexes:
            db.execute(definition)
        timings["indexes"] = time.perf_counter() - step
        db.execute("SET session_replication_role = origin")
        step = time.perf_counter()
        db.execute("VACUUM (ANALYZE)")
        timings["vacuum analyze"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    return {**env, "DOORSTEP_CONSOLE_SECURE_COOKIE": "false"}, timings


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    database = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    admin.dispose()


def _office(db: Any) -> None:
    from argon2 import PasswordHasher

    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    db.execute(
        "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, active,"
        " created_at, updated_at) VALUES (%s, '0363', 'bench-office', 'Office', 'backoffice', %s, true, now(), now())",
        (uuid.uuid4(), hashed),
    )


def _drop_indexes(db: Any) -> list[str]:
    """The big tables' secondary indexes (not those behind a constraint), dropped: building them
    once after the load is several times faster than keeping them up row by row."""
    rows = db.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(BIG_TABLES),),
    ).fetchall()
    for name, _ in rows:
        db.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


# Row n of the history (1…history): the first `own` belong to 0363, the rest spread over the others.
_TENANT = "CASE WHEN n <= %(own)s THEN '0363' ELSE (1001 + n %% greatest(%(others)s, 1))::text END"
_OPENED = (
    "now() - interval '1 day' * CASE WHEN n <= %(own)s THEN %(own_days)s * n / greatest(%(own)s, 1)"
    " ELSE 730.0 * ((n * 7919) %% 100003) / 100003 END - interval '1 hour' * (n %% 9)"
)


def _history(db: Any, *, history: int, own: int, own_days: float, others: int, workers: list[uuid.UUID]) -> None:
    """Years of work as plain rows: most cases closed (those of the last five weeks still open), each
    with its household, 1–2 signals, 6 visit events, 3 audit entries, and a trajectory for one in 20."""
    from api.cases.rules import DDAS_RESULTS

    params: dict[str, Any] = {
        "history": history,
        "own": own,
        "own_days": own_days,
        "others": others,
        "workers": workers,
        "results": list(DDAS_RESULTS),
        "signals": int(history * SIGNALS_PER_CASE),
        "events": history * EVENTS_PER_CASE,
        "audits": history * AUDITS_PER_CASE,
    }
    worker = "CASE WHEN n <= %(own)s THEN (%(workers)s::uuid[])[1 + n %% 16] ELSE md5('w' || " + _TENANT + ")::uuid END"
    db.execute(
        "CREATE TEMP TABLE history AS SELECT n, "
        + _TENANT
        + " AS tenant, "
        + _OPENED
        + " AS opened_at, "
        + worker
        + " AS worker FROM generate_series(1::bigint, %(history)s) AS n",
        params,
    )
    db.execute("ALTER TABLE history ADD PRIMARY KEY (n)")
    db.execute(
        "INSERT INTO household (id, municipality_code, address_key, postcode, house_number, street, town, created_at)"
        " SELECT md5('sh' || n)::uuid, tenant, 'hist|' || n, (1000 + n % 9000)::text || 'KL', n % 300 + 1,"
        " 'Kinkerstraat', 'Stad', opened_at FROM history"
    )
    db.execute(
        "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at,"
        " first_contact_due_date, assigned_worker_id, result, closed_at, version, objection, change_seq)"
        " SELECT md5('sc' || n)::uuid, tenant, md5('sh' || n)::uuid,"
        " CASE WHEN opened_at < now() - interval '35 days' THEN 'closed'"
        "  ELSE (ARRAY['new', 'new', 'contacted', 'help_accepted'])[1 + n %% 4] END,"
        " (ARRAY['single', 'single', 'consecutive', 'multiple'])[1 + n %% 4], n %% 50 = 0, opened_at,"
        " (opened_at + interval '28 days')::date, CASE WHEN n %% 4 <> 0 THEN worker END,"
        " CASE WHEN opened_at < now() - interval '35 days' THEN"
        "  (%(results)s::text[])[1 + n %% cardinality(%(results)s::text[])] END,"
        " CASE WHEN opened_at < now() - interval '35 days' THEN opened_at + interval '1 day' * (20 + n %% 40) END,"
        " 5, false, 0 FROM history",
        params,
    )
    db.execute(
        "INSERT INTO signal (id, municipality_code, external_id, household_id, case_id, partner_type, creditor_name,"
        " amount_cents, arrears_since_date, signal_date, received_at, crisis, warm_handover, is_repeat, status,"
        " below_threshold, classification, bsn_digest, created_at)"
        " SELECT md5('ss' || s)::uuid, h.tenant, 'H-' || s, md5('sh' || h.n)::uuid, md5('sc' || h.n)::uuid,"
        " p.partner, p.creditor, 9000 + (s * 7717) %% 390000, (h.opened_at - interval '90 days')::date,"
        " h.opened_at::date, h.opened_at, s %% 50 = 0, false, s > %(history)s,"
        " CASE WHEN h.opened_at < now() - interval '35 days' THEN 'Opgepakt' ELSE 'Nog niet opgepakt' END,"
        " false, 'single', md5('bsn' || s) || md5('bsn2' || s), h.opened_at"
        " FROM generate_series(1::bigint, %(signals)s) AS s JOIN history h ON h.n = (s - 1) %% %(history)s + 1"
        " CROSS JOIN LATERAL (SELECT (ARRAY['Zorg', 'Zorg', 'Zorg', 'Zorg', 'Huur', 'Huur', 'Energie', 'Energie',"
        "  'Water', 'Water'])[1 + s %% 10] AS partner,"
        "  (ARRAY['VGZ', 'CZ', 'Menzis', 'Zilveren Kruis', 'Ymere', 'Rochdale', 'Eneco', 'Vattenfall', 'Waternet',"
        "  'Vitens'])[1 + s %% 10] AS creditor) p",
        params,
    )
    db.execute(
        "INSERT INTO visit_event (id, municipality_code, case_id, device_id, author_id, kind, occurred_at, received_at,"
        " base_version, payload, outcome, change_seq, clock_skew, body_hash)"
        " SELECT md5('se' || e)::uuid, h.tenant, md5('sc' || h.n)::uuid, NULL, h.worker,"
        " (ARRAY['visit_attempt', 'card_left', 'note', 'phone_attempt', 'letter_sent', 'card_left'])[1 + e %% 6],"
        " h.opened_at + interval '2 days' * (e / %(history)s + 1), h.opened_at + interval '2 days' * (e / %(history)s + 1),"
        " 1, '{\"reached\": false}', 'applied', 0, false, ''"
        " FROM generate_series(0::bigint, %(events)s - 1) AS e JOIN history h ON h.n = e %% %(history)s + 1",
        params,
    )
    db.execute(
        "INSERT INTO audit_entry (municipality_code, at, actor_type, actor_id, action, resource_type, resource_id,"
        " case_id, detail)"
        " SELECT h.tenant, h.opened_at + interval '1 day' * (a / %(history)s), 'staff', h.worker::text,"
        " (ARRAY['case.read', 'case.synced', 'case.action'])[1 + a %% 3], 'case', md5('sc' || h.n), md5('sc' || h.n)::uuid,"
        " '{}' FROM generate_series(0::bigint, %(audits)s - 1) AS a JOIN history h ON h.n = a %% %(history)s + 1",
        params,
    )
    db.execute(
        "INSERT INTO trajectory (id, municipality_code, case_id, decision_date, started_by, created_at)"
        " SELECT md5('st' || n)::uuid, tenant, md5('sc' || n)::uuid, (opened_at + interval '30 days')::date, worker,"
        " opened_at + interval '30 days' FROM history WHERE n % 20 = 0 AND opened_at < now() - interval '35 days'"
    )
    db.execute("DROP TABLE history")


# --- timing ---------------------------------------------------------------------------------


def _last_month(today: date) -> tuple[str, str]:
    first = today.replace(day=1)
    start = (first - timedelta(days=1)).replace(day=1)
    return start.isoformat(), (first - timedelta(days=1)).isoformat()


def _office_token(base: str) -> dict[str, str]:
    token = httpx.post(
        f"{base}/v1/auth/token", data={"grant_type": "password", "username": "bench-office", "password": PASSWORD}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _console(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    page = client.get("/console/inloggen")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, "no CSRF token on the sign-in page"
    signed = client.post(
        "/console/inloggen",
        data={"username": "bench-office", "password": PASSWORD, "csrf_token": csrf.group(1), "volgende": "/console"},
    )
    assert signed.status_code == 303, signed.text[:500]
    return client


def _cursor(url: str) -> str:
    import sqlalchemy as sa

    from sync.cursor import Cursor, encode_cursor

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        seq = connection.execute(
            sa.text("SELECT last_seq FROM tenant_sequence WHERE municipality_code = '0363'")
        ).scalar_one()
    engine.dispose()
    return encode_cursor(Cursor(tenant="0363", seq=seq, generation=1))


Operation = tuple[str, Callable[[], httpx.Response]]


def operations(base: str, url: str) -> tuple[list[Operation], httpx.Client, httpx.Client]:
    """The requests timed at every size, each as the user meets it."""
    start_day, end_day = _last_month(datetime.now(UTC).date())
    client = httpx.Client(base_url=base, timeout=120)
    office = _office_token(base)
    console = _console(base)
    _, puller = enroll(base, 0)
    pusher_id, pusher = enroll(base, 1)
    pull_headers = {"Authorization": f"Bearer {puller}"}
    client.get("/v1/sync/pull", headers=pull_headers).raise_for_status()
    cursor = _cursor(url)
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        case_ids = [
            str(row[0])
            for row in connection.execute(
                sa.text(
                    "SELECT c.id FROM outreach_case c JOIN staff_user u ON u.id = c.assigned_worker_id"
                    " WHERE u.username = 'bench-worker-1' AND c.state = 'planned'"
                )
            )
        ]
    engine.dispose()
    pushes = iter(range(1_000_000))

    def push() -> httpx.Response:
        n = next(pushes)
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "case_id": case_ids[(n * PUSH_EVENTS + i) % len(case_ids)],
                "kind": "card_left",
                "occurred_at": now,
                "base_version": 1,
                "payload": {},
            }
            for i in range(PUSH_EVENTS)
        ]
        return client.post(
            "/v1/sync/push",
            headers={"Authorization": f"Bearer {pusher}"},
            json={"device_id": pusher_id, "events": events},
        )

    month = {"from": start_day, "to": end_day}
    return (
        [
            ("pull, full (40 cases)", lambda: client.get("/v1/sync/pull", headers=pull_headers)),
            ("pull, incremental", lambda: client.get("/v1/sync/pull", headers=pull_headers, params={"cursor": cursor})),
            (f"push ({PUSH_EVENTS} events)", push),
            (
                "case list: open, due in 7 days",
                lambda: client.get("/v1/cases", headers=office, params={"open": "true", "dueWithinDays": 7}),
            ),
            (
                "case list: closed, rent",
                lambda: client.get("/v1/cases", headers=office, params={"state": "closed", "partnerType": "Huur"}),
            ),
            ("dashboard", lambda: client.get("/v1/dashboard", headers=office)),
            ("monitor, last month", lambda: client.get("/v1/reports/monitor", headers=office, params=month)),
            ("DDAS, last month", lambda: client.get("/v1/reports/ddas", headers=office, params=month)),
            ("console: Vandaag", lambda: console.get("/console")),
            ("console: Zaken", lambda: console.get("/console/zaken")),
        ],
        client,
        console,
    )


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def time_operations(
    built: list[tuple[int, str, dict[str, str]]], repeat: int, import_file: Path, import_rows: int = IMPORT_ROWS
) -> dict[int, dict[str, dict[str, float]]]:
    """Every size's own server, and each operation timed round-robin over the sizes: request n of
    an operation goes to each size in turn, so a neighbour's load on this shared machine falls on
    every size alike instead of on whichever size ran at that moment. Then each size's import."""
    servers, bases = [], []
    for _, _, env in built:
        port = free_port()
        servers.append(start([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env, port))
        bases.append(f"http://127.0.0.1:{port}")
    figures: dict[int, dict[str, dict[str, float]]] = {size: {} for size, _, _ in built}
    try:
        prepared = [operations(base, url) for base, (_, url, _) in zip(bases, built, strict=True)]
        for index, (name, _) in enumerate(prepared[0][0]):
            requests = [ops[index][1] for ops, _, _ in prepared]
            for request in requests:
                request().raise_for_status()  # warm-up
            samples: list[list[float]] = [[] for _ in built]
            for _ in range(repeat):
                for number, request in enumerate(requests):
                    started = time.perf_counter()
                    response = request()
                    samples[number].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
            line = []
            for (size, _, _), taken in zip(built, samples, strict=True):
                figures[size][name] = {"median": statistics.median(taken), "p95": quantile(taken, 0.95)}
                line.append(f"{_label(size)} {figures[size][name]['median']:7.1f} ms")
            print(f"    {name:<34} " + "  ".join(line), flush=True)
        for (size, _, _), base, (_, client, console) in zip(built, bases, prepared, strict=True):
            office = _office_token(base)
            with import_file.open("rb") as data:
                started = time.perf_counter()
                response = client.post(
                    "/v1/signals/imports",
                    headers=office,
                    files={"file": (import_file.name, data, "text/csv")},
                    timeout=600,
                )
                seconds = time.perf_counter() - started
            response.raise_for_status()
            report = response.json()
            assert report["status"] == "completed", report
            figures[size][f"import ({import_rows:,} rows)"] = {"rows_per_s": import_rows / seconds, "seconds": seconds}
            print(f"    import at {_label(size)}: {import_rows / seconds:,.0f} rows/s ({seconds:.1f} s)", flush=True)
            client.close()
            console.close()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    return figures


# --- query plans ----------------------------------------------------------------------------


def _shape(node: dict[str, Any]) -> list[str]:
    """A plan as its scans: node type and relation or index, depth first (joins and sorts aside,
    which follow from these)."""
    found = []
    kind = node["Node Type"]
    if "Scan" in kind:
        target = node.get("Index Name") or node.get("Relation Name") or node.get("Function Name") or ""
        found.append(f"{kind} {target}".strip())
    for child in node.get("Plans", []):
        found.extend(_shape(child))
    return found


def capture_plans(env: dict[str, str], url: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Each operation's reads, run once in-process with their statements recorded, then each again
    under EXPLAIN ANALYZE: {operation: {statement: {"scans": [scan, …], "ms": execution time}}}."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.platform.db import make_engine
    from api.settings import Settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings(var_dir=Path(tempfile.mkdtemp()))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    engine = make_engine(url)
    recorded: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and re.match(r"\s*(SELECT|WITH)\b", statement, re.IGNORECASE):
            recorded.append((statement, parameters))

    plans: dict[str, dict[str, dict[str, Any]]] = {}
    with TestClient(create_app(settings, engine=engine), base_url="http://127.0.0.1") as client:
        ops, http, console = operations_in_process(client, url)
        for name, request in ops:
            recorded.clear()
            request().raise_for_status()
            statements = list(recorded)
            plans[name] = {}
            with engine.connect() as connection:
                for statement, parameters in statements:
                    try:
                        rows = connection.exec_driver_sql(
                            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
                        ).scalar_one()
                    except Exception:  # noqa: BLE001 — a statement that needs its transaction's state
                        connection.rollback()
                        continue
                    plan = rows if isinstance(rows, list) else json.loads(rows)
                    plans[name][_normal(statement)] = {
                        "scans": _shape(plan[0]["Plan"]),
                        "ms": round(plan[0]["Execution Time"], 2),
                    }
                connection.rollback()
    engine.dispose()
    return plans


def operations_in_process(client: Any, url: str) -> tuple[list[Operation], Any, Any]:
    """`operations` against the in-process app (same requests, a TestClient for a server)."""
    original = httpx.Client, httpx.post
    try:
        _patch(client)
        return operations(str(client.base_url), url)
    finally:
        httpx.Client, httpx.post = original  # type: ignore[misc]


def _patch(client: Any) -> None:
    """Route the module-level httpx calls (ours and `bench.sync.enroll`'s) to the TestClient."""

    def post(target: str, **kwargs: Any) -> Any:
        return client.post(target.replace(str(client.base_url), ""), **kwargs)

    class Local:
        def __init__(self, base_url: str = "", timeout: float = 0, follow_redirects: bool = True) -> None:
            self.follow_redirects = follow_redirects

        def get(self, path: str, **kwargs: Any) -> Any:
            return client.get(path, follow_redirects=self.follow_redirects, **kwargs)

        def post(self, path: str, **kwargs: Any) -> Any:
            return client.post(path, follow_redirects=self.follow_redirects, **kwargs)

        def close(self) -> None:
            pass

    httpx.Client, httpx.post = Local, post  # type: ignore[assignment,misc]


def _normal(statement: str) -> str:
    return " ".join(statement.split())


def _big(scans: list[str]) -> list[str]:
    return [scan for scan in scans if any(table in scan for table in (*BIG_TABLES, "trajectory"))]


def plan_changes(plans: dict[int, dict[str, dict[str, dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The statements whose scans of the big tables differ between the smallest and the largest
    size, or that read a big table whole at the largest, with their execution times."""
    sizes = sorted(plans)
    if len(sizes) < 2:
        return []
    small, large = plans[sizes[0]], plans[sizes[-1]]
    changes = []
    for operation, statements in large.items():
        for statement, after in statements.items():
            before = small.get(operation, {}).get(statement)
            if before is None:
                continue
            a, b = _big(before["scans"]), _big(after["scans"])
            if a != b or any(scan.startswith("Seq Scan") for scan in b):
                changes.append(
                    {
                        "operation": operation,
                        "statement": statement,
                        "scans": {sizes[0]: a, sizes[-1]: b},
                        "ms": {size: plans[size].get(operation, {}).get(statement, {}).get("ms") for size in sizes},
                    }
                )
    return changes


# --- the report -----------------------------------------------------------------------------


def _label(cases: int) -> str:
    return f"{cases // 1_000_000}M" if cases >= 1_000_000 and cases % 1_000_000 == 0 else f"{cases // 1000}k"


def table(results: dict[str, Any]) -> list[str]:
    sizes = sorted(int(size) for size in results["sizes"])
    first, last = str(sizes[0]), str(sizes[-1])
    head = ["operation", *(_label(s) for s in sizes), f"ratio {_label(sizes[-1])}/{_label(sizes[0])}", "target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names = list(results["sizes"][first]["operations"])
    for name in names:
        cells = []
        for size in sizes:
            figure = results["sizes"][str(size)]["operations"].get(name)
            if figure is None:
                cells.append("–")
            elif "rows_per_s" in figure:
                cells.append(f"{figure['rows_per_s']:,.0f} rows/s")
            else:
                cells.append(f"{figure['median']:,.1f} ms (p95 {figure['p95']:,.1f})")
        a = results["sizes"][first]["operations"].get(name)
        b = results["sizes"][last]["operations"].get(name)
        if a is None or b is None or len(sizes) < 2:
            ratio, target, met = "–", "", ""
        elif "rows_per_s" in a:
            value = b["rows_per_s"] / a["rows_per_s"]
            ratio, target, met = f"{value:.2f}", f"≥ {IMPORT_TARGET}", "yes" if value >= IMPORT_TARGET else "**no**"
        else:
            value = b["median"] / a["median"]
            ratio, target, met = f"{value:.2f}", f"≤ {TARGET_RATIO}", "yes" if value <= TARGET_RATIO else "**no**"
        lines.append("| " + " | ".join([name, *cells, ratio, target, met]) + " |")
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(size) for size in results["sizes"])
    first = str(sizes[0])
    figure, axis = plt.subplots(figsize=(9, 5.5))
    colours = plt.get_cmap("tab20").colors
    for number, name in enumerate(results["sizes"][first]["operations"]):
        base = results["sizes"][first]["operations"][name]
        points = []
        for size in sizes:
            figure_ = results["sizes"][str(size)]["operations"].get(name)
            if figure_ is None:
                continue
            if "rows_per_s" in base:  # time per row, so that up is worse for every line
                points.append((size, base["rows_per_s"] / figure_["rows_per_s"]))
            else:
                points.append((size, figure_["median"] / base["median"]))
        importing = "rows_per_s" in base
        axis.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="s" if importing else "o",
            linestyle="--" if importing else "-",
            color=colours[(2 * number) % 20 + number // 10],
            label=f"{name}, time per row" if importing else name,
        )
    axis.axhline(TARGET_RATIO, color="red", linestyle="--", linewidth=1, label=f"target ≤ {TARGET_RATIO}×")
    axis.axhline(
        1 / IMPORT_TARGET, color="red", linestyle=":", linewidth=1, label=f"import target: rows/s ≥ {IMPORT_TARGET}×"
    )
    axis.set_xscale("log")
    axis.set_xticks(sizes, [_label(s) for s in sizes])
    axis.set_xlabel("cases in the database (log)")
    axis.set_ylabel(f"median time, relative to {_label(sizes[0])}")
    axis.set_title("Flat with history: each operation's time as the database grows")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(results: dict[str, Any], out: Path) -> None:
    sizes = sorted(int(size) for size in results["sizes"])
    lines = [
        "# Scale benchmark: flat with history",
        "",
        "Written by `bench/scale.py` (see docs/benchmarks.md, *Scale benchmark*). Each figure: the median (p95) of",
        f"{results.get('repeat', 20)} requests, one at a time, over loopback to one `doorstep serve` process; the import",
        f"once ({results.get('import_rows', IMPORT_ROWS):,} rows).",
        "",
        "| size | municipalities | benchmark municipality's cases | build |",
        "|---|---|---|---|",
    ]
    for size in sizes:
        entry = results["sizes"][str(size)]
        build = entry["build"]
        lines.append(
            f"| {size:,} cases | {entry['municipalities']} | {entry['own_cases']:,} | {build['total']:,.0f} s "
            f"(rows {build['rows']:,.0f} s, indexes {build['indexes']:,.0f} s, vacuum analyze {build['vacuum analyze']:,.0f} s) |"
        )
    lines += ["", *table(results), "", "![each operation relative to its smallest size](scale.png)", ""]
    changes = results.get("plan_changes", [])
    lines.append("## Plans that change with size")
    lines.append("")
    if not changes:
        lines.append("None: every captured read has the same scans at every size measured.")
    for change in changes:
        times = ", ".join(f"{_label(int(size))} {ms:,.1f} ms" for size, ms in change["ms"].items() if ms is not None)
        lines.append(f"- **{change['operation']}** ({times} in EXPLAIN ANALYZE): `{change['statement'][:240]}…`")
        for size, scans in change["scans"].items():
            lines.append(f"  - {_label(int(size))}: {', '.join(scans) or '(no scan of a big table)'}")
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="cases, comma-separated")
    parser.add_argument("--municipalities", help="per size, comma-separated (default 1, 50, 342)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg-prefix", default=PG_PREFIX, help="database URL without the _<size> suffix")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--keep", action="store_true", help="keep each size's database afterwards")
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument("--import-rows", type=int, default=IMPORT_ROWS, help="rows of the timed signal file")
    args = parser.parse_args()
    sizes = [int(value) for value in args.sizes.split(",") if value.strip()]
    counts = (
        [int(value) for value in args.municipalities.split(",")]
        if args.municipalities
        else [municipalities_for(size) for size in sizes]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "scale.json"
    results: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {"sizes": {}}
    results["repeat"] = args.repeat
    results["import_rows"] = args.import_rows
    plans: dict[int, Any] = {int(k): v for k, v in results.get("plans", {}).items()}
    from bench.import_signals import generate

    with tempfile.TemporaryDirectory() as tmp:
        import_file = Path(tmp) / "signals.csv"
        generate(import_file, args.import_rows, seed=19)
        built, timings = [], {}
        for size, municipalities in zip(sizes, counts, strict=True):
            url = f"{args.pg_prefix}_{size}"
            print(f"{size:,} cases over {municipalities} municipalities: building {url}", flush=True)
            env, timings[size] = build(url, size, municipalities)
            print("  built in " + ", ".join(f"{k} {v:,.1f} s" for k, v in timings[size].items()), flush=True)
            if not args.no_plans:
                plans[size] = capture_plans(env, url)
            built.append((size, url, env))
        print(f"timing, {args.repeat} requests per operation and size, round-robin over the sizes", flush=True)
        figures = time_operations(built, args.repeat, import_file, args.import_rows)
        for (size, url, _), municipalities in zip(built, counts, strict=True):
            results["sizes"][str(size)] = {
                "municipalities": municipalities,
                "own_cases": max(own_cases(size, municipalities), DEVICES * CASES + HISTORY_CASES),
                "build": timings[size],
                "operations": figures[size],
                "measured_at": datetime.now(UTC).isoformat(timespec="minutes"),
            }
            if not args.keep:
                drop_database(url)
    results["plans"] = {str(k): v for k, v in plans.items()}
    results["plan_changes"] = json.loads(json.dumps(plan_changes(plans)))  # sizes as strings, as stored
    store.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print()
    print("\n".join(table(results)))
    for change in results["plan_changes"]:
        print(
            f"plan of a big table changes with size: {change['operation']}: {change['statement'][:120]} {change['ms']}"
        )
    write_report(results, args.out / "scale.md")
    try:
        chart(results, args.out / "scale.png")
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no chart", file=sys.stderr)


if __name__ == "__main__":
    main()
