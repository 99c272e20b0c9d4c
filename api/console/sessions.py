"""Console sign-in: a random token in an HttpOnly, SameSite=Strict cookie, its hash in `console_session`.

A server-side row (not a signed cookie) because signing out, the idle timeout, a password
change and deactivation must end a session at once, and each session carries its CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from api.auth.principal import Principal
from api.auth.service import hash_token
from api.models import ConsoleSession, StaffUser
from api.settings import Settings

COOKIE = "doorstep_console"
CONSOLE_ROLES = frozenset({"backoffice", "admin"})
# Writing `last_seen_at` on every request would turn each page view into a write; a minute
# of slack on a 30-minute idle timeout is harmless.
TOUCH_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    row: ConsoleSession
    user: StaffUser
    principal: Principal


def principal_of(user: StaffUser) -> Principal:
    return Principal.staff(user.id, user.municipality_code, user.role)


def sign_in(session: Session, *, user: StaffUser, settings: Settings, now: datetime) -> str:
    """A new session for `user`; returns the cookie value (only its hash is stored)."""
    session.exec(
        delete(ConsoleSession).where(col(ConsoleSession.user_id) == user.id, col(ConsoleSession.expires_at) <= now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            municipality_code=user.municipality_code,
            user_id=user.id,
            token_hash=hash_token(token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    return token


def signed_in(session: Session, token: str | None, *, settings: Settings, now: datetime) -> SignedIn | None:
    """The live session behind a cookie, touched; None when it is unknown, idle too long, expired,
    or its account was deactivated, lost the back-office role or changed its password since."""
    if not token or len(token) > 100:
        return None
    row = session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token))).first()
    if (
        row is None
        or now >= row.expires_at
        or now - row.last_seen_at >= timedelta(minutes=settings.console_idle_minutes)
    ):
        return None
    user = session.get(StaffUser, row.user_id)
    if (
        user is None
        or not user.active
        or user.municipality_code != row.municipality_code
        or user.role not in CONSOLE_ROLES
        or (user.credentials_changed_at is not None and user.credentials_changed_at > row.created_at)
    ):
        return None
    if now - row.last_seen_at >= TOUCH_AFTER:
        row.last_seen_at = now
        session.add(row)
    return SignedIn(row=row, user=user, principal=principal_of(user))


def sign_out(session: Session, row: ConsoleSession) -> None:
    session.delete(row)


def sign_out_token(session: Session, token: str | None) -> None:
    """End the session behind a cookie, if there is one."""
    if token and len(token) <= 100:
        session.exec(delete(ConsoleSession).where(col(ConsoleSession.token_hash) == hash_token(token)))


def csrf_matches(row: ConsoleSession, presented: object) -> bool:
    return isinstance(presented, str) and hmac.compare_digest(row.csrf_token.encode(), presented.encode())


def secure_cookie(settings: Settings) -> bool:
    return settings.console_secure_cookie if settings.console_secure_cookie is not None else not settings.demo
