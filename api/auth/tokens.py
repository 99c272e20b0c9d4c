"""Access tokens: short-lived RS256 JWTs with a `kid`. The only module that touches python-jose's JWT API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from jose import jwt
from jose.exceptions import JWTClaimsError, JWTError

from api.auth.keys import ALGORITHM, KeyRing

REQUIRED_CLAIMS = ("iss", "aud", "sub", "tid", "typ", "iat", "nbf", "exp", "jti")


class InvalidToken(Exception):
    """The token cannot be trusted; `reason` is safe to show to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def issue_access_token(
    keys: KeyRing,
    *,
    issuer: str,
    audience: str,
    subject: str,
    tenant: str,
    token_type: str,
    now: datetime,
    ttl: timedelta,
    extra: dict[str, Any] | None = None,
) -> str:
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "tid": tenant,
        "typ": token_type,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
        **(extra or {}),
    }
    return jwt.encode(claims, keys.active.signer, algorithm=ALGORITHM, headers={"kid": keys.active.kid})


LEEWAY_SECONDS = 10  # clock skew between API replicas


def decode_access_token(keys: KeyRing, token: str, *, issuer: str, audience: str, now: datetime) -> dict[str, Any]:
    """Verify signature and claims. The algorithm list is pinned to RS256, so `alg: none`
    and HS256-signed-with-our-public-key tokens fail before any key is used. Time claims
    are checked against `now` (the service clock), not python-jose's own."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("unsupported algorithm")
    kid = header.get("kid")
    verifier = keys.verifier(kid) if isinstance(kid, str) else None
    if verifier is None:
        raise InvalidToken("unknown signing key")
    try:
        claims = jwt.decode(
            token,
            verifier,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            # python-jose's require_exp/nbf would switch its own clock back on: presence of
            # the time claims is checked below, their values against `now`.
            options={
                **{f"require_{claim}": True for claim in ("aud", "iss", "sub", "jti")},
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except JWTClaimsError as exc:
        raise InvalidToken("token claims not accepted") from exc
    except JWTError as exc:
        raise InvalidToken("signature or format not valid") from exc
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in claims]
    if missing:
        raise InvalidToken("token lacks required claims")
    moment = now.timestamp()
    try:
        expires, not_before = float(claims["exp"]), float(claims["nbf"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("token claims not accepted") from exc
    if moment >= expires + LEEWAY_SECONDS:
        raise InvalidToken("token expired")
    if moment < not_before - LEEWAY_SECONDS:
        raise InvalidToken("token not yet valid")
    return claims
