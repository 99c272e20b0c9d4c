"""The `doorstep` command: serve, migrate, demo data, accounts, OpenAPI export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
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


def _secret(label: str, *, from_stdin: bool) -> str:
    """A password or secret from a hidden prompt (asked twice), or from stdin for scripts."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            _fail(f"{label}: nothing on standard input.")
        return line.rstrip("\r\n")
    return str(typer.prompt(label, hide_input=True, confirmation_prompt=True))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the API (uvicorn). Refuses demo credentials and default secrets outside demo mode."""
    import uvicorn

    from api.app import create_app, settled
    from api.auth.safety import UnsafeConfiguration, check_credentials
    from api.platform.logs import configure_logging

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
    uvicorn.run(settled(application), host=host, port=port, access_log=False, log_config=None, proxy_headers=True)


@app.command("bkr-worker")
def bkr_worker(
    once: Annotated[bool, typer.Option(help="Deliver what is due now, then stop.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between rounds.")] = 5.0,
) -> None:
    """Deliver BKR registrations from the outbox. Run as many as you like: they never send one twice."""
    import threading
    from datetime import timedelta

    from api.bkr.client import HttpBkrClient
    from api.bkr.outbox import deliver_due, run_worker
    from api.platform.db import make_engine
    from api.platform.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    try:
        url, username, password = settings.bkr_endpoint()
    except ValueError as exc:
        _fail(f"Refusing to start: {exc}")
        return
    if settings.bkr_lease_seconds <= settings.bkr_timeout_seconds:
        _fail("Refusing to start: DOORSTEP_BKR_LEASE_SECONDS must exceed DOORSTEP_BKR_TIMEOUT_SECONDS.")
    engine = make_engine(settings.database_url)
    client = HttpBkrClient(url, username=username, password=password, timeout_seconds=settings.bkr_timeout_seconds)
    options = {
        "clock": lambda: datetime.now(UTC),
        "lease": timedelta(seconds=settings.bkr_lease_seconds),
        "max_attempts": settings.bkr_max_attempts,
    }
    try:
        if once:
            stats = deliver_due(engine, client, **options)  # type: ignore[arg-type]
        else:
            stop = threading.Event()
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, lambda *_: stop.set())
            typer.echo(f"BKR worker: delivering to {url} every {interval:g} s (Ctrl-C stops)", err=True)
            stats = run_worker(engine, client, interval_seconds=interval, stop=stop, **options)  # type: ignore[arg-type]
    finally:
        client.close()
        engine.dispose()
    typer.echo(f"delivered {stats.delivered}, to retry {stats.retried}, rejected {stats.rejected}")


@app.command("bkr-double")
def bkr_double(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8100,
) -> None:
    """Run the BKR test double (in memory; for tests and the demo, never production)."""
    import uvicorn

    from bkr_double.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@app.command("demo-stack")
def demo_stack(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port of the API.")] = 8000,
    bkr_port: Annotated[int, typer.Option(help="TCP port of the BKR test double.")] = 8100,
) -> None:
    """The demo as `make run` starts it: the API, the BKR test double, the BKR worker and the daily purge."""
    import os

    settings = _settings()
    if not settings.demo:
        _fail("demo-stack runs in demo mode only (DOORSTEP_DEMO=true).")
    env = {**os.environ, "DOORSTEP_BKR_URL": os.environ.get("DOORSTEP_BKR_URL", f"http://{host}:{bkr_port}")}
    if "DOORSTEP_BKR_URL" not in os.environ:
        from api.settings import DEMO_BKR_PASSWORD, DEMO_BKR_USERNAME

        env.update(DOORSTEP_BKR_USERNAME=DEMO_BKR_USERNAME, DOORSTEP_BKR_PASSWORD=DEMO_BKR_PASSWORD)
    # SIGTERM (a service manager, `kill`, a closing terminal) must end the children too. Uvicorn
    # catches it while serving and raises it again once it has shut down, with the handler found
    # before it started: this one, which unwinds through the `finally` below instead of ending the
    # process on the spot and leaving the BKR double and worker running without their parent.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    children: list[subprocess.Popen[bytes]] = []
    try:
        children.append(subprocess.Popen([sys.executable, "-m", "bkr_double", "--host", host, "--port", str(bkr_port)]))
        children.append(subprocess.Popen([sys.executable, "-m", "api.cli", "bkr-worker", "--interval", "2"], env=env))
        # Retention runs by itself: now, then daily (as the compose file and the deployment do).
        children.append(subprocess.Popen([sys.executable, "-m", "api.cli", "purge", "--repeat-hours", "24"], env=env))
        typer.echo(
            f"BKR test double on http://{host}:{bkr_port}, BKR worker every 2 s, retention purge daily", err=True
        )
        serve(host=host, port=port, workers=1)
    finally:
        stop(children)


def _exit_on_signal(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def stop(processes: Sequence[subprocess.Popen[bytes]], *, seconds: float = 10) -> None:
    """Ask every process to end, then kill any that has not within `seconds`."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    from api.platform.db import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    typer.echo("Database migrated to head.")


