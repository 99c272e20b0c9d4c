"""Service settings, read from DOORSTEP_* environment variables (never a module-level instance)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.signals.limits import ImportLimits

DEFAULT_DATABASE_URL = "sqlite:///var/doorstep.db"
# The BKR test double as `make run` starts it; used only in demo mode.
DEMO_BKR_URL = "http://127.0.0.1:8100"
DEMO_BKR_USERNAME = "doorstep-demo"
DEMO_BKR_PASSWORD = "demo"
_IMPORT_DEFAULTS = ImportLimits()


class SigningKey(BaseModel):
    """One RSA private key that signs access tokens; `kid` names it in the JWKS."""

    kid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    private_key_pem: str = Field(min_length=1)


class DataKey(BaseModel):
    """A 256-bit AES key (base64) for BSN encryption; `kid` is stored with each ciphertext."""

    kid: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    key: str = Field(min_length=43, max_length=64, description="base64 of 32 random bytes")

    @field_validator("key")
    @classmethod
    def _is_256_bits(cls, value: str) -> str:
        import base64
        import binascii

        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not base64") from exc
        if len(raw) != 32:
            raise ValueError("must be 32 bytes (256 bits)")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOORSTEP_", extra="ignore")

    demo: bool = Field(
        default=False, description="Demo mode: allows the demo credentials and a generated signing key under var/."
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite for a demo, postgresql+psycopg://… in production.",
    )
    var_dir: Path = Field(default=Path("var"), description="Where demo state (database, demo key) lives.")
    jwt_signing_keys: list[SigningKey] = Field(
        default_factory=list,
        description=(
            "JSON list of {kid, private_key_pem}. The first key signs; the others only verify, "
            "so a rotated-out key keeps its tokens valid until they expire."
        ),
    )
    bsn_encryption_keys: list[DataKey] = Field(
        default_factory=list, description="JSON list of {kid, key}; the first encrypts, all decrypt (rotation)."
    )
    bsn_hmac_key: str | None = Field(
        default=None, min_length=43, description="base64 key (≥ 32 bytes) of the keyed hash that finds a BSN."
    )
    max_import_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Largest signal file accepted by the import (413 above it)."
    )
    max_import_rows: int = Field(
        default=_IMPORT_DEFAULTS.rows,
        ge=1,
        description="Most rows of signals in one imported file, counted while reading.",
    )
    max_import_unpacked_bytes: int = Field(
        default=_IMPORT_DEFAULTS.unpacked_bytes,
        ge=1024 * 1024,
        description="Most bytes an XLSX file may unpack to (the parts read), counted while decompressing.",
    )
    max_import_shared_strings_bytes: int = Field(
        default=_IMPORT_DEFAULTS.shared_strings_bytes,
        ge=1024 * 1024,
        description="Most memory an XLSX file's shared-strings table may take (UTF-8 text plus 9 bytes a string).",
    )
    max_import_json_bytes: int = Field(
        default=_IMPORT_DEFAULTS.json_bytes,
        ge=1024,
        description="Largest DDAS JSON file the import parses (it is held whole: up to 26 times its size in memory).",
    )
    jwt_issuer: str = Field(default="doorstep", description="`iss` of issued tokens.")
    jwt_audience: str = Field(default="doorstep-api", description="`aud` of issued tokens.")
    access_token_ttl_seconds: int = Field(
        default=900, ge=30, le=900, description="Lifetime of an access token (at most 15 minutes)."
    )
    refresh_token_ttl_seconds: int = Field(
        default=12 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="How long a staff sign-in lasts: refresh tokens rotate within it, never beyond it.",
    )
    device_session_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        le=90 * 24 * 3600,
        description="How long a device's token pair lasts from enrolment (or the worker's last sign-in on it) "
        "however often it rotates; then the worker signs the device in again.",
    )
    login_failures_before_delay: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins of one account that pass freely; each further "
        "one doubles the wait before the next is heard (1 s up to 15 minutes).",
    )
    login_failures_before_lock: int = Field(
        default=20,
        ge=2,
        le=1000,
        description="Failed sign-ins in a row that lock the account (audited; an admin can lift it).",
    )
    login_lock_minutes: int = Field(default=30, ge=1, le=24 * 60, description="How long a lock lasts.")
    login_address_failures_before_delay: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Failed sign-ins from one client address (any account) that pass "
        "freely within an hour; then the same doubling wait. An address is never locked: many staff may share one.",
    )
    password_hashing_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Passwords checked at once (argon2 takes every core it is given and "
        "64 MiB each): the rest of the service keeps the CPU it needs.",
    )
    password_hashing_queue: int = Field(
        default=16, ge=0, le=1000, description="Sign-ins that may wait for a check; beyond it 503 with Retry-After."
    )
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest accepted request body (413 above it)."
    )
    log_level: str = Field(default="INFO", description="Root log level (JSON lines on stdout).")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins (JSON list).")
    bkr_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL of BKR's registration interface. Unset: in demo mode the BKR test double on "
        "http://127.0.0.1:8100; otherwise the BKR worker refuses to start.",
    )
    bkr_username: str | None = Field(default=None, description="BKR credentials (HTTP basic); demo: the double's.")
    bkr_password: SecretStr | None = Field(default=None, description="BKR password; never logged.")
    bkr_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="One BKR request's timeout.")
    bkr_max_attempts: int = Field(
        default=20, ge=1, le=100, description="Attempts (with exponential backoff) before a registration fails."
    )
    bkr_lease_seconds: int = Field(
        default=120,
        ge=5,
        le=3600,
        description="How long a worker holds a claimed registration; must exceed the BKR timeout.",
    )
    console_idle_minutes: int = Field(
        default=30, ge=1, le=480, description="The console signs a browser out after this long without a request."
    )
    console_session_hours: int = Field(
        default=10, ge=1, le=24, description="A console sign-in lasts at most this long, active or not."
    )
    console_origin: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+$",
        description="The console's public origin behind a TLS proxy, e.g. `https://doorstep.gemeente.nl`: forms "
        "posted from it are accepted even when the proxy's X-Forwarded-Proto does not reach the service.",
    )
    otel_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="OTLP/HTTP traces URL of an OpenTelemetry collector (`http://collector:4318/v1/traces`). Unset: "
        "no tracing. Needs the extra `doorstep[otel]`.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token the monitoring system sends to GET /metrics (Prometheus text format). "
        "Unset: /metrics answers 404.",
    )
    api_docs: bool | None = Field(
        default=None,
        description="Serve the interactive API docs (/docs, /redoc) and /openapi.json. Unset: on in demo mode, off "
        "otherwise (the document is public in the repository's openapi/ folder).",
    )
    console_secure_cookie: bool | None = Field(
        default=None,
        description="Mark the console's session cookie Secure (HTTPS only). Unset: on, except in demo mode "
        "(which serves plain http on 127.0.0.1).",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING or ERROR")
        return upper

    @model_validator(mode="after")
    def _unique_kids(self) -> Settings:
        for name, kids in (
            ("jwt_signing_keys", [key.kid for key in self.jwt_signing_keys]),
            ("bsn_encryption_keys", [key.kid for key in self.bsn_encryption_keys]),
        ):
            if len(kids) != len(set(kids)):
                raise ValueError(f"{name}: every kid must be unique")
        return self

    def bkr_endpoint(self) -> tuple[str, str, str]:
        """URL, user and password of BKR; the test double's only in demo mode."""
        if self.bkr_url:
            if not self.bkr_username or self.bkr_password is None:
                raise ValueError("DOORSTEP_BKR_USERNAME and DOORSTEP_BKR_PASSWORD are required with DOORSTEP_BKR_URL")
            password = self.bkr_password.get_secret_value()
            if not self.demo and (self.bkr_username, password) == (DEMO_BKR_USERNAME, DEMO_BKR_PASSWORD):
                raise ValueError("the BKR test double's credentials are for demo mode only")
            return self.bkr_url, self.bkr_username, password
        if not self.demo:
            raise ValueError("DOORSTEP_BKR_URL is not set (only demo mode falls back to the BKR test double)")
        return DEMO_BKR_URL, DEMO_BKR_USERNAME, DEMO_BKR_PASSWORD

    def import_limits(self) -> ImportLimits:
        """What one imported file may hold, for every door that imports (API, console, CLI)."""
        return ImportLimits(
            rows=self.max_import_rows,
            unpacked_bytes=self.max_import_unpacked_bytes,
            shared_strings_bytes=self.max_import_shared_strings_bytes,
            json_bytes=self.max_import_json_bytes,
        )

    @property
    def serves_api_docs(self) -> bool:
        return self.demo if self.api_docs is None else self.api_docs

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
