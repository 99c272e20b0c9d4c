"""The dashboard, the case list, the monitor and the DDAS delivery read what they report on, not
the municipality's years of history (PostgreSQL's plans; `bench/scale.py` found each of these
reading every row of the tenant at 100,000 cases).

Each test runs the area's own code with its statements recorded, then runs every recorded read
again under `EXPLAIN ANALYZE` and counts the rows its scans of the big tables touched (returned,
filtered out or rechecked, over all loops). A municipality with 6,000 closed cases of past years
and 40 open ones, beside a second municipality as large, must cost each read far fewer rows than
the history holds.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg.sql
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api.auth.principal import Principal
from api.backoffice.service import dashboard
from api.cases.service import CaseFilter, list_cases
from api.reports.ddas.document import Period
from api.reports.ddas.service import write_ddas_delivery
from api.reports.monitor.service import monitor
from tests.factories import make_municipality, make_user

HISTORY = 6_000  # closed cases of past years, per municipality
OPEN = 40
BIG = ("outreach_case", "signal", "visit_event", "household")
NOW = datetime.now(UTC)
TODAY = NOW.date()


@pytest.fixture
def history(session: Session, database_url: str) -> Iterator[Session]:
    """Two municipalities with years of closed cases (a signal and two events each); 0363 also has
    `OPEN` open cases of this month. Rolled back afterwards."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the query plan is PostgreSQL's")
    make_municipality(session)
    make_municipality(session, code="0599", name="Rotterdam")
    worker = make_user(session, role="worker", username="worker1")
    other = make_user(session, code="0599", role="worker", username="worker2")
    session.commit()
    for code, author in (("0363", worker.id), ("0599", other.id)):
        rows = {"code": code, "history": HISTORY, "open": OPEN if code == "0363" else 0, "author": str(author)}
        session.execute(
            sa.text(
                "INSERT INTO household (id, municipality_code, address_key, postcode, house_number, created_at)"
                " SELECT md5(CAST(:code AS text) || 'h' || n)::uuid, CAST(:code AS text), 'x|' || n, '1055AB', n, now()"
                " FROM generate_series(1, :history + :open) AS n"
            ),
            rows,
        )
        # Case n opened n/8 days ago (the open ones: this month), closed 30 days after it opened.
        session.execute(
            sa.text(
                "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis,"
                " opened_at, first_contact_due_date, result, closed_at, version, change_seq)"
                " SELECT md5(CAST(:code AS text) || 'c' || n)::uuid, CAST(:code AS text), md5(CAST(:code AS text) || 'h' || n)::uuid,"
                " CASE WHEN n > :history THEN 'new' ELSE 'closed' END, 'single', false, opened,"
                " (opened + interval '28 days')::date, CASE WHEN n <= :history THEN 'Inwoner is overleden' END,"
                " CASE WHEN n <= :history THEN opened + interval '30 days' END, 1, 0"
                " FROM generate_series(1, :history + :open) AS n,"
                " LATERAL (SELECT CASE WHEN n > :history THEN now() - interval '1 day' * (n - :history) / 4"
                "  ELSE now() - interval '40 days' - interval '3 hours' * n END AS opened) AS o"
            ),
            rows,
        )
        session.execute(
            sa.text(
                "INSERT INTO signal (id, municipality_code, external_id, household_id, case_id, partner_type,"
                " signal_date, received_at, crisis, warm_handover, is_repeat, status, below_threshold, created_at)"
                " SELECT md5(CAST(:code AS text) || 's' || c.id)::uuid, CAST(:code AS text), 'S' || c.id, c.household_id, c.id, 'Huur',"
                " c.opened_at::date, c.opened_at, false, false, false, 'Opgepakt', false, c.opened_at"
                " FROM outreach_case c WHERE c.municipality_code = CAST(:code AS text)"
            ),
            rows,
        )
        session.execute(
            sa.text(
                "INSERT INTO visit_event (id, municipality_code, case_id, author_id, kind, occurred_at, received_at,"
                " base_version, payload, outcome, change_seq, clock_skew, body_hash)"
                " SELECT gen_random_uuid(), CAST(:code AS text), c.id, CAST(:author AS uuid), k.kind,"
                " c.opened_at + interval '2 days', c.opened_at + interval '2 days', 1, '{\"reached\": false}',"
                " 'applied', 0, false, '' FROM outreach_case c"
                " CROSS JOIN (VALUES ('visit_attempt'), ('card_left'), ('help_accepted')) AS k (kind)"
                " WHERE c.municipality_code = CAST(:code AS text) AND c.state = 'closed'"
            ),
            rows,
        )
    session.execute(sa.text("ANALYZE household, outreach_case, signal, visit_event"))
    yield session
    session.rollback()


