"""What tests of several areas share: small factories for test data (each writes and commits
what it makes), the keys and clock the app runs with, and the helpers that drive the API.

A helper used by one area lives in that area's helpers.py; no test module imports another."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.models import Case, Household, Municipality, PartnerClient, Signal, StaffUser
from api.municipality.policy import MunicipalitySettings
from api.platform.sequence import next_change_seq, start_sequence
from api.signals.bsn import BsnVault, generate_data_key
from sync.protocol import VisitList

PASSWORD = "correct horse battery staple"
SECRET = "partner-secret-for-tests-only"
# Cheap parameters keep the suite fast; verification reads them from the hash itself.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

BSN_KEYS = [generate_data_key("test1")]
BSN_HMAC_KEY = base64.b64encode(b"h" * 32).decode()
VAULT = BsnVault(BSN_KEYS, BSN_HMAC_KEY)  # the app's own, for tests that call a service directly


class FakeClock:
    """The app's clock in tests (the `clock` fixture): it stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def cli_env(database_url: str, var_dir: Path) -> dict[str, str]:
    """The environment the `doorstep` command needs to work on the test database with the tests' BSN keys."""
    return {
        "DOORSTEP_DATABASE_URL": database_url,
        "DOORSTEP_VAR_DIR": str(var_dir),
        "DOORSTEP_BSN_ENCRYPTION_KEYS": json.dumps([k.model_dump() for k in BSN_KEYS]),
        "DOORSTEP_BSN_HMAC_KEY": BSN_HMAC_KEY,
    }


def make_municipality(session: Session, code: str = "0363", name: str = "Amsterdam") -> Municipality:
    municipality = Municipality(
        code=code, name=name, settings=MunicipalitySettings().model_dump(mode="json"), created_at=NOW
    )
    session.add(municipality)
    session.flush()
    start_sequence(session, code)
    session.commit()
    return municipality


