"""All database tables, in one place so areas never import each other for a foreign key.

Every tenant-owned row carries `municipality_code` (the CBS gemeentecode); queries are
scoped by it. Wire schemas live in each area's schemas.py and never inherit from these.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel

# The event kinds that can change a case's state (`api.cases.rules.STATE_KINDS`; a test keeps the
# two equal): written out, because the tables import nothing from an area.
STATE_KINDS_SQL = (
    "kind IN ('appointment_kept', 'help_accepted', 'help_declined', 'help_offered', 'phone_attempt', "
    "'result_proposed', 'sms_sent', 'visit_attempt')"
)

# An open case (`cases.rules`: every state but closed), as the partial index of open cases holds them.
OPEN_SQL = "state <> 'closed'"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=UTCDateTime, nullable=nullable, index=index)


def _tenant(*, index: bool = True) -> Any:
    """The owning municipality. `index=False` where a table indexes it together with a time instead
    (`municipality_code, …`): that index serves every lookup by tenant alone as well."""
    return Field(foreign_key="municipality.code", index=index, max_length=4)


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


# --- tenants and people -------------------------------------------------------------------


class Municipality(SQLModel, table=True):
    """A tenant. `settings` holds its outreach policy and legal settings (validated on write)."""

    code: str = Field(primary_key=True, max_length=4)
    name: str = Field(max_length=200)
    settings: dict[str, Any] = _json()
    created_at: datetime = _at()


class StaffUser(SQLModel, table=True):
    """A staff account. Usernames are unique within a municipality, not across the service: one
    municipality's admin must not learn another's usernames from a refusal."""

    __tablename__ = "staff_user"
    __table_args__ = (
        sa.CheckConstraint("role IN ('worker', 'backoffice', 'admin')", name="ck_staff_user_role"),
        sa.UniqueConstraint("municipality_code", "username", name="uq_staff_user_username"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    username: str = Field(max_length=64, index=True)  # a sign-in without the gemeentecode looks it up alone
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True)
    credentials_changed_at: datetime | None = _at(nullable=True)  # tokens issued before it are refused
    created_at: datetime = _at()
    updated_at: datetime = _at()


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins in a row for one account name, partner client or client address.

    Not tenant data: a failed sign-in may name no municipality (an unknown username counts like a
    known one). In the database, not in a replica's memory, so guesses spread over replicas meet
    one count. The key is hashed: people type passwords into the username field.
    """

    __tablename__ = "login_throttle"

    key_hash: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = _at(nullable=True, index=True)
    locked_until: datetime | None = _at(nullable=True)


class PartnerClient(SQLModel, table=True):
    """An integration partner (case system, creditor platform) using client credentials."""

    __tablename__ = "partner_client"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    client_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    secret_hash: str = Field(max_length=255)
    scopes: list[str] = _json(list)
    active: bool = Field(default=True)
    created_at: datetime = _at()


class Device(SQLModel, table=True):
    """A worker's phone, enrolled with its public key; visit lists are encrypted to it."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    worker_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    label: str = Field(max_length=100)
    public_jwk: dict[str, Any] = _json()
    key_thumbprint: str = Field(max_length=64)
    enrolled_at: datetime = _at()
    revoked_at: datetime | None = _at(nullable=True)
    revoked_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    last_pull_at: datetime | None = _at(nullable=True)
    last_push_at: datetime | None = _at(nullable=True)
    last_push_event_count: int | None = Field(default=None)
    unsent_events_reported: int | None = Field(default=None)


class DeviceHolding(SQLModel, table=True):
    """Which case versions a device holds after its last pull: the base for `removed` and checksums."""

    __tablename__ = "device_holding"

    device_id: uuid.UUID = Field(foreign_key="device.id", primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="outreach_case.id", primary_key=True)
    municipality_code: str = _tenant()
    version: int


class RefreshToken(SQLModel, table=True):
    """A server-side refresh token (only its hash is stored); revoking it ends the session."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="device.id", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime = _at()
    expires_at: datetime = _at()
    used_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)


