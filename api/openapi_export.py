"""The committed OpenAPI document, rendered the same way by `make openapi` and by the drift test."""

from __future__ import annotations

import base64
import json

from fastapi import FastAPI
from sqlalchemy import create_engine

from api.app import create_app
from api.auth.keys import generate_signing_key
from api.settings import Settings
from api.signals.bsn import generate_data_key


def document_app() -> FastAPI:
    """The app as the document sees it: a throwaway key and an unused in-memory engine."""
    settings = Settings(
        demo=False,
        jwt_signing_keys=[generate_signing_key()],
        database_url="sqlite://",
        bsn_encryption_keys=[generate_data_key("openapi")],
        bsn_hmac_key=base64.b64encode(bytes(32)).decode(),
    )
    return create_app(settings, engine=create_engine("sqlite://"))


def openapi_json() -> str:
    # The document depends on code only.
    return json.dumps(document_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
