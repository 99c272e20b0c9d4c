"""Authentication and authorisation as dependencies: handlers declare who may call, never check it themselves."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2
from sqlmodel import select

from api.auth.principal import Principal
from api.auth.service import DeviceRevoked
from api.auth.tokens import InvalidToken, decode_access_token
from api.models import PartnerClient
from api.platform import tables
from api.platform.db import SessionDep
from api.platform.problems import Forbidden, Unauthorized

oauth2 = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl="/v1/auth/token"),
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/v1/auth/token",
            scopes={
                "signals:write": "Deliver signals",
                "cases:read": "Read the outcome of your own signals",
                "feedback:read": "Read the feedback on your own signals (status, debt help started)",
                "reports:read": "Read reports",
            },
        ),
    ),
    scheme_name="doorstep",
    description="Staff: password grant. Integration partners: client-credentials grant with scopes.",
    auto_error=False,
)


async def now(request: Request) -> datetime:
    """The request's clock; tests replace `app.state.clock`. (Async, like the other dependencies
    that do no I/O: a sync one costs a trip through the thread pool on every request.)"""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


Now = Annotated[datetime, Depends(now)]


def current_principal(
    request: Request, session: SessionDep, at: Now, authorization: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an access token as `Authorization: Bearer …`.")
    settings = request.app.state.settings
    try:
        claims = decode_access_token(
            request.app.state.keys, token.strip(), issuer=settings.jwt_issuer, audience=settings.jwt_audience, now=at
        )
    except InvalidToken as exc:
        raise Unauthorized(f"The access token is not valid: {exc.reason}.", slug="invalid-token") from exc
    principal = _load_principal(session, claims)
    request.state.principal = principal
    return principal


_su, _dv = tables.staff_user, tables.device
# Built once: they run on every request, and building a statement costs more than running it here.
_STAFF = sa.select(_su.c.id, _su.c.municipality_code, _su.c.active, _su.c.credentials_changed_at, _su.c.role).where(
    _su.c.id == sa.bindparam("user_id")
)
_STAFF_ON_DEVICE = _STAFF.add_columns(_dv.c.id.label("device_id"), _dv.c.worker_id, _dv.c.revoked_at).select_from(
    _su.outerjoin(_dv, _dv.c.id == sa.bindparam("device_id"))
)


def _load_principal(session: SessionDep, claims: dict[str, Any]) -> Principal:
    # The database, not the token, is the authority on whether the account still exists,
    # is active and what role it has: deactivation and role changes take effect at once.
    tenant = claims["tid"]
    if claims["typ"] in ("staff", "device"):
        try:
            user_id = uuid.UUID(str(claims["sub"]))
            device_id = uuid.UUID(str(claims["did"])) if claims["typ"] == "device" else None
        except (ValueError, KeyError) as exc:
            raise Unauthorized("The access token is not valid.", slug="invalid-token") from exc
        # One query for the account and, with a device token, its device: this runs on every
        # request, and a device's revocation must still take effect on its very next one.
        if device_id is None:
            user = session.execute(_STAFF, {"user_id": user_id}).one_or_none()
        else:
            user = session.execute(_STAFF_ON_DEVICE, {"user_id": user_id, "device_id": device_id}).one_or_none()
        if user is None or user.municipality_code != tenant or not user.active:
            raise Unauthorized("This account is no longer active.", slug="account-inactive")
        changed = user.credentials_changed_at
        if changed is not None and int(claims["iat"]) < int(changed.timestamp()):
            raise Unauthorized("The password changed since this token was issued; log in again.", slug="invalid-token")
        if device_id is not None:
            if user.device_id is None or user.worker_id != user.id:
                raise Unauthorized("The access token is not valid.", slug="invalid-token")
            if user.revoked_at is not None:
                raise DeviceRevoked()
        return Principal.staff(user.id, tenant, user.role, device_id=device_id)
    if claims["typ"] == "partner":
        client = session.exec(select(PartnerClient).where(PartnerClient.client_id == str(claims["sub"]))).first()
        if client is None or client.municipality_code != tenant or not client.active:
            raise Unauthorized("This client is no longer active.", slug="account-inactive")
        granted = frozenset(str(claims.get("scope", "")).split()) & frozenset(client.scopes)
        return Principal(kind="partner", actor_id=client.client_id, municipality_code=tenant, scopes=granted)
    raise Unauthorized("The access token is not valid.", slug="invalid-token")


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class Allow:
    """The dependency `allow(...)` gives: staff with one of `roles`, or a partner with one of `scopes`;
    a device's token only where `devices` says so.

    A device-bound token lives on a phone that can be lost on a doorstep: it does what the phone
    needs (pull, push, refresh, log itself out) and nothing else, so a stolen phone cannot enrol
    another device that would outlive its revocation, revoke the worker's other phone, or read
    cases beyond its encrypted list.

    `check` is the rule itself (the console runs it for screens that call route functions);
    calling the instance is the dependency, async because it does no I/O (a sync one would
    cost a trip through the thread pool on every request).
    """

    def __init__(self, roles: frozenset[str], scopes: frozenset[str], devices: bool = False) -> None:
        self.roles, self.scopes, self.devices = roles, scopes, devices

    def check(self, principal: Principal) -> Principal:
        if principal.device_id is not None and not self.devices:
            raise Forbidden(
                "A device's token only syncs; sign in with your own account for this.", slug="staff-login-required"
            )
        if not principal.may(roles=self.roles, scopes=self.scopes):
            if principal.kind == "partner":
                raise Forbidden(
                    "Your client lacks the scope for this.", slug="insufficient-scope", required=sorted(self.scopes)
                )
            raise Forbidden("Your role does not allow this.")
        return principal

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        return self.check(principal)


def allow(*, roles: tuple[str, ...] = (), scopes: tuple[str, ...] = (), devices: bool = False) -> Allow:
    """Dependency factory: staff with one of `roles`, or a partner with one of `scopes`; with
    `devices`, also a device-bound token (only what a phone needs takes it)."""
    return Allow(frozenset(roles), frozenset(scopes), devices)


def utcnow() -> datetime:
    return datetime.now(UTC)
