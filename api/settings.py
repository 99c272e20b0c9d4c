"""Service settings, read from DOORSTEP_* environment variables (never a module-level instance)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/doorstep.db"


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
        default=False,
        description="Demo mode: allows the demo credentials and a generated signing key under var/.",
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
        default_factory=list,
        description="JSON list of {kid, key}; the first encrypts, all decrypt (rotation).",
    )
    bsn_hmac_key: str | None = Field(
        default=None, min_length=43, description="base64 key (≥ 32 bytes) of the keyed hash that finds a BSN."
    )
    max_import_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Largest signal file accepted by the import (413 above it)."
    )
    jwt_issuer: str = Field(default="doorstep", description="`iss` of issued tokens.")
    jwt_audience: str = Field(default="doorstep-api", description="`aud` of issued tokens.")
    access_token_ttl_seconds: int = Field(
        default=900, ge=30, le=900, description="Lifetime of an access token (at most 15 minutes)."
    )
    refresh_token_ttl_seconds: int = Field(
        default=12 * 3600, ge=60, le=30 * 24 * 3600, description="Lifetime of a staff refresh token."
    )
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest accepted request body (413 above it)."
    )
    log_level: str = Field(default="INFO", description="Root log level (JSON lines on stdout).")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins (JSON list).")

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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
