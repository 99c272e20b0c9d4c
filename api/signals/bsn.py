"""BSN protection: AES-GCM encryption with a key id for rotation, and a keyed hash to find one.

A BSN is a special identifier under Dutch law: stored only encrypted, never logged, never
sent to a device. The ciphertext is bound to its municipality (associated data), so a row
copied into another tenant does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.platform.keyfiles import read_or_create
from api.settings import DataKey, Settings

VERSION = "v1"


class BsnVault:
    def __init__(self, keys: list[DataKey], hmac_key: str) -> None:
        if not keys:
            raise ValueError("at least one BSN encryption key is needed")
        self._ciphers = {key.kid: AESGCM(base64.b64decode(key.key)) for key in keys}
        self._active = keys[0].kid
        self._hmac_key = base64.b64decode(hmac_key)

    def encrypt(self, bsn: str, *, municipality_code: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self._active].encrypt(nonce, bsn.encode(), municipality_code.encode())
        return f"{VERSION}.{self._active}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def encrypter(self, municipality_code: str) -> Callable[[str], str]:
        """`encrypt` for many BSNs of one municipality (an import), with the constant parts made once."""
        seal = self._ciphers[self._active].encrypt
        prefix = f"{VERSION}.{self._active}."
        associated = municipality_code.encode()
        encode = base64.urlsafe_b64encode
        nonce = _nonces().__next__

        def encrypt(bsn: str) -> str:
            fresh = nonce()
            return prefix + encode(fresh + seal(fresh, bsn.encode(), associated)).decode()

        return encrypt

    def decrypt(self, token: str, *, municipality_code: str) -> str:
        try:
            version, kid, body = token.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
            cipher = self._ciphers[kid]
        except (ValueError, KeyError) as exc:
            raise ValueError("BSN ciphertext not readable with the configured keys") from exc
        if version != VERSION:
            raise ValueError("unknown BSN ciphertext version")
        try:
            return cipher.decrypt(raw[:12], raw[12:], municipality_code.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("BSN ciphertext does not verify") from exc

    def digest(self, bsn: str, *, municipality_code: str) -> str:
        """Keyed hash for lookups; without the key it does not reveal the BSN (10⁹ values are easy to try)."""
        return hmac.new(self._hmac_key, f"{municipality_code}:{bsn}".encode(), hashlib.sha256).hexdigest()

    def digester(self, municipality_code: str) -> Callable[[str], str]:
        """`digest` for many BSNs of one municipality (an import)."""
        key, prefix, one_shot = self._hmac_key, f"{municipality_code}:", hmac.digest

        def digest(bsn: str) -> str:
            return one_shot(key, (prefix + bsn).encode(), "sha256").hex()

        return digest


def _nonces() -> Iterator[bytes]:
    """Random 96-bit nonces, as os.urandom(12) gives them, with one system call per 4,096."""
    while True:
        block = os.urandom(12 * 4096)
        for start in range(0, len(block), 12):
            yield block[start : start + 12]


def vault_from_settings(settings: Settings) -> BsnVault:
    if settings.bsn_encryption_keys and settings.bsn_hmac_key:
        return BsnVault(settings.bsn_encryption_keys, settings.bsn_hmac_key)
    if not settings.demo:
        raise ValueError("DOORSTEP_BSN_ENCRYPTION_KEYS and DOORSTEP_BSN_HMAC_KEY are required outside demo mode")
    return _demo_vault(settings.var_dir)


def generate_data_key(kid: str) -> DataKey:
    return DataKey(kid=kid, key=base64.b64encode(os.urandom(32)).decode())


def _demo_vault(var_dir: Path) -> BsnVault:
    stored = json.loads(
        read_or_create(
            var_dir / "demo-bsn-keys.json",
            lambda: json.dumps(
                {"keys": [generate_data_key("demo").model_dump()], "hmac": base64.b64encode(os.urandom(32)).decode()}
            ),
        )
    )
    return BsnVault([DataKey.model_validate(key) for key in stored["keys"]], stored["hmac"])
