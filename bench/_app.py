"""The app factory uvicorn runs for benchmarks (`--factory bench._app:make`), configured by environment."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app, settled
from api.settings import Settings


def make() -> FastAPI:
    return settled(create_app(Settings()))
