"""Refuses to run outside demo mode with demo credentials or default secrets."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from api.auth.passwords import verify_secret
from api.models import PartnerClient, StaffUser
from api.settings import Settings

DEMO_PASSWORD = "demo"
DEMO_USERNAMES = ("worker1", "worker2", "office", "admin")
DEMO_PARTNER = ("demo-partner", "demo-secret")


class UnsafeConfiguration(RuntimeError):
    pass


def check_configuration(settings: Settings) -> None:
    if settings.demo:
        return
    if not settings.jwt_signing_keys:
        raise UnsafeConfiguration(
            "DOORSTEP_JWT_SIGNING_KEYS is not set: outside demo mode the service needs its own signing key."
        )
    if any(key.kid.startswith("demo-") for key in settings.jwt_signing_keys):
        raise UnsafeConfiguration("A demo signing key is configured outside demo mode.")
    if not settings.bsn_encryption_keys or not settings.bsn_hmac_key:
        raise UnsafeConfiguration(
            "DOORSTEP_BSN_ENCRYPTION_KEYS and DOORSTEP_BSN_HMAC_KEY are not set: outside demo mode BSNs need the "
            "municipality's own keys (doorstep generate-bsn-keys)."
        )


def check_credentials(engine: Engine) -> None:
    """Active accounts that still accept the published demo passwords must not exist in production."""
    try:
        with Session(engine) as session:
            users = session.exec(
                select(StaffUser).where(col(StaffUser.username).in_(DEMO_USERNAMES), StaffUser.active)
            ).all()
            partner = session.exec(
                select(PartnerClient).where(PartnerClient.client_id == DEMO_PARTNER[0], PartnerClient.active)
            ).first()
    except SQLAlchemyError:
        return  # not migrated yet: there are no credentials to worry about
    weak = [user.username for user in users if verify_secret(user.password_hash, DEMO_PASSWORD)]
    if partner is not None and verify_secret(partner.secret_hash, DEMO_PARTNER[1]):
        weak.append(DEMO_PARTNER[0])
    if weak:
        raise UnsafeConfiguration(
            f"Demo credentials are active outside demo mode ({', '.join(weak)}): change or deactivate them."
        )
