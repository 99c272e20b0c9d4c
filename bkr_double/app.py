"""The BKR test double: a small HTTP service that stores SH registrations, honours
idempotency keys, and can be told to fail, delay or drop its answers.

    POST /v1/registrations                     register (Idempotency-Key header required)
    POST /v1/registrations/{reference}/end     record the end and removal date
    POST /v1/registrations/{reference}/removal remove it on its removal date
    POST /v1/registrations/{reference}/correction  replace the person and address (a correction)
    GET  /v1/registrations                     what it holds
    POST /_control/faults                      queue faults for the next requests
    DELETE /_control/faults, POST /_control/reset, GET /_control/requests

State lives in memory: a restart forgets everything (it is a double, not a register).
"""

import asyncio
import hashlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_USERNAME = "doorstep-demo"
DEFAULT_PASSWORD = "demo"  # the double's own demo credential, like Doorstep's demo mode


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initials: str | None = Field(default=None, max_length=20)
    prefix: str | None = Field(default=None, max_length=20)
    surname: str = Field(min_length=1, max_length=200)
    birth_date: date
    gender: str | None = Field(default=None, max_length=10)


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str | None = Field(default=None, max_length=200)
    house_number: int | None = Field(default=None, ge=1)
    house_number_addition: str | None = Field(default=None, max_length=10)
    postcode: str | None = Field(default=None, pattern=r"^\d{4}[A-Z]{2}$")
    town: str | None = Field(default=None, max_length=100)


class Registration(BaseModel):
    """An SH registration: no amount field exists, so a request that carries one is refused."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=64)
    participant: str = Field(pattern=r"^\d{4}$", description="The municipality's code.")
    contract_type: Literal["SH"]
    start_date: date
    person: Person
    address: Address


class End(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: date
    removal_date: date

    @model_validator(mode="after")
    def _order(self) -> "End":
        if self.removal_date < self.end_date:
            raise ValueError("removal_date before end_date")
        return self


class Removal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    removal_date: date


class Correction(BaseModel):
    """The resident's corrected data: the whole person and address, replacing what is held."""

    model_config = ConfigDict(extra="forbid")

    person: Person
    address: Address


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["error", "reject", "delay", "drop"] = Field(
        description="error: answer `status` (5xx) without storing; reject: answer `status` (4xx) without "
        "storing; delay: wait, then work normally; drop: store, then wait so long the client gives up."
    )
    times: int = Field(default=1, ge=1, le=1000)
    status: int | None = Field(default=None, ge=400, le=599)
    delay_seconds: float = Field(default=1.0, ge=0, le=120)


@dataclass
class State:
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)  # key → (body hash, status, body)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    generation: int = 0  # a reset starts a new one; requests still in flight from before store nothing

    def next_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        if fault.times <= 1:
            self.faults.pop(0)
        else:
            self.faults[0] = fault.model_copy(update={"times": fault.times - 1})
        return fault


