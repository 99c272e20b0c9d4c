"""Sealing visit lists for one device: compact JWE, RSA-OAEP-256 + A256GCM, to its enrolled key."""

from __future__ import annotations

from typing import Any

from jose import jwe

KEY_ALGORITHM = "RSA-OAEP-256"
CONTENT_ENCRYPTION = "A256GCM"


def seal_for_device(plaintext: bytes, public_jwk: dict[str, Any], *, kid: str) -> str:
    # python-jose builds the key from the JWK itself (it refuses a ready key object here).
    key = {"kty": "RSA", "n": public_jwk["n"], "e": public_jwk["e"], "alg": KEY_ALGORITHM}
    sealed = jwe.encrypt(plaintext, key, encryption=CONTENT_ENCRYPTION, algorithm=KEY_ALGORITHM, kid=kid)
    return sealed.decode() if isinstance(sealed, bytes) else sealed
