"""Everything the console adds to the app: its screens and its static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console.screens import bkr, cases, devices, login, signals, today
from api.console.web import HERE

SCREENS = (login, today, cases, signals, devices, bkr)
UPLOAD_PATH = "/console/signalen"


def install(app: FastAPI) -> None:
    for screen in SCREENS:
        app.include_router(screen.router)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