def _touched(plan: dict[str, Any]) -> int:
    """Rows that the plan's scans of the big tables returned or threw away, over all their loops."""
    total = 0
    if "Scan" in plan["Node Type"] and (plan.get("Relation Name") in BIG or _on_big_table(plan.get("Index Name"))):
        seen = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        seen += plan.get("Rows Removed by Index Recheck", 0)
        total += seen * plan.get("Actual Loops", 1)
    return total + sum(_touched(child) for child in plan.get("Plans", []))


def _on_big_table(index: str | None) -> bool:
    return index is not None and any(index.startswith(f"ix_{table}_") for table in BIG)


def _reads(session: Session, work: Callable[[], object], *, generic: bool = True) -> list[tuple[int, str]]:
    """Run `work`, then each SELECT it sent again under EXPLAIN ANALYZE: (rows touched, statement).

    `generic`: each is prepared and run with PostgreSQL's generic plan, as it is once psycopg has
    prepared a statement it runs often: a plan that needs the values to find its index does not
    pass. Otherwise planned with its values, as a statement that runs now and then is."""
    recorded: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and re.match(r"\s*(SELECT|WITH)\b", statement):
            recorded.append((statement, parameters))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    connection = session.connection()
    raw = connection.connection.driver_connection
    connection.exec_driver_sql(f"SET LOCAL plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    found = []
    for number, (statement, parameters) in enumerate(recorded):
        if not generic:
            plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
            found.append((_touched(plan[0]["Plan"]), " ".join(statement.split())))
            continue
        prepared, names = _numbered(statement)
        connection.exec_driver_sql(f"PREPARE history_read_{number} AS {prepared}".replace("%", "%%"))
        values = ", ".join(psycopg.sql.Literal(parameters[name]).as_string(raw) for name in names)
        execute = f"EXECUTE history_read_{number}" + (f"({values})" if values else "")
        plan = connection.exec_driver_sql(("EXPLAIN (ANALYZE, FORMAT JSON) " + execute).replace("%", "%%")).scalar_one()
        connection.exec_driver_sql(f"DEALLOCATE history_read_{number}")
        found.append((_touched(plan[0]["Plan"]), " ".join(statement.split())))
    return found


def _numbered(statement: str) -> tuple[str, list[str]]:
    """psycopg's `%(name)s` placeholders as PREPARE's `$1`, `$2`…, and the names in that order."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    numbered = re.sub(r"%\((\w+)\)s", lambda match: f"${names.index(match.group(1)) + 1}", statement)
    return numbered.replace("%%", "%"), names


def _within(reads: list[tuple[int, str]], limit: int = HISTORY // 10) -> None:
    assert reads, "no reads recorded"
    heavy = [(rows, statement) for rows, statement in reads if rows > limit]
    assert not heavy, heavy


# The dashboard's attempts and reach by channel: on the open cases, not every attempt ever made
# (docs/decisions.md; docs/benchmarks.md, *Scale benchmark*).
ATTEMPTS = "SELECT visit_event.kind, count(*)"


def test_the_dashboard_reads_the_open_cases_not_the_closed_history(history: Session) -> None:
    reads = _reads(history, lambda: dashboard(history, municipality_code="0363", now=NOW))
    assert any(statement.startswith(ATTEMPTS) for _, statement in reads)
    _within(reads)


def test_the_list_of_open_cases_due_this_week_reads_the_open_cases_only(history: Session) -> None:
    office = Principal(kind="staff", actor_id="x", municipality_code="0363", role="backoffice", user_id=uuid.uuid4())

    def work() -> None:
        listed = list_cases(
            history, office, filters=CaseFilter(open=True, due_within_days=30), today=TODAY, after=None, limit=50
        )
        assert len(listed) == OPEN

    _within(_reads(history, work))


def test_the_monitor_of_a_month_reads_that_month(history: Session) -> None:
    start = TODAY - timedelta(days=30)
    _within(_reads(history, lambda: monitor(history, municipality_code="0363", start=start, end=TODAY, now=NOW)))


def test_the_ddas_delivery_of_a_month_reads_that_month(history: Session) -> None:
    """Planned with its values: a delivery is made once a month, its statements are never prepared."""
    out = io.BytesIO()
    period = Period(start=date(TODAY.year, TODAY.month, 1) - timedelta(days=10), end=TODAY)
    reads = _reads(
        history, lambda: write_ddas_delivery(history, municipality_code="0363", period=period, now=NOW, out=out)
    )
    assert out.getvalue()
    # Only the period's signals are held to it. The cases active in the period (opened before its end,
    # not closed before its start) and the signal ids and attempts that follow them are read in the
    # cases' order; on this small table PostgreSQL walks the tenant's cases by opening time for that
    # order, through every earlier case (docs/benchmarks.md, *Scale benchmark*: at 1M cases these
    # reads took 63-67 ms each, and the delivery stayed within its target).
    signals = [(rows, statement) for rows, statement in reads if statement.startswith("SELECT signal.external_id")]
    assert len(signals) == 1
    _within(signals)
