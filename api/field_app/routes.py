"""Serves the field app's build (`static/`, built from `clients/web/`) at /field/, same origin as the API.

Only the files of the build are served, by name, each with its own type: the app talks to
the API with the device's tokens and holds personal data, so its CSP is as strict as the
console's (no inline script or style, nothing from another origin), and the service worker
and manifest get the headers browsers look for.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response

STATIC = Path(__file__).parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".json": "application/json",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # The browser asks again every time (304 when unchanged); offline, the service worker answers.
    "Cache-Control": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _files() -> dict[str, Path]:
    return (
        {path.name: path for path in STATIC.iterdir() if path.is_file() and path.suffix in TYPES}
        if STATIC.is_dir()
        else {}
    )


def install(app: FastAPI) -> None:
    files = _files()  # read once: the build is part of the release, not something that changes while serving

    def serve(name: str) -> Response:
        path = files.get(name)
        if path is None:
            return Response(
                "Not found", status_code=404, media_type="text/plain", headers={"Cache-Control": "no-store"}
            )
        headers = dict(HEADERS)
        if name == "sw.js":
            headers["Service-Worker-Allowed"] = "/field/"
        return Response(path.read_bytes(), media_type=TYPES[path.suffix], headers=headers)

    @app.api_route("/field", methods=["GET", "HEAD"], include_in_schema=False)
    def field_root() -> RedirectResponse:
        return RedirectResponse("/field/", status_code=308)

    @app.api_route("/field/", methods=["GET", "HEAD"], include_in_schema=False)
    def field_index() -> Response:
        return serve("index.html")

    @app.api_route("/field/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    def field_file(name: str) -> Response:
        return serve(name)
