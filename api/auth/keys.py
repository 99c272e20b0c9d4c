"""Signing keys for access tokens: sign with the newest, verify with any, publish as a JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk
from jose.backends.base import Key

from api.platform.keyfiles import read_or_create
from api.settings import SigningKey

ALGORITHM = "RS256"
MIN_RSA_BITS = 2048


class KeyError_(ValueError):
    """A configured signing key is unusable."""


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    # Parsed once: loading an RSA private key from PEM validates it and costs ~25 ms,
    # which python-jose would otherwise repeat for every token it signs.
    signer: Key
    verifier: Key
    public_pem: str
    public_jwk: dict[str, Any]


class KeyRing:
    """The first key signs; all keys verify. Rotation: prepend a new key, drop the old one
    after the longest access-token lifetime, and no token in flight is invalidated."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise KeyError_("at least one signing key is needed")
        self._keys = {key.kid: _load(key) for key in keys}
        self.active = self._keys[keys[0].kid]

    def public_pem(self, kid: str) -> str | None:
        key = self._keys.get(kid)
        return key.public_pem if key else None

    def verifier(self, kid: str) -> Key | None:
        key = self._keys.get(kid)
        return key.verifier if key else None

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk for key in self._keys.values()]}


def _load(key: SigningKey) -> LoadedKey:
    try:
        private = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"signing key {key.kid!r} is not a readable PEM private key") from exc
    if not isinstance(private, rsa.RSAPrivateKey) or private.key_size < MIN_RSA_BITS:
        raise KeyError_(f"signing key {key.kid!r} must be RSA with at least {MIN_RSA_BITS} bits")
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    public_jwk = jwk.construct(public_pem, ALGORITHM).to_dict()
    public_jwk.update({"kid": key.kid, "use": "sig", "alg": ALGORITHM})
    return LoadedKey(
        kid=key.kid,
        signer=jwk.construct(key.private_key_pem, ALGORITHM),
        verifier=jwk.construct(public_pem, ALGORITHM),
        public_pem=public_pem,
        public_jwk=public_jwk,
    )


def generate_signing_key(kid_prefix: str = "") -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SigningKey(kid=kid_prefix + _thumbprint_kid(private), private_key_pem=pem)


def _thumbprint_kid(private: rsa.RSAPrivateKey) -> str:
    numbers = private.public_key().public_numbers()
    digest = hashlib.sha256(json.dumps([numbers.e, numbers.n]).encode()).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")


def demo_signing_key(var_dir: Path) -> SigningKey:
    """The demo's key, generated once under var/ so restarts (and every replica) share it."""
    stored = read_or_create(
        var_dir / "demo-signing-key.json", lambda: generate_signing_key(kid_prefix="demo-").model_dump_json()
    )
    return SigningKey.model_validate_json(stored)
