"""Use cases of authentication: grants, refresh-token rotation, logout, staff administration."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from api.audit.service import record
from api.auth import throttle
from api.auth.keys import KeyRing
from api.auth.passwords import hash_secret, verify_secret
from api.auth.principal import PARTNER_SCOPES, Principal
from api.auth.tokens import issue_access_token
from api.models import Device, PartnerClient, RefreshToken, StaffUser
from api.platform.problems import Conflict, NotFound, ProblemError, Unauthorized
from api.settings import Settings


class InvalidGrant(ProblemError):
    """OAuth2 `invalid_grant` / `invalid_scope`: 400, as RFC 6749 section 5.2 has it."""

    status, slug, title = 400, "invalid-grant", "Grant not accepted"


class InvalidClient(Unauthorized):
    slug, title = "invalid-client", "Client authentication failed"


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str | None
    scope: str | None


def hash_token(token: str) -> str:
    """How a bearer secret is stored (refresh tokens, console sessions): its SHA-256, never itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def _access_for_user(
    settings: Settings, keys: KeyRing, user: StaffUser, now: datetime, *, device_id: uuid.UUID | None = None
) -> str:
    """A staff token, or with `device_id` a device-bound one (what pull and push require)."""
    extra: dict[str, str] = {"role": user.role}
    if device_id is not None:
        extra["did"] = str(device_id)
    return issue_access_token(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject=str(user.id),
        tenant=user.municipality_code,
        token_type="device" if device_id else "staff",
        now=now,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        extra=extra,
    )


def _new_refresh(
    session: Session,
    user: StaffUser,
    *,
    family_id: uuid.UUID,
    now: datetime,
    expires_at: datetime,
    device_id: uuid.UUID | None = None,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            municipality_code=user.municipality_code,
            user_id=user.id,
            device_id=device_id,
            family_id=family_id,
            token_hash=hash_token(token),
            issued_at=now,
            expires_at=expires_at,
        )
    )
    return token


def device_tokens(
    session: Session, *, settings: Settings, keys: KeyRing, user: StaffUser, device_id: uuid.UUID, now: datetime
) -> IssuedTokens:
    """A device-bound token pair: on enrolment, and when the worker signs the device in again
    after its session ended (`device_session_ttl_seconds` after the previous pair)."""
    refresh = _new_refresh(
        session,
        user,
        family_id=uuid.uuid4(),
        now=now,
        device_id=device_id,
        expires_at=now + timedelta(seconds=settings.device_session_ttl_seconds),
    )
    return IssuedTokens(
        _access_for_user(settings, keys, user, now, device_id=device_id),
        settings.access_token_ttl_seconds,
        refresh,
        None,
    )


class DeviceRevoked(Unauthorized):
    slug, title = "device-revoked", "This device was revoked"

    def __init__(self) -> None:
        super().__init__("This device was revoked: delete its local data and keys.", wipe=True)


SIGN_IN_REFUSED = (
    "Unknown username, wrong password or inactive account. (A username used in more than one municipality "
    "signs in with its gemeentecode: 0363/username.)"
)


def find_account(session: Session, login: str) -> StaffUser | None:
    """The account a sign-in names: `0363/j.jansen`, or `j.jansen` when only one municipality has it.

    Usernames are unique per municipality (one municipality must not learn another's from a
    refusal), so a name alone may be ambiguous: then it names no account, like an unknown one."""
    code, slash, name = login.partition("/")
    if slash:
        return session.exec(
            select(StaffUser).where(StaffUser.municipality_code == code, StaffUser.username == name)
        ).first()
    found = session.exec(select(StaffUser).where(StaffUser.username == login).limit(2)).all()
    return found[0] if len(found) == 1 else None


def sign_in(
    session: Session,
    *,
    settings: Settings,
    login: str,
    password: str,
    address: str | None,
    now: datetime,
    allowed: Callable[[StaffUser], bool] = lambda user: True,
) -> StaffUser:
    """The active staff member with these credentials, for the token endpoint and the console.

    Throttled (`api.auth.throttle`): an attempt its account or address must wait for is refused
    with 429 before the password is looked at, the same for names that exist and names that
    don't; a failure counts, and the one that locks an account is written to its audit trail.
    The check takes the same time whether or not the name exists."""
    found = throttle.gates(settings, kind="account", name=login, address=address)
    throttle.hold(session, found, now=now)
    user = find_account(session, login)
    matches = verify_secret(user.password_hash if user else None, password)
    if not matches or user is None or not user.active or not allowed(user):
        if throttle.failed(session, found, now=now) and user is not None:
            record(
                session,
                Principal(kind="system", actor_id="sign-in", municipality_code=user.municipality_code),
                action="auth.account-locked",
                resource_type="staff_user",
                resource_id=user.id,
                at=now,
                detail={"failures": settings.login_failures_before_lock},
            )
        raise InvalidGrant(SIGN_IN_REFUSED, error="invalid_grant", commit_changes=True)
    throttle.succeeded(session, found)
    return user