def create_app(*, username: str | None = None, password: str | None = None) -> FastAPI:
    user = username or os.environ.get("BKR_DOUBLE_USERNAME", DEFAULT_USERNAME)
    secret = password or os.environ.get("BKR_DOUBLE_PASSWORD", DEFAULT_PASSWORD)
    app = FastAPI(title="BKR test double", version="1")
    state = State()
    app.state.double = state
    basic = HTTPBasic()

    def caller(credentials: Annotated[HTTPBasicCredentials, Depends(basic)]) -> str:
        ok_user = secrets.compare_digest(credentials.username.encode(), user.encode())
        ok_password = secrets.compare_digest(credentials.password.encode(), secret.encode())
        if not (ok_user and ok_password):
            raise HTTPException(401, "wrong credentials", headers={"WWW-Authenticate": "Basic"})
        return credentials.username

    async def answer(request: Request, key: str, work) -> JSONResponse:  # type: ignore[no-untyped-def]
        raw = await request.body()
        digest = hashlib.sha256(request.url.path.encode() + b"\n" + raw).hexdigest()
        fault = state.next_fault()
        state.requests.append(
            {
                "path": request.url.path,
                "idempotency_key": key,
                "fault": fault.mode if fault else None,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        if fault and fault.mode in ("error", "reject"):
            status = fault.status or (503 if fault.mode == "error" else 422)
            return JSONResponse({"title": "injected fault", "detail": f"told to answer {status}"}, status_code=status)
        if fault and fault.mode == "delay":
            generation = state.generation
            await asyncio.sleep(fault.delay_seconds)
            if generation != state.generation:
                return JSONResponse({"title": "reset while waiting"}, status_code=503)
        if key in state.answers:
            seen_digest, status, body = state.answers[key]
            if seen_digest != digest:
                return JSONResponse(
                    {"title": "idempotency key reused", "detail": "this key came with another request"}, status_code=422
                )
            response = JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
        else:
            status, body = work(json.loads(raw or b"null"))
            if status < 300:  # a refusal is not remembered: the same key may come back corrected
                state.answers[key] = (digest, status, body)
            response = JSONResponse(body, status_code=status)
        if fault and fault.mode == "drop":
            await asyncio.sleep(fault.delay_seconds)  # the work is done; the answer comes too late
        return response

    def key_of(idempotency_key: str | None) -> str:
        if not idempotency_key or not 8 <= len(idempotency_key) <= 100:
            raise HTTPException(400, "an Idempotency-Key header (8–100 characters) is required")
        return idempotency_key

    def register(data: Any) -> tuple[int, dict[str, Any]]:
        try:
            registration = Registration.model_validate(data)
        except ValueError as exc:
            return 422, {"title": "invalid registration", "detail": str(exc)[:400]}
        if registration.reference in state.registrations:
            return 409, {"title": "already registered", "detail": "this reference has a registration"}
        stored = {
            "id": str(uuid.uuid4()),
            **registration.model_dump(mode="json"),
            "end_date": None,
            "removal_date": None,
            "registered_at": datetime.now(UTC).isoformat(),
        }
        state.registrations[registration.reference] = stored
        return 201, stored

    @app.post("/v1/registrations", status_code=201)
    async def create_registration(
        request: Request, _: Annotated[str, Depends(caller)], idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        return await answer(request, key_of(idempotency_key), register)

    @app.post("/v1/registrations/{reference}/end")
    async def end_registration(
        request: Request,
        reference: str,
        _: Annotated[str, Depends(caller)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def end(data: Any) -> tuple[int, dict[str, Any]]:
            stored = state.registrations.get(reference)
            if stored is None:
                return 404, {"title": "unknown registration", "detail": "no registration with this reference"}
            try:
                update = End.model_validate(data)
            except ValueError as exc:
                return 422, {"title": "invalid end", "detail": str(exc)[:400]}
            if update.end_date < date.fromisoformat(stored["start_date"]):
                return 422, {"title": "invalid end", "detail": "end_date before start_date"}
            stored.update(update.model_dump(mode="json"))
            return 200, stored

        return await answer(request, key_of(idempotency_key), end)

    @app.post("/v1/registrations/{reference}/removal")
    async def remove_registration(
        request: Request,
        reference: str,
        _: Annotated[str, Depends(caller)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def remove(data: Any) -> tuple[int, dict[str, Any]]:
            stored = state.registrations.get(reference)
            if stored is None:
                return 404, {"title": "unknown registration", "detail": "no registration with this reference"}
            try:
                removal = Removal.model_validate(data)
            except ValueError as exc:
                return 422, {"title": "invalid removal", "detail": str(exc)[:400]}
            if stored["end_date"] is None or stored["removal_date"] != removal.removal_date.isoformat():
                return 409, {
                    "title": "not removable",
                    "detail": "a registration is removed on its removal date, once ended",
                }
            stored["removed_at"] = datetime.now(UTC).isoformat()
            return 200, stored

        return await answer(request, key_of(idempotency_key), remove)

    @app.post("/v1/registrations/{reference}/correction")
    async def correct_registration(
        request: Request,
        reference: str,
        _: Annotated[str, Depends(caller)],
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        def correct(data: Any) -> tuple[int, dict[str, Any]]:
            stored = state.registrations.get(reference)
            if stored is None:
                return 404, {"title": "unknown registration", "detail": "no registration with this reference"}
            if stored.get("removed_at"):
                return 409, {"title": "removed", "detail": "a removed registration is not corrected"}
            try:
                correction = Correction.model_validate(data)
            except ValueError as exc:
                return 422, {"title": "invalid correction", "detail": str(exc)[:400]}
            stored.update(correction.model_dump(mode="json"))
            stored["corrections"] = stored.get("corrections", 0) + 1
            return 200, stored

        return await answer(request, key_of(idempotency_key), correct)

    @app.get("/v1/registrations")
    def list_registrations(_: Annotated[str, Depends(caller)]) -> list[dict[str, Any]]:
        return list(state.registrations.values())

    @app.post("/_control/faults", status_code=204)
    def add_fault(fault: Fault) -> None:
        state.faults.append(fault)

    @app.delete("/_control/faults", status_code=204)
    def clear_faults() -> None:
        state.faults.clear()

    @app.post("/_control/reset", status_code=204)
    def reset() -> None:
        state.generation += 1
        state.registrations.clear()
        state.answers.clear()
        state.requests.clear()
        state.faults.clear()

    @app.get("/_control/requests")
    def requests_seen() -> list[dict[str, Any]]:
        return state.requests

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
