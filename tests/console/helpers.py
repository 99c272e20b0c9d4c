"""Driving the console like a browser does: a cookie jar on https, forms with their CSRF token."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(app: FastAPI) -> TestClient:
    """The session cookie is Secure outside demo mode, so the browser speaks https."""
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False, follow_redirects=False)


def csrf_on(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, *, next_url: str = "/console") -> Response:
    token = csrf_on(client, "/console/inloggen")
    return client.post(
        "/console/inloggen",
        data={"username": username, "password": password, "csrf_token": token, "volgende": next_url},
    )


def submit(client: TestClient, page: str, action: str, data: dict[str, str | list[str]], **kwargs) -> Response:  # type: ignore[no-untyped-def]
    """Post a form of `page` to `action`, with the CSRF token that page carries."""
    return client.post(action, data={"csrf_token": csrf_on(client, page), **data}, **kwargs)


def text_of(response: Response) -> str:
    """The page's visible text, roughly: tags out, whitespace folded (for asserting what a user reads)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))
