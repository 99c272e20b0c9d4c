"""Signalen in the console: uploading a platform file, its report, the quarantine download, refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, Signal, SignalImport, StaffUser
from tests.console.helpers import browser, csrf_on, sign_in, submit, text_of
from tests.factories import csv_file, make_user, read, row

PAGE = "/console/signalen"


def upload(
    office: TestClient, content: bytes, *, name: str = "vps.csv", mode: str | None = None, kind: str = "text/csv"
):  # type: ignore[no-untyped-def]
    data = {"mode": mode} if mode else {}
    return submit(office, PAGE, PAGE, data, files={"file": (name, content, kind)})


def test_the_upload_page_has_the_form_and_lists_recent_imports(office: TestClient) -> None:
    upload(office, csv_file(row("S1")))
    page = office.get(PAGE)
    assert page.status_code == 200
    html = page.text
    assert 'enctype="multipart/form-data"' in html and '<label for="u-file">' in html
    assert "<legend>" in html and 'value="all-or-nothing" checked' in html and 'value="accept-valid"' in html
    assert '<script src="/console/static/signalen.js" defer></script>' in html
    assert 'aria-live="polite"' in html and "<progress" in html
    assert "<script>" not in html and "style=" not in html
    text = text_of(page)
    assert "vps.csv" in text and "Verwerkt" in text and "Alles of niets" in text


def test_all_or_nothing_with_one_bad_row_shows_the_line_column_and_reason_and_stores_nothing(
    office: TestClient, session: Session
) -> None:
    response = upload(office, csv_file(row("S1"), row("S2", partner="Bakker"), row("S3", postcode="1055AB")))
    assert response.status_code == 303
    [imported] = read(session, select(SignalImport))
    assert response.headers["location"] == f"/console/signalen/{imported.id}"

    report = office.get(response.headers["location"])
    assert report.status_code == 200
    text = text_of(report)
    assert "afgewezen; er is niets ingelezen" in text
    assert '<td class="getal">3</td><td>signaalpartner_type</td>' in report.text.replace("\n", "")
    reason = imported.report["errors"][0]["reason"]
    assert reason and reason in report.text
    assert "quarantaine" not in report.text  # all-or-nothing keeps no quarantine
    assert read(session, select(Signal)) == []


def test_accept_valid_stores_the_good_rows_and_offers_the_quarantine_with_the_bad_row(
    office: TestClient, session: Session
) -> None:
    response = upload(
        office, csv_file(row("S1"), row("S2", partner="Bakker"), row("S3", postcode="1055AB")), mode="accept-valid"
    )
    assert response.status_code == 303
    report = office.get(response.headers["location"])
    [imported] = read(session, select(SignalImport))
    assert (imported.mode, imported.status, imported.created_count) == ("accept-valid", "completed", 2)
    assert {s.external_id for s in read(session, select(Signal))} == {"S1", "S3"}
    link = f"/console/signalen/{imported.id}/quarantaine"
    assert f'href="{link}"' in report.text
    assert "Geldige regels verwerken" in text_of(report)

    download = office.get(link)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("3;S2;Bakker") and "partner_type" in lines[1]
    assert download.headers["cache-control"] == "no-store"
    actions = read(session, select(AuditEntry.action))
    assert "signals.import" in actions and "signals.quarantine-download" in actions


def test_the_report_warns_about_unknown_columns_and_creditors_without_agreement(office: TestClient) -> None:
    header = "signaal_id;signaalpartner_type;schuldeiser;signaaldatum;postcode;huisnummer;lievelingskleur"
    response = upload(office, csv_file("S1;Huur;Ymere;2026-11-03;1053KL;12;blauw", header=header))
    text = text_of(office.get(response.headers["location"]))
    assert "Onbekende kolommen, niet ingelezen: lievelingskleur" in text
    assert "Schuldeisers zonder convenant" in text and "Ymere" in text


def test_a_wrong_file_type_shows_the_upload_page_with_the_error_and_stores_nothing(
    office: TestClient, session: Session
) -> None:
    response = upload(
        office, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, name="photo.png", kind="image/png", mode="accept-valid"
    )
    assert response.status_code == 415
    text = text_of(response)
    assert "Dit bestandstype kan niet worden ingelezen." in text
    assert 'enctype="multipart/form-data"' in response.text  # the upload page again, ready for another file
    assert 'value="accept-valid" checked' in response.text  # the chosen mode is kept
    assert read(session, select(SignalImport)) == [] and read(session, select(Signal)) == []
    assert "signals.import" not in read(session, select(AuditEntry.action))


def test_an_empty_file_and_no_file_at_all_are_refused(office: TestClient, session: Session) -> None:
    empty = upload(office, b"", name="leeg.csv")
    assert empty.status_code == 422 and "empty" in empty.text
    nothing = submit(
        office, PAGE, PAGE, {"mode": "all-or-nothing"}, files={"file": ("", b"", "application/octet-stream")}
    )
    assert nothing.status_code == 422 and 'enctype="multipart/form-data"' in nothing.text
    assert read(session, select(SignalImport)) == []


def test_an_unknown_mode_is_refused(office: TestClient, session: Session) -> None:
    response = upload(office, csv_file(row("S1")), mode="whatever")
    assert response.status_code == 422
    assert read(session, select(SignalImport)) == [] and read(session, select(Signal)) == []


def test_the_upload_without_the_csrf_token_stores_nothing(office: TestClient, session: Session) -> None:
    csrf_on(office, PAGE)
    response = office.post(
        PAGE, data={"mode": "accept-valid"}, files={"file": ("vps.csv", csv_file(row("S1")), "text/csv")}
    )
    assert response.status_code == 403
    assert read(session, select(SignalImport)) == [] and read(session, select(Signal)) == []


def test_an_oversized_upload_is_refused_before_it_is_read(office: TestClient, session: Session, app) -> None:  # type: ignore[no-untyped-def]
    limit = app.state.settings.max_import_bytes
    assert f'data-max-bytes="{limit}"' in office.get(PAGE).text  # the script checks this before sending
    response = office.post(
        PAGE,
        content=b"x" * 10,
        headers={"Content-Length": str(limit + 1), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")  # a page for the person, not JSON
    assert "Het bestand is te groot" in response.text
    assert read(session, select(SignalImport)) == []


def test_another_municipalitys_import_is_not_found(office: TestClient, session: Session, app) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_municipality

    make_municipality(session, code="0599", name="Rotterdam")
    other = make_user(session, code="0599", role="backoffice")
    with browser(app) as rotterdam:
        assert sign_in(rotterdam, other.username).status_code == 303
        response = upload(rotterdam, csv_file(row("R1")))
        location = response.headers["location"]
    assert office.get(location).status_code == 404
    assert office.get(f"{location}/quarantaine").status_code == 404
    assert "vps.csv" not in text_of(office.get(PAGE))


def test_a_worker_cannot_reach_the_signal_screens(app, session: Session, office_user: StaffUser) -> None:  # type: ignore[no-untyped-def]
    worker = make_user(session, role="worker")
    with browser(app) as client:
        assert sign_in(client, worker.username).status_code == 401
        page = client.get(PAGE)
        assert page.status_code == 303 and page.headers["location"].startswith("/console/inloggen")
        post = client.post(PAGE, files={"file": ("vps.csv", csv_file(row("S1")), "text/csv")})
        assert post.status_code == 303
    assert read(session, select(Signal)) == []


def test_the_progress_script_is_served_and_sends_the_form_itself(office: TestClient) -> None:
    script = office.get("/console/static/signalen.js")
    assert script.status_code == 200
    for part in ("XMLHttpRequest", "xhr.upload", "responseURL", "Bezig met uploaden… ", "Bestand wordt verwerkt…"):
        assert part in script.text


def test_a_file_over_the_row_limit_shows_the_upload_page_with_the_reason_and_stores_nothing(
    office: TestClient,
    session: Session,
    app,  # type: ignore[no-untyped-def]
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_import_rows": 1})
    response = upload(office, csv_file(row("S1"), row("S2", postcode="1055AB")), mode="accept-valid")
    assert response.status_code == 413
    assert "more than 1 rows" in text_of(response) and 'enctype="multipart/form-data"' in response.text
    assert read(session, select(SignalImport)) == [] and read(session, select(Signal)) == []
