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
        kids = [key.kid for key in self.jwt_signing_keys]
        if len(kids) != len(set(kids)):
            raise ValueError("jwt_signing_keys: every kid must be unique")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
