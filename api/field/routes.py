"""HTTP surface of the field: device enrolment, revocation and the back office's device list."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.audit.service import record, record_case_reads
from api.auth import service as auth
from api.auth.deps import CurrentPrincipal, Now, allow
from api.auth.principal import Principal
from api.auth.sealing import seal_for_device
from api.field import conflicts as conflict_cases
from api.field import devices
from api.field import pull as pulls
from api.field import push as pushes
from api.field.schemas import (
    ConflictList,
    ConflictOut,
    ConflictResolution,
    DeviceEnroll,
    DeviceEnrolled,
    DeviceList,
    DeviceOut,
)
from api.models import Conflict, Device, StaffUser
from api.platform import metrics
from api.platform.db import SessionDep
from api.platform.problems import problem_responses
from sync.events import PushBatch, PushResult

router = APIRouter(prefix="/v1/devices", tags=["devices"], responses=problem_responses(401, 403, 422))
Staff = Annotated[Principal, Depends(allow(roles=("worker", "backoffice", "admin")))]
OwnWorker = Annotated[Principal, Depends(allow(roles=("worker",)))]


def _out(device: Device, worker: StaffUser, pending: int) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        worker_id=worker.id,
        worker_username=worker.username,
        label=device.label,
        key_thumbprint=device.key_thumbprint,
        enrolled_at=device.enrolled_at,
        revoked_at=device.revoked_at,
        last_pull_at=device.last_pull_at,
        last_push_at=device.last_push_at,
        last_push_event_count=device.last_push_event_count,
        unsent_events_reported=device.unsent_events_reported,
        pending_conflicts=pending,
    )


@router.post(
    "",
    name="enroll",
    status_code=201,
    response_model=DeviceEnrolled,
    summary="Enroll a phone with its public key",
    description=(
        "With a worker's token. Returns a device-bound token pair: pull and push need it. The private key never "
        "leaves the phone; a key with private members is refused."
    ),
    responses=problem_responses(409),
)
def enroll(
    request: Request, session: SessionDep, principal: CurrentPrincipal, at: Now, body: DeviceEnroll
) -> DeviceEnrolled:
    device, worker = devices.enroll(session, principal, public_jwk=body.public_jwk, label=body.label, now=at)
    tokens = auth.device_tokens(
        session,
        settings=request.app.state.settings,
        keys=request.app.state.keys,
        user=worker,
        device_id=device.id,
        now=at,
    )
    record(
        session,
        principal,
        action="devices.enroll",
        resource_type="device",
        resource_id=device.id,
        at=at,
        detail={"key_thumbprint": device.key_thumbprint},
    )
    assert tokens.refresh_token is not None
    return DeviceEnrolled(
        device_id=device.id,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post(
    "/{device_id}/tokens",
    name="sign-in",
    status_code=201,
    response_model=DeviceEnrolled,
    summary="A new device-bound token pair for your own device, with your own sign-in",
    description=(
        "A device's session lasts `DOORSTEP_DEVICE_SESSION_TTL_SECONDS` from enrolment however often its refresh "
        "token rotates; then the worker signs in on the phone again and it calls this with the worker's own "
        "(not a device's) token. The device keeps its key, its id and its visit list; its earlier refresh tokens "
        "end. A revoked device answers 409 `device-revoked` with `wipe: true`."
    ),
    responses=problem_responses(404, 409),
)
def sign_in(
    request: Request, session: SessionDep, principal: OwnWorker, at: Now, device_id: uuid.UUID
) -> DeviceEnrolled:
    device, worker = devices.sign_in_again(session, principal, device_id, now=at)
    tokens = auth.device_tokens(
        session,
        settings=request.app.state.settings,
        keys=request.app.state.keys,
        user=worker,
        device_id=device.id,
        now=at,
    )
    record(session, principal, action="devices.sign-in", resource_type="device", resource_id=device.id, at=at)
    assert tokens.refresh_token is not None
    return DeviceEnrolled(
        device_id=device.id,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.get("", name="list", response_model=DeviceList, summary="Devices and their sync health (workers: their own)")
def list_devices(session: SessionDep, principal: Staff) -> DeviceList:
    return DeviceList(items=[_out(*row) for row in devices.list_devices(session, principal)])


@router.post(
    "/{device_id}/revoke",
    name="revoke",
    response_model=DeviceOut,
    summary="Revoke a device: its tokens fail at once and it is told to wipe",
    responses=problem_responses(404),
)
def revoke(session: SessionDep, principal: Staff, at: Now, device_id: uuid.UUID) -> DeviceOut:
    device = devices.revoke(session, principal, device_id, now=at)
    record(
        session,
        principal,
        action="devices.revoke",
        resource_type="device",
        resource_id=device.id,
        at=at,
        detail={
            "last_push_at": device.last_push_at.isoformat() if device.last_push_at else None,
            "last_push_event_count": device.last_push_event_count,
        },
    )
    worker = session.get(StaffUser, device.worker_id)
    assert worker is not None
    pending = next((p for d, _, p in devices.list_devices(session, principal) if d.id == device.id), 0)
    return _out(device, worker, pending)


sync_router = APIRouter(prefix="/v1/sync", tags=["sync"], responses=problem_responses(401, 403, 422))
Worker = Annotated[Principal, Depends(allow(roles=("worker",), devices=True))]
JOSE = "application/jose"


@sync_router.get(
    "/pull",
    name="pull",
    summary="The encrypted visit list of this device",
    description=(
        "A compact JWE (`RSA-OAEP-256` + `A256GCM`) encrypted to the device's enrolled key; its plaintext is a "
        "`VisitList`: `{cursor, full, upserts, removed, expires_at, server_time}`. Without a cursor, with one "
        "the server no longer accepts, or with a `checksum` that differs from the server's view of what the "
        "device holds, the list is a full snapshot. Needs a device-bound token."
    ),
    response_class=Response,
    responses={
        200: {
            "content": {JOSE: {"schema": {"type": "string"}}},
            "description": "Compact JWE; plaintext schema: VisitList",
        }
    },
)
def pull(
    session: SessionDep,
    principal: Worker,
    at: Now,
    cursor: Annotated[str | None, Query(max_length=200, description="The `cursor` of the previous list.")] = None,
    checksum: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="sha256 of the device's case set.")
    ] = None,
    unsent: Annotated[int | None, Query(ge=0, le=1_000_000, description="Events still in the device's outbox.")] = None,
) -> Response:
    visit_list, device = pulls.pull(session, principal, cursor_text=cursor, checksum=checksum, unsent=unsent, now=at)
    record_case_reads(session, principal, case_ids=[case.id for case in visit_list.upserts], action="sync.pull", at=at)
    sealed = seal_for_device(visit_list.model_dump_json().encode(), device.public_jwk, kid=device.key_thumbprint)
    metrics.count_pull(full=visit_list.full, size=len(sealed))
    return Response(sealed, media_type=JOSE, headers={"Cache-Control": "no-store"})


@sync_router.post(
    "/push",
    name="push",
    response_model=PushResult,
    summary="Send events recorded offline (up to 500), one result each",
    description=(
        "Each event carries a client-generated `event_id`: a replay returns `duplicate` and changes nothing; a "
        "different body under a used id is `rejected`. Events are facts and are stored even on a case that was "
        "reassigned or closed meanwhile; disagreements about the case become `conflict` for the back office. "
        "The batch is one transaction, committed before this response is sent."
    ),
    responses=problem_responses(413),
)
def push(session: SessionDep, principal: Worker, at: Now, batch: PushBatch) -> PushResult:
    result = pushes.push(session, principal, batch, now=at)
    metrics.count_push(r.result for r in result.results)
    record(
        session,
        principal,
        action="sync.push",
        resource_type="device",
        resource_id=batch.device_id,
        at=at,
        detail={"events": len(batch.events), "conflicts": sum(1 for r in result.results if r.result == "conflict")},
    )
    return result


conflicts_router = APIRouter(prefix="/v1/conflicts", tags=["conflicts"], responses=problem_responses(401, 403, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]


def _conflict_out(conflict: Conflict) -> ConflictOut:
    return ConflictOut(
        id=conflict.id,
        case_id=conflict.case_id,
        kind=conflict.kind,
        opened_at=conflict.opened_at,
        sides=conflict.sides,
        resolved_at=conflict.resolved_at,
        resolution=conflict.resolution,
    )


@conflicts_router.get("", name="list", response_model=ConflictList, summary="Open conflicts, oldest first")
def list_conflicts(session: SessionDep, principal: Office) -> ConflictList:
    return ConflictList(items=[_conflict_out(c) for c in conflict_cases.open_conflicts(session, principal)])


@conflicts_router.post(
    "/{conflict_id}/resolve",
    name="resolve",
    response_model=ConflictOut,
    summary="Decide a conflict",
    responses=problem_responses(404, 409),
)
def resolve_conflict(
    session: SessionDep, principal: Office, at: Now, conflict_id: uuid.UUID, body: ConflictResolution
) -> ConflictOut:
    conflict = conflict_cases.resolve(session, principal, conflict_id, decision=body.decision, note=body.note, now=at)
    metrics.count_resolved(body.decision)
    record(
        session,
        principal,
        action="conflicts.resolve",
        resource_type="conflict",
        resource_id=conflict.id,
        case_id=conflict.case_id,
        at=at,
        detail={"decision": body.decision},
    )
    return _conflict_out(conflict)