def password_grant(
    session: Session,
    *,
    settings: Settings,
    keys: KeyRing,
    username: str,
    password: str,
    address: str | None,
    now: datetime,
) -> IssuedTokens:
    user = sign_in(session, settings=settings, login=username, password=password, address=address, now=now)
    refresh = _new_refresh(
        session,
        user,
        family_id=uuid.uuid4(),
        now=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return IssuedTokens(_access_for_user(settings, keys, user, now), settings.access_token_ttl_seconds, refresh, None)


def client_credentials_grant(
    session: Session,
    *,
    settings: Settings,
    keys: KeyRing,
    client_id: str,
    client_secret: str,
    requested_scope: str | None,
    address: str | None,
    now: datetime,
) -> IssuedTokens:
    found = throttle.gates(settings, kind="client", name=client_id, address=address)
    throttle.hold(session, found, now=now)
    client = session.exec(select(PartnerClient).where(PartnerClient.client_id == client_id)).first()
    if not verify_secret(client.secret_hash if client else None, client_secret) or client is None or not client.active:
        if throttle.failed(session, found, now=now) and client is not None:
            record(
                session,
                Principal(kind="system", actor_id="sign-in", municipality_code=client.municipality_code),
                action="auth.client-locked",
                resource_type="partner_client",
                resource_id=client.id,
                at=now,
                detail={"failures": settings.login_failures_before_lock},
            )
        raise InvalidClient("Unknown client or wrong secret.", error="invalid_client", commit_changes=True)
    throttle.succeeded(session, found)
    requested = set(requested_scope.split()) if requested_scope else set(client.scopes)
    if not requested <= set(client.scopes):
        raise InvalidGrant(
            "The client may not request these scopes.",
            slug="invalid-scope",
            error="invalid_scope",
            allowed=sorted(client.scopes),
        )
    scope = " ".join(sorted(requested))
    token = issue_access_token(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject=client.client_id,
        tenant=client.municipality_code,
        token_type="partner",
        now=now,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        extra={"scope": scope},
    )
    return IssuedTokens(token, settings.access_token_ttl_seconds, None, scope)


def refresh_grant(
    session: Session, *, settings: Settings, keys: KeyRing, refresh_token: str, now: datetime
) -> IssuedTokens:
    """Rotate: the presented token is used up and a new one issued in the same family.
    Presenting a used token again means it leaked, so the whole family is revoked.

    The successor keeps the family's end: a session lasts from the sign-in for the refresh
    lifetime however often it rotates (a stolen token that keeps rotating dies with it)."""
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token)).with_for_update()
    ).first()
    if stored is not None and stored.device_id is not None:
        device = session.get(Device, stored.device_id)
        if device is None or device.revoked_at is not None:
            raise DeviceRevoked()
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidGrant("The refresh token is not valid.", error="invalid_grant")
    if stored.used_at is not None:
        _revoke_family(session, stored.family_id, now)
        raise InvalidGrant(
            "The refresh token was already used; the session is ended.", error="invalid_grant", commit_changes=True
        )
    user = session.get(StaffUser, stored.user_id)
    if user is None or not user.active:
        raise InvalidGrant("This account is no longer active.", error="invalid_grant")
    stored.used_at = now
    new_refresh = _new_refresh(
        session, user, family_id=stored.family_id, now=now, expires_at=stored.expires_at, device_id=stored.device_id
    )
    access = _access_for_user(settings, keys, user, now, device_id=stored.device_id)
    return IssuedTokens(access, settings.access_token_ttl_seconds, new_refresh, None)


def _revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> None:
    for token in session.exec(select(RefreshToken).where(RefreshToken.family_id == family_id)):
        if token.revoked_at is None:
            token.revoked_at = now


def logout(session: Session, principal: Principal, *, refresh_token: str | None, now: datetime) -> int:
    """Revoke the session of `refresh_token`, or every refresh token of the caller when none is given."""
    # A device logs out itself only; a staff session leaves the worker's devices alone.
    same_device = (
        RefreshToken.device_id == principal.device_id if principal.device_id else col(RefreshToken.device_id).is_(None)
    )
    query = select(RefreshToken).where(
        RefreshToken.user_id == principal.user_id, col(RefreshToken.revoked_at).is_(None), same_device
    )
    if refresh_token is not None:
        stored = session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token))).first()
        if stored is None or stored.user_id != principal.user_id:
            raise NotFound("No such session for this account.")
        query = query.where(RefreshToken.family_id == stored.family_id)
    revoked = 0
    for token in session.exec(query):
        token.revoked_at = now
        revoked += 1
    return revoked


# --- staff administration -------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    municipality_code: str,
    username: str,
    display_name: str,
    role: str,
    password: str,
    now: datetime,
) -> StaffUser:
    taken = select(StaffUser.id).where(StaffUser.municipality_code == municipality_code, StaffUser.username == username)
    if session.exec(taken).first() is not None:
        raise Conflict("This username is taken in your municipality.", slug="username-taken")
    user = StaffUser(
        municipality_code=municipality_code,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_secret(password),
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: StaffUser,
    *,
    display_name: str | None,
    role: str | None,
    active: bool | None,
    password: str | None,
    now: datetime,
) -> StaffUser:
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role
    if password is not None:
        user.password_hash = hash_secret(password)
    if active is not None:
        user.active = active
    if active is False or password is not None:
        # Deactivation and a new password end every session: refresh tokens are revoked here,
        # access tokens issued before this moment are refused by the auth dependency.
        user.credentials_changed_at = now
        for token in session.exec(
            select(RefreshToken).where(RefreshToken.user_id == user.id, col(RefreshToken.revoked_at).is_(None))
        ):
            token.revoked_at = now
    user.updated_at = now
    session.add(user)
    session.flush()
    return user


def create_partner(
    session: Session,
    *,
    municipality_code: str,
    client_id: str,
    name: str,
    secret: str,
    scopes: list[str],
    now: datetime,
) -> PartnerClient:
    unknown = set(scopes) - set(PARTNER_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    if session.exec(select(PartnerClient.id).where(PartnerClient.client_id == client_id)).first() is not None:
        raise Conflict("This client id is taken.", slug="client-id-taken")
    client = PartnerClient(
        municipality_code=municipality_code,
        client_id=client_id,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        active=True,
        created_at=now,
    )
    session.add(client)
    session.flush()
    return client
