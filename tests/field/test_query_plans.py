"""Pull and push find their rows by index, however much history the municipality has (PostgreSQL's plans)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from api.field.pull import _VISIBLE
from api.field.push import _PUSH_READS
from tests.factories import make_municipality, make_user


@pytest.fixture
def tenant(session: Session, database_url: str) -> Iterator[Session]:
    """A municipality on PostgreSQL, whose rows the test writes in bulk and rolls back."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the query plan is PostgreSQL's")
    make_municipality(session)
    yield session
    session.rollback()


def _cases(session: Session, count: int, *, state: str, assigned: str, second: str, **workers: uuid.UUID) -> None:
    """`count` households with a case each, case n at md5('c' || n); `state`, `assigned` and `second`
    are SQL over n and the `workers` (passed as parameters)."""
    session.execute(
        sa.text(
            "INSERT INTO household (id, municipality_code, address_key, postcode, house_number, street, town, created_at)"
            " SELECT md5('h' || n)::uuid, '0363', '1055AB|' || n || '|', '1055AB', n, 'Bos en Lommerweg', 'Amsterdam',"
            " now() FROM generate_series(1, :count) AS n"
        ),
        {"count": count},
    )
    session.execute(
        sa.text(
            "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at,"
            " first_contact_due_date, assigned_worker_id, second_worker_id, version, change_seq)"
            f" SELECT md5('c' || n)::uuid, '0363', md5('h' || n)::uuid, {state}, 'single', false, now(), current_date + 28,"
            f" {assigned}, {second}, 1, n FROM generate_series(1, :count) AS n"
        ),
        {"count": count, **{name: str(worker) for name, worker in workers.items()}},
    )


def test_a_pull_does_not_read_every_case_of_the_municipality(tenant: Session) -> None:
    """The worker is the first or the second of a pair (`OR`): with an index on only one of the two
    columns PostgreSQL can use neither, and reads the whole case table on every pull."""
    worker = make_user(tenant, role="worker", username="worker1")
    other = make_user(tenant, role="worker", username="worker2")
    tenant.commit()
    # Years of cases of other workers, and a day's list of this one: first of 30, second of 10.
    _cases(
        tenant,
        20000,
        state="CASE WHEN n % 3 = 0 THEN 'planned' ELSE 'closed' END",
        assigned="CASE WHEN n <= 30 THEN CAST(:worker AS uuid) ELSE CAST(:other AS uuid) END",
        second="CASE WHEN n BETWEEN 31 AND 40 THEN CAST(:worker AS uuid) END",
        worker=worker.id,
        other=other.id,
    )
    tenant.execute(sa.text("ANALYZE household, outreach_case"))
    compiled = _VISIBLE.compile(dialect=postgresql.psycopg.dialect())
    parameters = compiled.construct_params({"code": "0363", "worker_id": worker.id})
    plan = "\n".join(row[0] for row in tenant.connection().exec_driver_sql("EXPLAIN " + str(compiled), parameters))
    assert "Seq Scan on outreach_case" not in plan, plan
    found = tenant.connection().exec_driver_sql(str(compiled), parameters).all()
    assert len(found) == 10 + 3  # the open ones among the 30 and the 10 (every third case is open)


def test_a_push_reads_the_state_events_of_its_cases_by_index_also_in_a_generic_plan(tenant: Session) -> None:
    """psycopg prepares a statement it runs often, and PostgreSQL then may plan it once for any
    values. The event kinds are written into the statement, so even that plan can use the index
    that holds only state events, instead of reading every event of the cases."""
    worker = make_user(tenant, role="worker", username="worker1")
    tenant.commit()
    _cases(tenant, 200, state="'planned'", assigned="CAST(:worker AS uuid)", second="NULL", worker=worker.id)
    # Months of visits on these cases: mostly cards and notes, which are no state events.
    tenant.execute(
        sa.text(
            "INSERT INTO visit_event (id, municipality_code, case_id, author_id, kind, occurred_at, received_at,"
            " base_version, payload, outcome, change_seq, clock_skew, body_hash)"
            " SELECT gen_random_uuid(), '0363', md5('c' || (n % 200 + 1))::uuid, CAST(:worker AS uuid),"
            " CASE WHEN n % 50 = 0 THEN 'visit_attempt' WHEN n % 2 = 0 THEN 'card_left' ELSE 'note' END,"
            " now(), now(), 1, '{}', 'applied', 0, false, '' FROM generate_series(1, 40000) AS n"
        ),
        {"worker": str(worker.id)},
    )
    tenant.execute(sa.text("ANALYZE outreach_case, visit_event"))
    _, _, read = _PUSH_READS[True]
    sql = str(read.compile(dialect=postgresql.psycopg.dialect()))
    sql = sql.replace("%(event_ids)s", "$1").replace("%(case_ids)s", "$2")
    connection = tenant.connection()
    connection.exec_driver_sql(f"PREPARE push_read (uuid[], uuid[]) AS {sql}")
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    plan = "\n".join(
        row[0]
        for row in connection.exec_driver_sql(
            "EXPLAIN EXECUTE push_read(ARRAY[gen_random_uuid()], ARRAY[md5('c1')::uuid, md5('c2')::uuid])"
        )
    )
    assert "ix_visit_event_state_by_case" in plan and "Seq Scan on visit_event" not in plan, plan
    found = connection.exec_driver_sql("EXECUTE push_read(ARRAY[gen_random_uuid()], ARRAY[md5('c51')::uuid])").all()
    assert found and {row.kind for row in found} == {"visit_attempt"}
    connection.exec_driver_sql("DEALLOCATE push_read")
