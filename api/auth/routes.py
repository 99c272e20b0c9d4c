"""HTTP surface of authentication (tokens, keys, logout) and staff administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from sqlmodel import select

from api.audit.service import record
from api.auth import service, throttle
from api.auth.deps import CurrentPrincipal, Now, allow
from api.auth.principal import Principal
from api.auth.schemas import (
    Jwks,
    LogoutRequest,
    LogoutResponse,
    Me,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from api.models import StaffUser
from api.platform.db import SessionDep
from api.platform.problems import Conflict, Forbidden, ProblemError, problem_responses
from api.platform.tenancy import owned

auth_router = APIRouter(prefix="/v1/auth", tags=["auth"])
users_router = APIRouter(prefix="/v1/users", tags=["users"], responses=problem_responses(401, 403, 422))

Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
Admin = Annotated[Principal, Depends(allow(roles=("admin",)))]


class InvalidRequest(ProblemError):
    status, slug, title = 400, "invalid-request", "Incomplete token request"


@auth_router.post(
    "/token",
    name="token",
    response_model=TokenResponse,
    summary="Get an access token",
    description=(
        "OAuth2 token endpoint (form-encoded). Staff use `grant_type=password` (and "
        "`refresh_token` to rotate); integration partners use `client_credentials` with "
        "`client_id`, `client_secret` and optional `scope` (`signals:write cases:read feedback:read reports:read`). "
        "A username used in more than one municipality signs in as `0363/username`. Failed attempts are "
        "throttled per account (or client) and per client address: after a few, 429 with `Retry-After` "
        "until the wait has passed (the same answer for unknown names), and a lock after many that an "
        "admin can lift."
    ),
    responses=problem_responses(400, 401, 422, 429, 503),
)
def token(
    request: Request,
    session: SessionDep,
    at: Now,
    grant_type: Annotated[Literal["password", "client_credentials", "refresh_token"], Form()],
    username: Annotated[str | None, Form(max_length=64)] = None,
    password: Annotated[str | None, Form(max_length=256)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=200)] = None,
    refresh_token: Annotated[str | None, Form(max_length=200)] = None,
) -> TokenResponse:
    settings, keys = request.app.state.settings, request.app.state.keys
    address = request.client.host if request.client else None
    if grant_type == "password":
        if not username or not password:
            raise InvalidRequest("`username` and `password` are required.", error="invalid_request")
        issued = service.password_grant(
            session, settings=settings, keys=keys, username=username, password=password, address=address, now=at
        )
    elif grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise InvalidRequest("`client_id` and `client_secret` are required.", error="invalid_request")
        issued = service.client_credentials_grant(
            session,
            settings=settings,
            keys=keys,
            client_id=client_id,
            client_secret=client_secret,
            requested_scope=scope,
            address=address,
            now=at,
        )
    else:
        if not refresh_token:
            raise InvalidRequest("`refresh_token` is required.", error="invalid_request")
        issued = service.refresh_grant(session, settings=settings, keys=keys, refresh_token=refresh_token, now=at)
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        scope=issued.scope,
    )


@auth_router.get("/jwks", name="jwks", response_model=Jwks, summary="Public keys that verify access tokens")
def jwks(request: Request) -> Jwks:
    return Jwks.model_validate(request.app.state.keys.jwks())


@auth_router.post(
    "/logout",
    name="logout",
    response_model=LogoutResponse,
    summary="Revoke refresh tokens",
    responses=problem_responses(401, 403, 404, 422),
)
def logout(
    session: SessionDep, principal: CurrentPrincipal, at: Now, body: LogoutRequest | None = None
) -> LogoutResponse:
    if principal.kind != "staff":
        raise Forbidden("Only staff sessions have refresh tokens.")
    revoked = service.logout(session, principal, refresh_token=body.refresh_token if body else None, now=at)
    return LogoutResponse(revoked=revoked)


@auth_router.get(
    "/me", name="me", response_model=Me, summary="Who the token belongs to", responses=problem_responses(401)
)
def me(principal: CurrentPrincipal) -> Me:
    return Me(
        kind=principal.kind,
        id=principal.actor_id,
        municipality_code=principal.municipality_code,
        role=principal.role,
        scopes=sorted(principal.scopes),
        device_id=principal.device_id,
    )


def _user_out(session: SessionDep, user: StaffUser, at: datetime) -> UserOut:
    return UserOut.model_validate(
        {
            **user.model_dump(include=set(UserOut.model_fields)),
            "locked_until": throttle.locked_until(session, "account", _sign_in_names(user), now=at),
        }
    )


def _sign_in_names(user: StaffUser) -> list[str]:
    return [user.username, f"{user.municipality_code}/{user.username}"]


@users_router.get("", name="list", response_model=UserList, summary="Staff of your municipality")
def list_users(session: SessionDep, principal: Office, at: Now) -> UserList:
    users = session.exec(
        select(StaffUser).where(StaffUser.municipality_code == principal.municipality_code).order_by(StaffUser.username)
    ).all()
    record(session, principal, action="users.list", resource_type="staff_user", at=at, detail={"count": len(users)})
    return UserList(items=[_user_out(session, user, at) for user in users])


@users_router.get(
    "/{user_id}", name="get", response_model=UserOut, summary="One staff member", responses=problem_responses(404)
)
def get_user(session: SessionDep, principal: Office, at: Now, user_id: uuid.UUID) -> UserOut:
    user = owned(session, StaffUser, user_id, principal)
    record(session, principal, action="users.read", resource_type="staff_user", resource_id=user.id, at=at)
    return _user_out(session, user, at)


@users_router.post(
    "",
    name="create",
    response_model=UserOut,
    status_code=201,
    summary="Create a staff account",
    responses=problem_responses(409),
)
def create_user(session: SessionDep, principal: Admin, at: Now, body: UserCreate) -> UserOut:
    user = service.create_user(
        session,
        municipality_code=principal.municipality_code,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        now=at,
    )
    record(
        session,
        principal,
        action="users.create",
        resource_type="staff_user",
        resource_id=user.id,
        at=at,
        detail={"role": user.role},
    )
    return _user_out(session, user, at)


@users_router.patch(
    "/{user_id}",
    name="update",
    response_model=UserOut,
    summary="Change name, role, password or deactivate (ends all sessions at once)",
    responses=problem_responses(404, 409),
)
def update_user(session: SessionDep, principal: Admin, at: Now, user_id: uuid.UUID, body: UserUpdate) -> UserOut:
    user = owned(session, StaffUser, user_id, principal)
    if user.id == principal.user_id and (body.active is False or (body.role and body.role != "admin")):
        raise Conflict("An admin cannot deactivate or demote their own account.", slug="self-lockout")
    service.update_user(
        session,
        user,
        display_name=body.display_name,
        role=body.role,
        active=body.active,
        password=body.password,
        now=at,
    )
    changed = sorted(
        body.model_dump(exclude_unset=True, exclude={"password"}).keys() | ({"password"} if body.password else set())
    )
    record(
        session,
        principal,
        action="users.update",
        resource_type="staff_user",
        resource_id=user.id,
        at=at,
        detail={"changed": changed},
    )
    return _user_out(session, user, at)


@users_router.post(
    "/{user_id}/unlock",
    name="unlock",
    response_model=UserOut,
    summary="Lift the lock that failed sign-ins put on an account (and forget its failures)",
    responses=problem_responses(404),
)
def unlock_user(session: SessionDep, principal: Admin, at: Now, user_id: uuid.UUID) -> UserOut:
    user = owned(session, StaffUser, user_id, principal)
    lifted = throttle.lift(session, "account", _sign_in_names(user))
    record(
        session,
        principal,
        action="users.unlock",
        resource_type="staff_user",
        resource_id=user.id,
        at=at,
        detail={"cleared": lifted},
    )
    return _user_out(session, user, at)