def make_user(
    session: Session,
    *,
    code: str = "0363",
    role: str = "backoffice",
    username: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> StaffUser:
    user = StaffUser(
        municipality_code=code,
        username=username or f"{role}-{uuid.uuid4().hex[:8]}",
        display_name=f"Test {role}",
        role=role,
        password_hash=_fast_hasher.hash(password),
        active=active,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(user)
    session.commit()
    return user


def amsterdam_and_rotterdam(session: Session) -> StaffUser:
    """Amsterdam with `worker1`, `office1` and `admin1`, and Rotterdam with `office-rdam` beside it
    (whose data must never show in Amsterdam's figures). Returns Amsterdam's worker."""
    make_municipality(session)
    make_municipality(session, "0599", "Rotterdam")
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, code="0599", role="backoffice", username="office-rdam")
    return worker


def make_partner(
    session: Session,
    *,
    code: str = "0363",
    client_id: str | None = None,
    scopes: tuple[str, ...] = ("cases:read",),
    secret: str = SECRET,
) -> PartnerClient:
    client = PartnerClient(
        municipality_code=code,
        client_id=client_id or f"partner-{uuid.uuid4().hex[:8]}",
        name="Test partner",
        secret_hash=_fast_hasher.hash(secret),
        scopes=list(scopes),
        active=True,
        created_at=NOW,
    )
    session.add(client)
    session.commit()
    return client


def make_case(
    session: Session,
    *,
    code: str = "0363",
    worker: StaffUser | None = None,
    surname: str = "Jansen",
    postcode: str = "1055AB",
    house_number: int = 12,
    bsn_digest: str | None = None,
) -> Case:
    household = Household(
        municipality_code=code,
        address_key=f"{postcode}|{house_number}|{uuid.uuid4().hex[:6]}",
        postcode=postcode,
        house_number=house_number,
        street="Bos en Lommerweg",
        town="Amsterdam",
        created_at=NOW,
    )
    session.add(household)
    session.flush()
    case = Case(
        municipality_code=code,
        household_id=household.id,
        classification="single",
        opened_at=NOW,
        first_contact_due_date=date(2026, 12, 24),
        assigned_worker_id=worker.id if worker else None,
        change_seq=next_change_seq(session, code),
    )
    session.add(case)
    session.flush()
    session.add(
        Signal(
            municipality_code=code,
            external_id=f"SIG-{uuid.uuid4().hex[:10]}",
            household_id=household.id,
            case_id=case.id,
            partner_type="Huur",
            creditor_name="Ymere",
            amount_cents=123456,
            signal_date=date(2026, 11, 20),
            received_at=NOW - timedelta(days=1),
            initials="J.",
            surname=surname,
            bsn_digest=bsn_digest,
            created_at=NOW,
        )
    )
    session.commit()
    return case


def add_agreement(
    client: TestClient,
    office: dict[str, str],
    partner_client_id: str,
    *,
    name: str = "Ymere",
    partner_type: str = "Huur",
) -> None:
    """The office records its agreement with creditor `name`, who delivers through the partner API as that client."""
    created = client.post(
        "/v1/creditor-agreements",
        headers=office,
        json={
            "name": name,
            "partner_type": partner_type,
            "agreement_date": "2025-01-01",
            "platform": "API",
            "partner_client_id": partner_client_id,
        },
    )
    assert created.status_code == 201, created.text


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def partner_login(client: TestClient, client_id: str, scope: str | None = None, secret: str = SECRET) -> dict[str, str]:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = client.post("/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def read(session: Session, statement) -> list:  # type: ignore[no-untyped-def]
    """Rows of a query, detached, with the read transaction ended: on SQLite an open
    transaction holds the write lock, and touching an expired row would open a new one."""
    # populate_existing: rows made earlier in this session must not hide what the API wrote since.
    rows = list(session.exec(statement.execution_options(populate_existing=True)).all())
    session.expunge_all()
    session.rollback()
    return rows


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (to show a read does not grow per row)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


# --- phones: keys, sealed visit lists, pulls and pushes --------------------------------------

PRIVATE = rsa.generate_private_key(65537, 2048)  # the phone of most tests
BSN_DIGEST = "d" * 64  # a stored BSN hash, never to reach a phone
OTHER = rsa.generate_private_key(65537, 2048)  # another phone
KEYS = [rsa.generate_private_key(65537, 2048) for _ in range(2)]  # two workers' phones on one case
WHEN = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # the test clock; 10:00 in Amsterdam: ochtend
_GENERATED: dict[int, rsa.RSAPrivateKey] = {}


def b64url(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def jwk_of(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The public JWK a phone enrolls with."""
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": b64url(numbers.n), "e": b64url(numbers.e)}


def public_jwk(bits: int = 2048, *, seed: int = 0) -> dict[str, str]:
    """A public JWK of a key made once per size and seed (key generation is slow)."""
    key = _GENERATED.get(bits * 100 + seed) or _GENERATED.setdefault(
        bits * 100 + seed, rsa.generate_private_key(65537, bits)
    )
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": b64url(numbers.n), "e": b64url(numbers.e), "alg": "RSA-OAEP-256", "use": "enc"}


def decrypt(token: str, key: rsa.RSAPrivateKey = PRIVATE) -> VisitList:
    """With jwcrypto, a JOSE library independent of the server's python-jose."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    envelope = jwcrypto_jwe.JWE()
    envelope.deserialize(token, key=jwcrypto_jwk.JWK.from_pem(pem))
    assert json.loads(envelope.objects["protected"])["alg"] == "RSA-OAEP-256"
    assert json.loads(envelope.objects["protected"])["enc"] == "A256GCM"
    return VisitList.model_validate_json(envelope.payload)


def pull(client: TestClient, headers: dict[str, str], **params):  # type: ignore[no-untyped-def]
    response = client.get("/v1/sync/pull", headers=headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/jose"
    return response


def event(case_id, kind: str, *, version: int = 2, when: datetime = WHEN, **payload):  # type: ignore[no-untyped-def]
    return {
        "event_id": str(uuid.uuid4()),
        "case_id": str(case_id),
        "kind": kind,
        "occurred_at": when.isoformat(),
        "base_version": version,
        "payload": payload,
    }


def push(client: TestClient, device: dict, events: list[dict]):  # type: ignore[no-untyped-def]
    response = client.post(
        "/v1/sync/push", headers=device["headers"], json={"device_id": device["id"], "events": events}
    )
    assert response.status_code == 200, response.text
    return [(r["result"], r["reason"]) for r in response.json()["results"]]


# --- platform files: a semicolon CSV as VPS exports it, and its upload -----------------------------

HEADER = "signaal_id;signaalpartner_type;schuldeiser;bedrag;ontstaansdatum;signaaldatum;crisissignaal;bsn;voorletters;achternaam;straat;huisnummer;huisnummertoevoeging;postcode;woonplaats"
BSN = "111222333"


def row(
    signal_id: str,
    *,
    partner: str = "Huur",
    creditor: str = "Ymere",
    amount: str = "1.234,56",
    since: str = "01-08-2026",
    day: str = "2026-11-03",
    crisis: str = "nee",
    bsn: str = "",
    surname: str = "Jansen",
    postcode: str = "1053 KL",
    number: str = "12",
    addition: str = "",
) -> str:
    return f"{signal_id};{partner};{creditor};{amount};{since};{day};{crisis};{bsn};J.;{surname};Kinkerstraat;{number};{addition};{postcode};Amsterdam"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(
    client: TestClient, headers: dict[str, str], content: bytes, *, name: str = "vps.csv", mode: str | None = None
):  # type: ignore[no-untyped-def]
    data = {"mode": mode} if mode else {}
    return client.post("/v1/signals/imports", headers=headers, files={"file": (name, content, "text/csv")}, data=data)


# --- the DDAS schema: VNG's Uitwisselmodel v1.2, copied into the repository --------------------

DDAS_SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "ddas" / "json_schema_Uitwisselmodel.v1.2.json"
DDAS_SCHEMA = json.loads(DDAS_SCHEMA_FILE.read_text(encoding="utf-8"))
DDAS_VALIDATOR = Draft202012Validator(DDAS_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- a history built through the API: the clock moved, files with the resident's details ---------

PERSONAL_HEADER = (
    "signaal_id;signaalpartner_type;schuldeiser;bedrag;ontstaansdatum;signaaldatum;bsn;voorletters;achternaam;"
    "geboortedatum;geslacht;telefoon;straat;huisnummer;huisnummertoevoeging;postcode;woonplaats"
)


def at(clock: FakeClock, *when: int) -> datetime:
    """Sets the test clock to datetime(*when) in UTC, and returns it."""
    clock.current = datetime(*when, tzinfo=UTC)  # type: ignore[misc]
    return clock.current


def upload_personal(client: TestClient, headers: dict[str, str], *rows: str) -> None:
    """Imports `rows` written under PERSONAL_HEADER (birth date, gender and phone); the import must complete."""
    response = upload(client, headers, csv_file(*rows, header=PERSONAL_HEADER))
    assert response.status_code == 201 and response.json()["status"] == "completed", response.text


def case_of(session: Session, external_id: str) -> uuid.UUID:
    """The case the signal `external_id` joined."""
    [signal] = read(session, select(Signal).where(Signal.external_id == external_id))
    assert signal.case_id is not None
    return signal.case_id


# --- Jansen, whose rights the residents' tests exercise, and de Vries, another household ---------

JANSEN = {
    "surname": "Jansen",
    "phone": "0612345678",
    "birth_date": "1980-05-17",
    "street": "Kinkerstraat",
    "email": "j.jansen@example.nl",
}
REASON = "Verzoek AVG-2026-017"  # why an admin searches for a resident


def jansen(signal_id: str, signal_date: str, *, creditor: str = "Ymere", partner: str = "Huur") -> str:
    """A signal of Jansen's, under PERSONAL_HEADER."""
    return (
        f"{signal_id};{partner};{creditor};1.234,56;2026-08-01;{signal_date};{BSN};J.;Jansen;1980-05-17;V;"
        f"{JANSEN['phone']};Kinkerstraat;12;;1053 KL;Amsterdam"
    )


def de_vries(signal_id: str, signal_date: str) -> str:
    """A signal of de Vries's, under PERSONAL_HEADER."""
    return f"{signal_id};Energie;Vattenfall;250;;{signal_date};;E.;de Vries;1971-01-02;;0698765432;Wittenburgergracht;3;A;1018 MZ;Amsterdam"


def search(client: TestClient, **criteria: object):  # type: ignore[no-untyped-def]
    """An admin's search for a resident, for REASON."""
    return client.post("/v1/residents/search", headers=login(client, "admin1"), json={"reason": REASON, **criteria})


# --- a period of work through the API: imports accepted, office actions, closings ----------------

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}  # the period of the `march` fixture


def upload_accepted(client: TestClient, headers: dict[str, str], content: bytes, *, name: str = "vps.csv") -> None:
    """Imports a signal file of which every row must be accepted."""
    response = upload(client, headers, content, name=name)
    assert response.status_code == 201 and response.json()["rejected"] == 0, response.text


def case_at(session: Session, postcode: str) -> Case:
    """The one case of the household at `postcode`."""
    [case] = read(
        session,
        select(Case)
        .join(Household, Household.id == Case.household_id)  # type: ignore[arg-type]
        .where(Household.postcode == postcode),
    )
    return case


def office_action(client: TestClient, headers: dict[str, str], case: Case, kind: str, when: datetime, **fields):  # type: ignore[no-untyped-def]
    body = {"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": when.isoformat(), **fields}
    response = client.post(f"/v1/cases/{case.id}/actions", headers=headers, json=body)
    assert response.status_code == 200, response.text


def close(client: TestClient, headers: dict[str, str], case: Case, result: str) -> None:
    response = client.post(f"/v1/cases/{case.id}/close", headers=headers, json={"result": result})
    assert response.status_code == 200, response.text
