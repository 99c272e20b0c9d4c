"""Everything the console adds to the app: its screens and its static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.console.screens import (
    bkr,
    cases,
    conflicts,
    devices,
    login,
    not_found,
    planning,
    privacy,
    reports,
    signals,
    today,
)
from api.console.web import DOWNLOADS, HERE

SCREENS = (login, today, cases, conflicts, planning, signals, devices, bkr, reports, privacy)
UPLOAD_PATH = "/console/signalen"


def install(app: FastAPI) -> None:
    for screen in SCREENS:
        app.include_router(screen.router)
    # Where signing in may land: a screen, never a download (see `web.DOWNLOADS`).
    app.state.console_screens = [
        route.path_regex
        for screen in SCREENS
        for route in screen.router.routes
        if isinstance(route, APIRoute) and route.methods and "GET" in route.methods and route.name not in DOWNLOADS
    ]
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    # Last: it takes every other /console address.
    app.include_router(not_found.router)
