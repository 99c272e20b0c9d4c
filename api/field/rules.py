"""Rules of the field: which device keys are acceptable. Pure (cryptography only, no I/O)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class UnacceptableKey(ValueError):
    """Why a device's public key is refused (safe to show)."""


def _b64_int(value: Any, member: str) -> int:
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise UnacceptableKey(f"`{member}` must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError) as exc:
        raise UnacceptableKey(f"`{member}` is not base64url") from exc
    return int.from_bytes(raw, "big")


def accept_public_jwk(jwk: dict[str, Any]) -> str:
    """Check an enrolling device's key; returns its RFC 7638 thumbprint.

    RSA only (visit lists are encrypted with RSA-OAEP-256), at least 2048 bits, a sane
    public exponent, and never private members: a device that sends its private key has
    already leaked it.
    """
    if not isinstance(jwk, dict):
        raise UnacceptableKey("the key must be a JWK object")
    leaked = [member for member in PRIVATE_MEMBERS if member in jwk]
    if leaked:
        raise UnacceptableKey("the key contains private members; send the public key only and make a new key pair")
    if jwk.get("kty") != "RSA":
        raise UnacceptableKey("`kty` must be RSA")
    if "alg" in jwk and jwk["alg"] != "RSA-OAEP-256":
        raise UnacceptableKey("`alg`, when given, must be RSA-OAEP-256")
    if "use" in jwk and jwk["use"] != "enc":
        raise UnacceptableKey("`use`, when given, must be enc")
    n, e = _b64_int(jwk.get("n"), "n"), _b64_int(jwk.get("e"), "e")
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
        raise UnacceptableKey(f"the RSA modulus must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits")
    if n % 2 == 0:
        raise UnacceptableKey("the RSA modulus is not valid")
    if e < 65537 or e % 2 == 0 or e.bit_length() > 32:
        raise UnacceptableKey("the public exponent must be odd and at least 65537")
    try:
        RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise UnacceptableKey("not a valid RSA public key") from exc
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")
