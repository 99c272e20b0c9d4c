"""The `doorstep` command: serve, migrate, demo data, accounts, OpenAPI export."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlmodel import Session

from api.settings import Settings

app = typer.Typer(help="Doorstep: early signalling of payment arrears.", no_args_is_help=True, add_completion=False)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        typer.secho(f"Invalid configuration:\n{exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the API (uvicorn). Refuses demo credentials and default secrets outside demo mode."""
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging
    from api.safety import UnsafeConfiguration, check_credentials

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        application = create_app(settings)
        if not settings.demo:
            check_credentials(application.state.engine)
    except UnsafeConfiguration as exc:
        _fail(f"Refusing to start: {exc}")
        return
    if workers > 1:
        _fail("Run several replicas behind a load balancer instead of --workers (the app is built per process).")
    uvicorn.run(application, host=host, port=port, access_log=False, log_config=None, proxy_headers=True)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from api.db import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    typer.echo("Database migrated to head.")


@app.command()
def demo() -> None:
    """Migrate and load the demo municipality (0363) with staff, a partner and signals. Idempotent."""
    from api.db import make_engine
    from api.db import migrate as run_migrations
    from api.demo import DEMO_CODE, DEMO_STAFF, load_demo
    from api.safety import DEMO_PARTNER, DEMO_PASSWORD

    settings = _settings()
    if not settings.demo:
        _fail("Demo data is only loaded in demo mode (DOORSTEP_DEMO=true).")
    run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        result = load_demo(session, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    if result.created:
        typer.echo(f"Demo municipality {DEMO_CODE} loaded: {result.signals} signals in {result.cases} cases.")
    else:
        typer.echo(f"Demo municipality {DEMO_CODE} already present; nothing loaded again.")
    typer.echo("\nDemo credentials (demo mode only):")
    for username, display_name, role in DEMO_STAFF:
        typer.echo(f"  staff    {username:<12} password {DEMO_PASSWORD:<12} role {role:<10} ({display_name})")
    typer.echo(f"  partner  {DEMO_PARTNER[0]:<12} secret   {DEMO_PARTNER[1]:<12} scopes signals:write cases:read reports:read")
    typer.echo("\nInteractive API docs: http://127.0.0.1:8000/docs\n")


@app.command("create-municipality")
def create_municipality(
    code: Annotated[str, typer.Argument(help="CBS gemeentecode, four digits.")],
    name: Annotated[str, typer.Argument(help="Name of the municipality.")],
) -> None:
    """Register a municipality (tenant) with the default settings."""
    from api.db import make_engine
    from api.models import Municipality
    from api.policy import MunicipalitySettings
    from api.sequence import start_sequence

    if not (len(code) == 4 and code.isdigit()):
        _fail("The gemeentecode is four digits, e.g. 0363.")
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        if session.get(Municipality, code) is not None:
            _fail(f"Municipality {code} exists already.")
        session.add(Municipality(code=code, name=name, settings=MunicipalitySettings().model_dump(), created_at=datetime.now(UTC)))
        session.flush()
        start_sequence(session, code)
        session.commit()
    typer.echo(f"Municipality {code} ({name}) created.")


@app.command("create-user")
def create_user(
    municipality: Annotated[str, typer.Option(help="Gemeentecode of the user's municipality.")],
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="worker, backoffice or admin.")],
    display_name: Annotated[str, typer.Option(help="Name shown to colleagues.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a staff account (the first admin of a municipality is made this way)."""
    from api.auth import service
    from api.auth.schemas import UserCreate
    from api.db import make_engine
    from api.models import Municipality
    from api.problems import ProblemError

    try:
        body = UserCreate(username=username, display_name=display_name, role=role, password=password)  # type: ignore[arg-type]
    except ValidationError as exc:
        _fail(f"Not created: {exc}")
        return
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        if session.get(Municipality, municipality) is None:
            _fail(f"Municipality {municipality} does not exist (doorstep create-municipality).")
        try:
            user = service.create_user(
                session, municipality_code=municipality, username=body.username, display_name=body.display_name,
                role=body.role, password=body.password, now=datetime.now(UTC),
            )
        except ProblemError as exc:
            _fail(f"Not created: {exc.detail}")
            return
        session.commit()
        typer.echo(f"User {user.username} ({user.role}) created with id {user.id}.")


@app.command("create-partner")
def create_partner(
    municipality: Annotated[str, typer.Option(help="Gemeentecode.")],
    client_id: Annotated[str, typer.Option(help="Client id the partner logs in with.")],
    name: Annotated[str, typer.Option(help="Partner name.")],
    scope: Annotated[list[str], typer.Option(help="signals:write, cases:read or reports:read; repeat.")],
    secret: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Register an integration partner with client credentials."""
    from api.auth import service
    from api.db import make_engine
    from api.problems import ProblemError

    if len(secret) < 24:
        _fail("A client secret has at least 24 characters.")
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        try:
            client = service.create_partner(
                session, municipality_code=municipality, client_id=client_id, name=name, secret=secret, scopes=scope,
                now=datetime.now(UTC),
            )
        except (ProblemError, ValueError) as exc:
            _fail(f"Not created: {getattr(exc, 'detail', None) or exc}")
            return
        session.commit()
        typer.echo(f"Partner {client.client_id} created with scopes {' '.join(client.scopes)}.")


@app.command("generate-signing-key")
def generate_signing_key() -> None:
    """Print a new RSA signing key as JSON for DOORSTEP_JWT_SIGNING_KEYS (prepend it to rotate)."""
    from api.auth.keys import generate_signing_key as generate

    typer.echo(json.dumps([generate().model_dump()]))


@app.command()
def openapi(target: Annotated[Path, typer.Argument(help="Where to write the document; - for stdout.")] = Path("-")) -> None:
    """Write the OpenAPI document generated from the app."""
    from api.openapi_export import openapi_json

    document = openapi_json()
    if str(target) == "-":
        sys.stdout.write(document)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document)
        typer.echo(f"Wrote {target}.")