@app.command()
def demo() -> None:
    """Migrate and load the demo municipality (0363) with staff, a partner and signals. Idempotent."""
    from api.auth.safety import DEMO_PARTNER, DEMO_PASSWORD
    from api.demo import DEMO_CODE, DEMO_STAFF, load_demo
    from api.platform.db import make_engine
    from api.platform.db import migrate as run_migrations

    settings = _settings()
    if not settings.demo:
        _fail("Demo data is only loaded in demo mode (DOORSTEP_DEMO=true).")
    run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    from api.signals.bsn import vault_from_settings

    with Session(engine) as session:
        result = load_demo(session, vault=vault_from_settings(settings), now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    if result.created:
        typer.echo(f"Demo municipality {DEMO_CODE} loaded: {result.signals} signals in {result.cases} cases.")
    else:
        typer.echo(f"Demo municipality {DEMO_CODE} already present; nothing loaded again.")
    typer.echo("\nDemo credentials (demo mode only):")
    for username, display_name, role in DEMO_STAFF:
        typer.echo(f"  staff    {username:<12} password {DEMO_PASSWORD:<12} role {role:<10} ({display_name})")
    typer.echo(
        f"  partner  {DEMO_PARTNER[0]:<12} secret   {DEMO_PARTNER[1]:<12} scopes signals:write cases:read feedback:read reports:read"
    )
    typer.echo("\nBack-office console: http://127.0.0.1:8000/console (office / demo)")
    typer.echo("Field app (on a phone, or a narrow window): http://127.0.0.1:8000/field/ (worker1 / demo)")
    typer.echo("Interactive API docs: http://127.0.0.1:8000/docs\n")


@app.command("create-municipality")
def create_municipality(
    code: Annotated[str, typer.Argument(help="CBS gemeentecode, four digits.")],
    name: Annotated[str, typer.Argument(help="Name of the municipality.")],
) -> None:
    """Register a municipality (tenant) with the default settings."""
    from api.models import Municipality
    from api.municipality.policy import MunicipalitySettings
    from api.platform.db import make_engine
    from api.platform.sequence import start_sequence

    if not (len(code) == 4 and code.isdigit()):
        _fail("The gemeentecode is four digits, e.g. 0363.")
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        if session.get(Municipality, code) is not None:
            _fail(f"Municipality {code} exists already.")
        session.add(
            Municipality(
                code=code,
                name=name,
                settings=MunicipalitySettings().model_dump(mode="json"),
                created_at=datetime.now(UTC),
            )
        )
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
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input instead of a prompt."
        ),
    ] = False,
) -> None:
    """Create a staff account (the first admin of a municipality is made this way).

    The password is asked for at a prompt (or read from standard input), never taken from the
    command line, where the shell's history and any `ps` on the machine would show it."""
    from api.auth import service
    from api.auth.schemas import UserCreate
    from api.models import Municipality
    from api.platform.db import make_engine
    from api.platform.problems import ProblemError

    password = _secret("Password", from_stdin=password_stdin)
    try:
        body = UserCreate(username=username, display_name=display_name, role=role, password=password)
    except ValidationError as exc:
        # Field and message only: pydantic's own text would echo the password.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(f"Not created: {problems}")
        return
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        if session.get(Municipality, municipality) is None:
            _fail(f"Municipality {municipality} does not exist (doorstep create-municipality).")
        try:
            user = service.create_user(
                session,
                municipality_code=municipality,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                password=body.password,
                now=datetime.now(UTC),
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
    scope: Annotated[list[str], typer.Option(help="signals:write, cases:read, feedback:read or reports:read; repeat.")],
    secret_stdin: Annotated[
        bool,
        typer.Option(
            "--secret-stdin", help="Read the client secret from the first line of standard input instead of a prompt."
        ),
    ] = False,
) -> None:
    """Register an integration partner with client credentials (the secret at a prompt or on stdin)."""
    from api.auth import service
    from api.platform.db import make_engine
    from api.platform.problems import ProblemError

    secret = _secret("Client secret", from_stdin=secret_stdin)
    if len(secret) < 24:
        _fail("A client secret has at least 24 characters.")
    settings = _settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        try:
            client = service.create_partner(
                session,
                municipality_code=municipality,
                client_id=client_id,
                name=name,
                secret=secret,
                scopes=scope,
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


@app.command("import")
def import_signals(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, XLSX or DDAS JSON file from the exchange platform.", exists=True, dir_okay=False, readable=True
        ),
    ],
    municipality: Annotated[str, typer.Option(help="Gemeentecode to import for.")],
    mode: Annotated[str, typer.Option(help="all-or-nothing or accept-valid.")] = "all-or-nothing",
) -> None:
    """Import a platform file of signals, with a progress bar and a summary table."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from api.auth.principal import Principal
    from api.models import Municipality
    from api.platform.db import make_engine
    from api.signals import imports
    from api.signals.bsn import vault_from_settings
    from api.signals.parsing import FileRefused
    from api.signals.service import Mode

    if mode not in ("all-or-nothing", "accept-valid"):
        _fail("--mode is all-or-nothing or accept-valid.")
    chosen: Mode = "accept-valid" if mode == "accept-valid" else "all-or-nothing"
    settings = _settings()
    engine = make_engine(settings.database_url)
    console = Console()
    with Session(engine, expire_on_commit=False) as session, file.open("rb") as data:
        tenant = session.get(Municipality, municipality)
        if tenant is None:
            _fail(f"Municipality {municipality} does not exist.")
            return
        size = file.stat().st_size
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(f"Importing {file.name}", total=size)
            try:
                imported = imports.import_file(
                    session,
                    municipality=tenant,
                    stream=data,
                    filename=file.name,
                    mode=chosen,
                    actor=Principal(kind="system", actor_id="cli", municipality_code=municipality),
                    vault=vault_from_settings(settings),
                    limits=settings.import_limits(),
                    now=datetime.now(UTC),
                    progress=lambda: progress.update(task, completed=min(data.tell(), size)),
                )
            except FileRefused as exc:
                _fail(f"Refused: {exc.reason}")
                return
        session.commit()
    import_row, report = imported.row, imported.report
    console.print(f"Import {import_row.id}: {import_row.status}")
    table = Table()
    table.add_column("rows", justify="right")
    for label in ("created", "duplicates", "repeats", "rejected", "cases opened", "cases updated"):
        table.add_column(label, justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                report.total,
                report.created,
                report.duplicates,
                report.repeats,
                report.rejected,
                report.cases_opened,
                report.cases_updated,
            )
        )
    )
    console.print(table)
    for error in report.errors[:20]:
        console.print(f"  line {error['line']}, {error['column'] or 'row'}: {error['reason']}")
    for warning in import_row.report.get("warnings", []):
        console.print(warning)
    for creditor in import_row.report.get("creditors_without_agreement", []):
        console.print(f"Not in the register of agreements: {creditor['creditor']} ({creditor['partner_type']})")
    for partner_type, count in report.below_threshold.items():
        console.print(f"Below the municipality's threshold: {count} {partner_type} signal(s)")
    if import_row.status == "rejected":
        raise typer.Exit(1)


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be erased; change nothing.")] = False,
    municipality: Annotated[str | None, typer.Option(help="Only this gemeentecode.")] = None,
    repeat_hours: Annotated[
        float | None, typer.Option(help="Keep running, purging every N hours (a scheduled job).")
    ] = None,
) -> None:
    """Erase personal data of cases closed without a trajectory longer than retention_months ago."""
    import time

    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import select

    from api.cases.retention import purge as run_purge
    from api.models import Municipality
    from api.platform.db import make_engine
    from api.signals.bsn import vault_from_settings

    settings = _settings()
    engine = make_engine(settings.database_url)
    vault = vault_from_settings(settings)
    while True:
        failed = 0
        try:
            with Session(engine) as session:
                query = select(Municipality.code)
                if municipality:
                    query = query.where(Municipality.code == municipality)
                codes = list(session.exec(query).all())
        except SQLAlchemyError as exc:
            if repeat_hours is None:
                raise
            codes, failed = [], 1
            typer.echo(f"purge could not reach the database: {type(exc).__name__}", err=True)
        # One transaction per municipality: one that fails (a lock, a key problem) does not undo
        # or stop the others, and a scheduled purge tries it again at the next run (the
        # dashboard shows the missed day).
        for code in codes:
            try:
                with Session(engine) as session:
                    tenant = session.get(Municipality, code)
                    assert tenant is not None
                    result = run_purge(session, vault, municipality=tenant, now=datetime.now(UTC), dry_run=dry_run)
                    if not dry_run:
                        session.commit()
            except Exception as exc:  # noqa: BLE001 - reported, and the other municipalities go on
                if repeat_hours is None and not isinstance(exc, SQLAlchemyError | ValueError):
                    raise
                failed += 1
                typer.echo(f"{code}: purge failed ({type(exc).__name__}); tried again at the next run", err=True)
                continue
            verb = "would erase" if dry_run else "erased"
            typer.echo(
                f"{code}: {verb} {len(result.case_ids)} case(s), "
                f"{result.caseless_signals} signal(s) without a case, "
                f"{result.quarantined_rows} quarantined row(s), "
                f"{result.bkr_removals} BKR removal(s) {'due' if dry_run else 'queued'}"
            )
            for case_id in result.case_ids:
                typer.echo(f"  case {case_id}")
        if repeat_hours is None:
            if failed:
                raise typer.Exit(1)
            return
        time.sleep(repeat_hours * 3600)


@app.command("generate-bsn-keys")
def generate_bsn_keys(kid: Annotated[str, typer.Option(help="Key id stored with each ciphertext.")] = "k1") -> None:
    """Print a new BSN encryption key and hash key as environment assignments."""
    import base64
    import os

    from api.signals.bsn import generate_data_key

    typer.echo(f"DOORSTEP_BSN_ENCRYPTION_KEYS='{json.dumps([generate_data_key(kid).model_dump()])}'")
    typer.echo(f"DOORSTEP_BSN_HMAC_KEY='{base64.b64encode(os.urandom(32)).decode()}'")


@app.command()
def openapi(
    target: Annotated[Path, typer.Argument(help="Where to write the document; - for stdout.")] = Path("-"),
) -> None:
    """Write the OpenAPI document generated from the app."""
    from api.openapi_export import openapi_json

    document = openapi_json()
    if str(target) == "-":
        sys.stdout.write(document)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document)
        typer.echo(f"Wrote {target}.")


if __name__ == "__main__":
    app()
