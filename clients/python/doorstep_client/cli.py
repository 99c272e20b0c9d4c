"""`doorstep-field`: a command-line field device that behaves as the phone app must."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from clients.python.doorstep_client.device import DeviceError, FieldDevice
from clients.python.doorstep_client.sdk import ApiError

app = typer.Typer(help="A Doorstep field device on the command line.", no_args_is_help=True, add_completion=False)
Home = Annotated[Path, typer.Option(envvar="DOORSTEP_FIELD_HOME", help="Where this device keeps its store and key.")]
Server = Annotated[str, typer.Option(envvar="DOORSTEP_FIELD_SERVER", help="The Doorstep API.")]
DEFAULT_HOME = Path(os.path.expanduser("~/.doorstep-field"))
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _device(home: Path, server: str) -> FieldDevice:
    return FieldDevice(home, server)


def _run(home: Path, server: str, work) -> None:  # type: ignore[no-untyped-def]
    device = _device(home, server)
    try:
        work(device)
    except (DeviceError, ApiError) as exc:
        typer.secho(f"{type(exc).__name__}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    finally:
        if device.home.exists():
            device.close()


@app.command()
def enroll(
    username: str,
    label: Annotated[str, typer.Option(help="Shown to the back office.")] = "doorstep-field",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)] = "",
    home: Home = DEFAULT_HOME,
    server: Server = DEFAULT_SERVER,
) -> None:
    """Generate this device's key pair (private key stays here, mode 0600) and enroll it."""
    _run(home, server, lambda d: typer.echo(f"enrolled device {d.enroll(username, password, label)}"))


@app.command()
def pull(home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Fetch and decrypt the visit list; apply it to the local store."""

    def work(device: FieldDevice) -> None:
        summary = device.pull()
        typer.echo(
            f"{'full' if summary.full else 'incremental'} list: {summary.upserts} case(s) updated, "
            f"{len(summary.removed)} removed"
        )
        for removal in summary.removed:
            typer.echo(f"  removed {removal['case_id']}: {removal['reason']}")

    _run(home, server, work)


@app.command("list")
def list_cases(home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Today's visits (refused when the list has expired)."""

    def work(device: FieldDevice) -> None:
        for case in device.cases():
            address = case["address"]
            typer.echo(
                f"{case['id']}  v{case['version']}  due {case['first_contact_due_date']}  "
                f"{address['street']} {address['house_number']}{address['house_number_addition'] or ''}, "
                f"{address['postcode']}  next: {case['planned_action'] or '-'}"
            )

    _run(home, server, work)


@app.command()
def visit(
    case_id: str,
    not_home: Annotated[bool, typer.Option("--not-home", help="Nobody opened (a card is left too).")] = False,
    no_card: Annotated[bool, typer.Option("--no-card", help="With --not-home: no card left.")] = False,
    reached: Annotated[bool, typer.Option("--reached", help="Somebody was spoken to.")] = False,
    accepted: Annotated[bool, typer.Option("--accepted", help="With --reached: help accepted.")] = False,
    declined: Annotated[str | None, typer.Option("--declined", help="With --reached: help declined, and why.")] = None,
    home: Home = DEFAULT_HOME,
    server: Server = DEFAULT_SERVER,
) -> None:
    """Record a doorstep visit offline."""
    if not_home == reached:
        raise typer.BadParameter("say --not-home or --reached")
    if accepted and declined:
        raise typer.BadParameter("--accepted and --declined exclude each other")

    def work(device: FieldDevice) -> None:
        events = (
            device.not_home(case_id, card=not no_card)
            if not_home
            else device.reached(case_id, accepted=accepted, declined_reason=declined)
        )
        typer.echo(f"recorded {len(events)} event(s) offline")

    _run(home, server, work)


@app.command()
def card(case_id: str, home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Record a card left at the door."""
    _run(home, server, lambda d: typer.echo(f"recorded {d.record(case_id, 'card_left')}"))


@app.command()
def note(case_id: str, text: str, home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Record a note on a case."""
    _run(home, server, lambda d: typer.echo(f"recorded {d.record(case_id, 'note', {'text': text})}"))


@app.command()
def push(home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Send the outbox (batches, retries); every event keeps its server result."""

    def work(device: FieldDevice) -> None:
        s = device.push()
        typer.echo(
            f"sent {s.sent}: {s.applied} applied, {s.duplicate} duplicate, {s.conflict} conflict, {s.rejected} rejected"
        )

    _run(home, server, work)


@app.command()
def outbox(home: Home = DEFAULT_HOME, server: Server = DEFAULT_SERVER) -> None:
    """Every recorded event and what the server said about it."""

    def work(device: FieldDevice) -> None:
        for event in device.store.events():
            typer.echo(f"{event['event_id']}  {event['kind']:<14} {event['status']:<9} {event['reason'] or ''}")

    _run(home, server, work)


@app.command()
def wipe(
    force: Annotated[bool, typer.Option("--force", help="Also when events were never acknowledged.")] = False,
    home: Home = DEFAULT_HOME,
    server: Server = DEFAULT_SERVER,
) -> None:
    """Delete this device's store and key."""

    def work(device: FieldDevice) -> None:
        pending = len(device.store.pending())
        if pending and not force:
            raise DeviceError(f"{pending} event(s) were never acknowledged by the server: push first, or --force")
        device.wipe()
        typer.echo("wiped")

    _run(home, server, work)


if __name__ == "__main__":
    app()
