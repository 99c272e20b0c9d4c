"""The field app as the service serves it: only its build, with the headers a PWA and a strict CSP need."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient

from api.field_app.routes import STATIC
from clients.gen_web_protocol import TARGET, render

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "clients" / "web"
SHELL_BUDGET_BYTES = 150 * 1024


def test_the_app_is_served_at_field_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/field/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/field/app.js"></script>' in response.text
    assert "style=" not in response.text and "<style" not in response.text
    assert client.get("/field", follow_redirects=False).headers["location"] == "/field/"
    assert client.head("/field/").status_code == 200


def test_the_service_worker_may_control_the_app_and_is_always_asked_for_again(client: TestClient) -> None:
    response = client.get("/field/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/field/"
    assert response.headers["cache-control"] == "no-cache"
    assert "/v1/" not in response.text  # the worker never touches the API: personal data is not cached


def test_the_manifest_is_served_as_a_manifest(client: TestClient) -> None:
    response = client.get("/field/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == "/field/" and manifest["scope"] == "/field/" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).headers["content-type"] == "image/png"


def test_only_the_files_of_the_build_are_served(client: TestClient) -> None:
    for path in ("/field/nothing.js", "/field/..%2Fapp.py", "/field/routes.py", "/field/%2e%2e"):
        assert client.get(path).status_code == 404, path


def test_the_field_app_is_not_part_of_the_api_document(client: TestClient) -> None:
    spec = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert not [path for path in spec["paths"] if path.startswith("/field")]


def test_the_app_shell_fits_its_budget() -> None:
    shell = json.loads((STATIC / "version.json").read_text())["shell"]
    files = {url: STATIC / ("index.html" if url == "/field/" else url.removeprefix("/field/")) for url in shell}
    gzipped = {url: len(gzip.compress(path.read_bytes(), 9)) for url, path in files.items()}
    total = sum(gzipped.values()) + len(gzip.compress((STATIC / "sw.js").read_bytes(), 9))
    out = ROOT / "test-output" / "field"
    out.mkdir(parents=True, exist_ok=True)
    (out / "shell-size.json").write_text(json.dumps({"gzipped_bytes": gzipped, "total_with_sw": total}, indent=1))
    assert total <= SHELL_BUDGET_BYTES


def test_the_app_carries_the_sync_protocol_of_this_service() -> None:
    assert TARGET.read_text() == render(), "run: make openapi, then make field-app"


def test_the_committed_build_is_the_build_of_the_sources() -> None:
    """The build's version is a hash of its inputs (clients/web/build.mjs): a changed source
    without `make field-app` shows here, even where Node is not installed."""
    names = [
        "package.json",
        "package-lock.json",
        "build.mjs",
        *(f"src/{p.name}" for p in sorted((WEB / "src").iterdir())),
        *(f"public/{p.name}" for p in sorted((WEB / "public").iterdir())),
    ]
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (WEB / name).read_bytes() + b"\0")
    package = json.loads((WEB / "package.json").read_text())
    built = json.loads((STATIC / "version.json").read_text())["version"]
    assert built == f"{package['version']}+{digest.hexdigest()[:12]}", "run: make field-app"
