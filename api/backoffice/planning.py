"""Planning a day's visits: which cases need a visit, in deadline and walking order, split per worker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.cases.rules import CaseState, next_action
from api.cases.service import attempts_by_case
from api.models import Municipality, StaffUser
from api.municipality.policy import settings_of
from api.platform import tables
from api.platform.problems import Unprocessable
from api.reports.facts import objection_pending

PLAN_BATCH = 500  # cases read at a time, by deadline


@dataclass(frozen=True)
class PlannedVisit:
    case_id: uuid.UUID
    first_contact_due_date: date
    postcode: str | None
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    day_part: str
    attempt_number: int


@dataclass(frozen=True)
class WorkerList:
    worker_id: uuid.UUID
    visits: list[PlannedVisit]


def walking_order(visit: PlannedVisit) -> tuple[str, str, int, str]:
    return (visit.postcode or "", visit.street or "", visit.house_number or 0, visit.house_number_addition or "")


def split_by_walking_order(visits: list[PlannedVisit], workers: list[uuid.UUID], per_worker: int) -> list[WorkerList]:
    """The most urgent visits, then each worker gets a contiguous stretch of streets. Pure."""
    chosen = sorted(visits, key=lambda v: (v.first_contact_due_date, *walking_order(v)))[: per_worker * len(workers)]
    route = sorted(chosen, key=walking_order)
    size = -(-len(route) // len(workers)) if workers else 0
    return [WorkerList(worker, route[i * size : (i + 1) * size]) for i, worker in enumerate(workers)]


def propose(
    session: Session, *, municipality_code: str, worker_ids: list[uuid.UUID] | None, per_worker: int
) -> list[WorkerList]:
    municipality = session.get(Municipality, municipality_code)
    settings = settings_of(municipality)
    workers = session.exec(
        select(StaffUser)
        .where(StaffUser.municipality_code == municipality_code, StaffUser.role == "worker", StaffUser.active)
        .order_by(col(StaffUser.username))
    ).all()
    if worker_ids is not None:
        known = {w.id for w in workers}
        if not set(worker_ids) <= known:
            raise Unprocessable("Plans are made for active outreach workers of your municipality.", slug="not-a-worker")
        chosen_workers = list(worker_ids)
    else:
        chosen_workers = [w.id for w in workers]
    needed = per_worker * len(chosen_workers)
    cs, hh = tables.case.c, tables.household.c
    rows = session.execute(
        sa.select(
            cs.id,
            cs.first_contact_due_date,
            cs.classification,
            cs.crisis,
            hh.postcode,
            hh.street,
            hh.house_number,
            hh.house_number_addition,
        )
        .join(tables.household, hh.id == cs.household_id)
        .where(
            cs.municipality_code == municipality_code,
            cs.purged_at.is_(None),
            cs.state.in_([CaseState.NEW.value, CaseState.PLANNED.value, CaseState.CONTACTED.value]),
            # A household that objected is not visited on a plan: the office decides first.
            ~objection_pending(cs),
        )
        .order_by(cs.first_contact_due_date, cs.id)
        .execution_options(yield_per=PLAN_BATCH)
    )
    rotation = settings.policy.day_part_rotation
    visits: list[PlannedVisit] = []
    # The lists take the most urgent visits first, so reading by deadline can stop once there are
    # enough visits and the next case is due later than the last one taken (equal deadlines are
    # ordered by walking order, so all of them must be seen): a municipality has thousands of open
    # cases and a day's lists hold a few dozen.
    for batch in rows.partitions():
        history = attempts_by_case(session, [row.id for row in batch])
        for row in batch:
            plan = settings.policy.plan_for(classification=row.classification, crisis=row.crisis)
            planned = next_action(
                channels=list(plan.channels),
                max_attempts=plan.max_attempts,
                change_day_part=plan.change_day_part,
                after_last_attempt=plan.after_last_attempt,
                attempts=history[row.id],
            )
            if planned is None or planned.channel != "visit":
                continue
            day_part = next((part for part in rotation if part not in planned.avoid_day_parts), rotation[0])
            visits.append(
                PlannedVisit(
                    row.id,
                    row.first_contact_due_date,
                    row.postcode,
                    row.street,
                    row.house_number,
                    row.house_number_addition,
                    day_part,
                    planned.attempt_number,
                )
            )
        if needed and len(visits) >= needed:
            cutoff = sorted(visit.first_contact_due_date for visit in visits)[needed - 1]
            if batch[-1].first_contact_due_date > cutoff:
                break
    rows.close()
    return split_by_walking_order(visits, chosen_workers, per_worker)