class ConsoleSession(SQLModel, table=True):
    """A signed-in back-office browser: the cookie holds a random token, this row its hash.

    Server-side so logout, the idle timeout, a password change and deactivation end it at once.
    """

    __tablename__ = "console_session"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    user_id: uuid.UUID = Field(foreign_key="staff_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _at()
    last_seen_at: datetime = _at()
    expires_at: datetime = _at()
    flash: str | None = Field(default=None, max_length=500)


# --- signals and cases --------------------------------------------------------------------


class Household(SQLModel, table=True):
    """One address; signals on the same address in a period form one case."""

    __table_args__ = (sa.UniqueConstraint("municipality_code", "address_key", name="uq_household_address"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    address_key: str = Field(max_length=80)  # "1234AB|12|A", or "bsn:<digest>" when the platform sent no address
    postcode: str | None = Field(default=None, max_length=6)
    house_number: int | None = None
    house_number_addition: str | None = Field(default=None, max_length=10)
    street: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    created_at: datetime = _at()


class Case(SQLModel, table=True):
    """A vroegsignaalzaak: the outreach to one household, with its 28-day deadline."""

    __tablename__ = "outreach_case"
    __table_args__ = (
        sa.CheckConstraint(
            "state IN ('new', 'planned', 'contacted', 'help_accepted', 'trajectory', 'closed')",
            name="ck_outreach_case_state",
        ),
        # A municipality's cases by when they opened and closed (the monitor's and DDAS's periods), and
        # its open cases by deadline (the dashboard, the case list, the console's Vandaag): years of
        # closed history stay out of what these read (`bench/scale.py`, `tests/test_history_plans.py`).
        sa.Index("ix_outreach_case_tenant_opened", "municipality_code", "opened_at"),
        sa.Index("ix_outreach_case_tenant_closed", "municipality_code", "closed_at"),
        sa.Index(
            "ix_outreach_case_open_by_due",
            "municipality_code",
            "first_contact_due_date",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant(index=False)
    household_id: uuid.UUID = Field(foreign_key="household.id", index=True)
    state: str = Field(default="new", max_length=16, index=True)
    classification: str = Field(max_length=16)
    crisis: bool = Field(default=False)
    opened_at: datetime = _at()
    first_contact_due_date: date = Field(index=True)
    assigned_worker_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    second_worker_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    result: str | None = Field(default=None, max_length=120)
    closed_at: datetime | None = _at(nullable=True)
    purged_at: datetime | None = _at(nullable=True)
    version: int = Field(default=1)
    # Opened by a signal about a household or person under objection (AVG art. 21, `erased_subject`
    # with ground `objection`): shown to the office and left out of automatic planning until it
    # decides (assigns or closes the case).
    objection: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Not indexed: nothing looks cases up by it (a pull compares it for the cases it reads anyway), and
    # without an index a push that changes no state can update its cases in place (a HOT update).
    change_seq: int = Field(default=0, sa_type=sa.BigInteger)


class Signal(SQLModel, table=True):
    """A vroegsignaal as the platform delivered it. The BSN is stored only encrypted."""

    __table_args__ = (
        sa.UniqueConstraint("municipality_code", "external_id", name="uq_signal_external_id"),
        # A municipality's signals by arrival (the monitor's and DDAS's periods); also its index by tenant.
        sa.Index("ix_signal_tenant_received", "municipality_code", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant(index=False)
    external_id: str = Field(max_length=100)
    household_id: uuid.UUID = Field(foreign_key="household.id", index=True)
    case_id: uuid.UUID | None = Field(default=None, foreign_key="outreach_case.id", index=True)
    import_id: uuid.UUID | None = Field(default=None, index=True)
    partner_type: str = Field(max_length=40)
    creditor_name: str | None = Field(default=None, max_length=200)
    amount_cents: int | None = Field(default=None, sa_type=sa.BigInteger)
    arrears_since_date: date | None = None
    signal_date: date
    received_at: datetime = _at()
    crisis: bool = Field(default=False)
    warm_handover: bool = Field(default=False)
    is_repeat: bool = Field(default=False)
    status: str = Field(default="Nog niet opgepakt", max_length=60, index=True)  # DDAS EnumSignaalstatus, from its case
    # Below the municipality's threshold for its partner type when it came in (`signals.rules.below_threshold`),
    # and why. Not indexed: it is only ever read with the signals of a case (through `case_id`), and
    # every index on this table costs the import time.
    below_threshold: bool = Field(default=False)
    below_threshold_reason: str | None = Field(default=None, max_length=40)
    # When `status` last changed; None: not since the signal was received.
    status_changed_at: datetime | None = _at(nullable=True)
    classification: str | None = Field(default=None, max_length=16)
    bsn_ciphertext: str | None = Field(default=None, max_length=200)  # "v1.<key id>.<nonce+ciphertext>"
    bsn_digest: str | None = Field(default=None, max_length=64, index=True)
    initials: str | None = Field(default=None, max_length=20)
    prefix: str | None = Field(default=None, max_length=20)
    surname: str | None = Field(default=None, max_length=200)
    birth_date: date | None = None
    gender: str | None = Field(default=None, max_length=10)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    created_at: datetime = _at()


class VisitEvent(SQLModel, table=True):
    """An append-only fact from the field or the office; `id` is the client's event_id."""

    __tablename__ = "visit_event"
    # A push reads the state events of the cases it touches, never their cards and notes: this
    # index holds exactly those, so the read costs the same however many cards a case gathers
    # (and a generic plan of the prepared statement still uses it: the kinds are in its text).
    __table_args__ = (
        sa.Index(
            "ix_visit_event_state_by_case",
            "case_id",
            postgresql_where=sa.text(STATE_KINDS_SQL),
            sqlite_where=sa.text(STATE_KINDS_SQL),
        ),
        # A municipality's events by when they happened (attempts and reach in a period: the dashboard,
        # the monitor); also its index by tenant.
        sa.Index("ix_visit_event_tenant_occurred", "municipality_code", "occurred_at"),
    )

    id: uuid.UUID = Field(primary_key=True)
    municipality_code: str = _tenant(index=False)
    case_id: uuid.UUID = Field(foreign_key="outreach_case.id", index=True)
    device_id: uuid.UUID | None = Field(default=None, foreign_key="device.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="staff_user.id")
    kind: str = Field(max_length=40)
    occurred_at: datetime = _at()
    received_at: datetime = _at()
    base_version: int
    payload: dict[str, Any] = _json()
    outcome: str = Field(max_length=16)
    change_seq: int = Field(sa_type=sa.BigInteger)
    clock_skew: bool = Field(default=False)
    body_hash: str = Field(default="", max_length=64)  # a replay must carry the very same body


class Conflict(SQLModel, table=True):
    """A disagreement about case state, kept with both sides until the back office resolves it."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    case_id: uuid.UUID = Field(foreign_key="outreach_case.id", index=True)
    kind: str = Field(max_length=40)
    sides: list[dict[str, Any]] = _json(list)
    opened_at: datetime = _at()
    resolved_at: datetime | None = _at(nullable=True)
    resolved_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    resolution: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class CreditorAgreement(SQLModel, table=True):
    """A signal partner the municipality has a signed agreement with."""

    __tablename__ = "creditor_agreement"
    __table_args__ = (sa.UniqueConstraint("municipality_code", "name", "partner_type", name="uq_creditor_agreement"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    name: str = Field(max_length=200)
    partner_type: str = Field(max_length=40)
    agreement_date: date
    platform: str = Field(max_length=20)
    partner_client_id: uuid.UUID | None = Field(default=None, foreign_key="partner_client.id", index=True)
    created_at: datetime = _at()


class SignalImport(SQLModel, table=True):
    """One delivery (a file or an API batch) and its stored report."""

    __tablename__ = "signal_import"
    __table_args__ = (sa.CheckConstraint("status IN ('completed', 'rejected')", name="ck_signal_import_status"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    source: str = Field(max_length=16)  # file | api
    filename: str | None = Field(default=None, max_length=255)
    file_format: str | None = Field(default=None, max_length=16)
    file_sha256: str | None = Field(default=None, max_length=64, index=True)
    mode: str = Field(max_length=16)
    status: str = Field(max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = _at()
    total_rows: int = 0
    created_count: int = 0
    duplicate_count: int = 0
    repeat_count: int = 0
    rejected_count: int = 0
    report: dict[str, Any] = _json()


class QuarantinedRow(SQLModel, table=True):
    """An invalid row kept (accept-valid mode) for the back office to correct; personal data, purged with retention."""

    __tablename__ = "quarantined_row"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    import_id: uuid.UUID = Field(foreign_key="signal_import.id", index=True)
    line: int
    raw: dict[str, Any] = _json()
    errors: list[dict[str, Any]] = _json(list)


# --- trajectory and BKR -------------------------------------------------------------------


class Trajectory(SQLModel, table=True):
    """A debt-relief trajectory, started by a municipal decision (beschikking)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    case_id: uuid.UUID = Field(foreign_key="outreach_case.id", unique=True)
    decision_date: date
    end_date: date | None = None
    outcome: str | None = Field(default=None, max_length=40)  # completed | terminated | other, once ended
    started_by: uuid.UUID = Field(foreign_key="staff_user.id")
    ended_by: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _at()


class BkrRegistration(SQLModel, table=True):
    """Outbox row for BKR (contract type SH): written in the transaction that starts or ends a
    trajectory, delivered by the outbox worker with its idempotency key, so exactly once."""

    __tablename__ = "bkr_registration"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="ck_bkr_registration_status"),
        sa.CheckConstraint("action IN ('register', 'end', 'remove', 'correct')", name="ck_bkr_registration_action"),
        # One registration, end and removal per trajectory; corrections as often as the resident's data is corrected.
        sa.Index(
            "uq_bkr_registration_trajectory_action",
            "trajectory_id",
            "action",
            unique=True,
            postgresql_where=sa.text("action <> 'correct'"),
            sqlite_where=sa.text("action <> 'correct'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    trajectory_id: uuid.UUID = Field(foreign_key="trajectory.id", index=True)
    action: str = Field(max_length=16)  # register | end | remove | correct
    contract_type: str = Field(default="SH", max_length=4)
    start_date: date
    end_date: date | None = None
    removal_date: date | None = None
    subject: dict[str, Any] = _json()  # the resident as BKR identifies them (register, correct); never the BSN
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _at(index=True)
    claimed_until: datetime | None = _at(nullable=True)  # a worker's lease while it sends
    claim_token: uuid.UUID | None = None  # which claim may record the outcome
    idempotency_key: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    bkr_reference: str | None = Field(default=None, max_length=64)  # BKR's id of the registration
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = _at(nullable=True)
    created_at: datetime = _at()


class BkrAttempt(SQLModel, table=True):
    """One delivery attempt. Written before sending (outcome `sending`) and completed after,
    so an attempt whose worker died in between still shows."""

    __tablename__ = "bkr_attempt"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    registration_id: uuid.UUID = Field(foreign_key="bkr_registration.id", index=True)
    number: int
    started_at: datetime = _at()
    finished_at: datetime | None = _at(nullable=True)
    outcome: str = Field(default="sending", max_length=16)  # sending | delivered | retry | rejected
    http_status: int | None = None
    error: str | None = Field(default=None, max_length=500)


# --- audit and sync bookkeeping -----------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """Who read or wrote which personal data, when. Append-only; holds no personal data itself, with
    one exception: a correction (AVG art. 16) keeps the old values here and nowhere else, and an
    erasure of the person strips them (`cases.retention.erase`)."""

    __tablename__ = "audit_entry"
    # The dashboard asks when retention last ran. The trail grows by a row per case per pull, so
    # that question gets an index of its own holding only the runs (nothing for a pull to update).
    __table_args__ = (
        sa.Index(
            "ix_audit_entry_retention_runs",
            "municipality_code",
            "at",
            postgresql_where=sa.text("action = 'retention.run'"),
            sqlite_where=sa.text("action = 'retention.run'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    municipality_code: str = _tenant()
    at: datetime = _at(index=True)
    actor_type: str = Field(max_length=16)
    actor_id: str = Field(max_length=64, index=True)
    action: str = Field(max_length=64)
    resource_type: str = Field(max_length=40)
    resource_id: str | None = Field(default=None, max_length=64)
    case_id: uuid.UUID | None = Field(default=None, index=True)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = _json()


class ResidentRequest(SQLModel, table=True):
    """A resident's request under the AVG (access, correction, objection, erasure) as the admin
    found them: the signals, cases and households that concern them, fixed at the search, and
    the reason the admin gave. Ids only: the criteria themselves are not kept."""

    __tablename__ = "resident_request"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    criterion: str = Field(max_length=16)  # bsn | name | address
    reason: str = Field(max_length=500)
    signal_ids: list[str] = _json(list)
    case_ids: list[str] = _json(list)
    household_ids: list[str] = _json(list)
    created_by: str = Field(max_length=64)
    created_at: datetime = _at()
    # The erasure this request led to, if any: its ground and the reason the admin gave.
    erasure_ground: str | None = Field(default=None, max_length=16)  # objection | erasure
    erasure_reason: str | None = Field(default=None, max_length=500)
    erased_at: datetime | None = _at(nullable=True)


class ErasedSubject(SQLModel, table=True):
    """What stays of a person once their data is erased (by retention or on request): keyed
    hashes of their BSN, name with birth date, and address, so a later search can say "held
    until, then erased" and an objection is honoured, never anything readable."""

    __tablename__ = "erased_subject"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    municipality_code: str = _tenant()
    kind: str = Field(max_length=8)  # bsn | name | address
    digest: str = Field(max_length=64, index=True)
    signal_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    ground: str = Field(max_length=16)  # retention | erasure | objection
    erased_at: datetime = _at()


class TenantSequence(SQLModel, table=True):
    """The per-tenant, monotonically increasing change counter behind sync cursors."""

    __tablename__ = "tenant_sequence"

    municipality_code: str = Field(primary_key=True, foreign_key="municipality.code", max_length=4)
    last_seq: int = Field(default=0, sa_type=sa.BigInteger)
