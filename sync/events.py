"""Field events and their reconciliation: pure rules shared by server and clients.

Events are facts: a visit attempt or a card left is never dropped. The state they imply
for a case is a fold over the *set* of events (ordered by when they happened, then by id),
so it is the same whatever order they arrive in. A conflict is only a disagreement about
case state; it keeps both sides for the back office to decide.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

EventKind = Literal[
    "visit_attempt",
    "card_left",
    "phone_attempt",
    "sms_sent",
    "appointment_kept",
    "help_offered",
    "help_accepted",
    "help_declined",
    "note",
    "result_proposed",
]
MAX_CLOCK_AHEAD = timedelta(minutes=10)
# The moments the server can place an event at: in UTC, in Dutch time and a day either side of
# both. Outside them (`9999-12-31T23:30Z` is the year 10000 in Amsterdam) an event is rejected;
# inside them a far-off device clock is kept and flagged (`clock_skewed`), never trusted.
EARLIEST_PLACEABLE = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_PLACEABLE = datetime(9999, 1, 1, tzinfo=UTC)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # A NUL or half a surrogate pair cannot be stored as text (PostgreSQL refuses both): the
        # event is rejected on its own instead of failing the batch it came in.
        if isinstance(value, str) and _UNSTORABLE.search(value):
            raise ValueError("contains a NUL character or an unpaired surrogate")
        return value


class Reached(_Payload):
    reached: bool
    note: str | None = Field(default=None, max_length=2000)


class Nothing(_Payload):
    note: str | None = Field(default=None, max_length=2000)


class Declined(_Payload):
    reason: str = Field(min_length=1, max_length=500)


class NoteText(_Payload):
    text: str = Field(min_length=1, max_length=2000)


class ProposedResult(_Payload):
    result: str = Field(min_length=1, max_length=120)


class Kept(_Payload):
    """An appointment kept (at the office, a library, a community centre): the resident came."""

    location: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


PAYLOADS: dict[str, type[_Payload]] = {
    "visit_attempt": Reached,
    "phone_attempt": Reached,
    "sms_sent": Reached,
    "appointment_kept": Kept,
    "card_left": Nothing,
    "help_offered": Nothing,
    "help_accepted": Nothing,
    "help_declined": Declined,
    "note": NoteText,
    "result_proposed": ProposedResult,
}


class PushEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID = Field(description="Generated on the device; a replay with the same id changes nothing.")
    case_id: uuid.UUID
    kind: EventKind
    occurred_at: AwareDatetime = Field(description="Device clock, with its UTC offset.")
    base_version: int = Field(ge=0, le=2**31, description="The case version the device last saw.")
    payload: dict[str, Any] = Field(default_factory=dict)


class PushBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: uuid.UUID
    events: list[PushEvent] = Field(max_length=500)
    unsent: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Events left in the outbox after this batch."
    )


class EventResult(BaseModel):
    event_id: uuid.UUID
    result: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None
    case_version: int | None = None


class PushResult(BaseModel):
    results: list[EventResult]
    server_time: datetime


def check_payload(kind: str, payload: dict[str, Any], *, results: Sequence[str]) -> dict[str, Any]:
    """The payload as stored, or ValueError with a reason safe to show."""
    try:
        model = PAYLOADS[kind].model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"payload {'.'.join(map(str, first['loc'])) or kind}: {first['msg']}") from None
    if isinstance(model, ProposedResult) and model.result not in results:
        raise ValueError("payload result: not one of the 16 DDAS results")
    stored = model.model_dump(exclude_none=True)
    if isinstance(model, Kept):
        stored["reached"] = True  # the resident came: the fold and the reports read `reached`
    return stored


def placed(occurred_at: datetime) -> datetime:
    """`occurred_at` in UTC, or ValueError with a reason safe to show when the server cannot place it."""
    try:
        moment = occurred_at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 lies before the first day the calendar has
        moment = None
    if moment is None or not EARLIEST_PLACEABLE <= moment < LATEST_PLACEABLE:
        raise ValueError(
            f"occurred_at must lie between {EARLIEST_PLACEABLE.year} and {LATEST_PLACEABLE.year - 1}; "
            "check the device's clock"
        )
    return moment


def clock_skewed(occurred_at: datetime, *, received_at: datetime, case_opened_at: datetime) -> bool:
    """A device clock far ahead, or an event before the case existed: kept, but flagged."""
    return occurred_at > received_at + MAX_CLOCK_AHEAD or occurred_at < case_opened_at - MAX_CLOCK_AHEAD


@dataclass(frozen=True)
class Fact:
    """A stored event, as the rules see it."""

    event_id: uuid.UUID
    kind: str
    occurred_at: datetime
    author: str  # device id, or the office user for office actions
    base_version: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class OfficeChange:
    """A back-office change the device may not have seen: closing or reassigning at `version`."""

    kind: Literal["closed", "reassigned"]
    version: int


@dataclass(frozen=True)
class Disagreement:
    kind: str
    event_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Reconciled:
    reached: bool
    help: Literal["accepted", "declined"] | None
    proposed_result: str | None
    conflicts: tuple[Disagreement, ...]


OUTCOME_KINDS = {"help_accepted", "help_declined", "result_proposed"}


def reconcile(
    facts: Sequence[Fact],
    *,
    office_changes: Sequence[OfficeChange] = (),
    resolved: frozenset[frozenset[uuid.UUID]] = frozenset(),
) -> Reconciled:
    """What the events say about the case, and where they disagree.

    - `help_accepted` and `help_declined` from different authors disagree;
    - two different proposed results disagree;
    - an outcome recorded on a base version older than an office change (closed or
      reassigned after the device last synced) disagrees with the office.
    Disagreements whose event set the back office resolved are not raised again.
    """
    ordered = sorted(facts, key=lambda f: (f.occurred_at, str(f.event_id)))
    conflicts: list[Disagreement] = []
    accepted = [f for f in ordered if f.kind == "help_accepted"]
    declined = [f for f in ordered if f.kind == "help_declined"]
    for a in accepted:
        for d in declined:
            if a.author != d.author:
                conflicts.append(
                    Disagreement("accepted-and-declined", tuple(sorted((a.event_id, d.event_id), key=str)))
                )
    proposals = [f for f in ordered if f.kind == "result_proposed"]
    for index, first in enumerate(proposals):
        for second in proposals[index + 1 :]:
            if first.payload.get("result") != second.payload.get("result"):
                conflicts.append(
                    Disagreement("different-results", tuple(sorted((first.event_id, second.event_id), key=str)))
                )
    for change in office_changes:
        for fact in ordered:
            if fact.kind in OUTCOME_KINDS and fact.base_version < change.version:
                conflicts.append(Disagreement(f"outcome-after-{change.kind}", (fact.event_id,)))
    open_conflicts = tuple(c for c in dict.fromkeys(conflicts) if frozenset(c.event_ids) not in resolved)
    help_facts = [f for f in ordered if f.kind in ("help_accepted", "help_declined")]
    help_state = None
    if help_facts:
        help_state = "accepted" if help_facts[-1].kind == "help_accepted" else "declined"
    return Reconciled(
        reached=any(f.payload.get("reached") for f in ordered) or bool(help_facts),
        help=help_state,  # type: ignore[arg-type]
        proposed_result=proposals[-1].payload.get("result") if proposals else None,
        conflicts=open_conflicts,
    )
