"""Issue 18's files against the service as a real process: its peak memory stays under 300 MB,
and each answers with the import's report or a 413/422 problem, never a 5xx or a timeout; so
does the download of the 100,000 rows one of them leaves in quarantine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from sqlmodel import Session

from api.cli import stop
from api.settings import SigningKey
from tests.factories import BSN_HMAC_KEY, BSN_KEYS, PASSWORD, make_municipality, make_user
from tests.processes import free_port, wait_until_up
from tests.signals.helpers import MAIN, PACKAGE, RELATIONSHIPS, SHEET_TYPE

ROOT = Path(__file__).resolve().parents[2]
PEAK_MB = 300

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")


@pytest.fixture
def server(
    db, database_url: str, signing_key: SigningKey, session: Session, tmp_path: Path
) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """`doorstep serve` on the test database, as production runs it: its URL and process id."""
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")},
        "DOORSTEP_DATABASE_URL": database_url,
        "DOORSTEP_DEMO": "false",
        "DOORSTEP_VAR_DIR": str(tmp_path),
        "DOORSTEP_JWT_SIGNING_KEYS": json.dumps([signing_key.model_dump()]),
        "DOORSTEP_BSN_ENCRYPTION_KEYS": json.dumps([key.model_dump() for key in BSN_KEYS]),
        "DOORSTEP_BSN_HMAC_KEY": BSN_HMAC_KEY,
        "DOORSTEP_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", process, "the API")
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop([process])
        session.rollback()


def megabytes(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def restart_peak(pid: int) -> bool:
    """Set the process's peak RSS (VmHWM) back to what it uses now; False where the kernel does not allow it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- the files, written as streams


def _workbook(path: Path, strings: list[str | bytes], rows: Iterator[bytes]) -> None:
    """An xlsx package as Excel writes one, its parts streamed into the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            '<sheet name="Signalen" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{SHEET_TYPE}" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<sst xmlns="{MAIN}">'.encode())
            for text in strings:
                part.write(b"<si><t>")
                if isinstance(text, bytes):  # the long one, in blocks
                    for _ in range(300):
                        part.write(text)
                else:
                    part.write(text.encode())
                part.write(b"</t></si>")
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            for row in rows:
                part.write(row)
            part.write(b"</sheetData></worksheet>")


HEADER = ["signaal_id", "signaalpartner_type", "signaaldatum", "achternaam", "postcode", "huisnummer"]


def _row(*strings: int, far: bool = False) -> bytes:
    cells = "".join(f'<c t="s"><v>{index}</v></c>' for index in strings)
    if far:
        cells += '<c r="XFD1" t="s"><v>6</v></c>'
    return f"<row>{cells}</row>".encode()


def xlsx_with_one_huge_cell(path: Path) -> None:
    """About 300 KB holding one cell of 300 MB (a surname), in the shared strings as Excel puts it."""
    strings: list[str | bytes] = [*HEADER, "VPS-1", "Huur", "2026-11-03", b"x" * 1_000_000, "1053KL", "12"]
    _workbook(path, strings, iter([_row(0, 1, 2, 3, 4, 5), _row(6, 7, 8, 9, 10, 11)]))


def xlsx_with_rows(path: Path, count: int) -> None:
    """Some 20 KB: rows of a signal id and a cell at column XFD, the last Excel has (openpyxl made
    each of them 16,384 values)."""
    _workbook(path, [*HEADER, "VPS-1"], iter([_row(0, 1, 2, 3, 4, 5), *[_row(6, far=True)] * count]))


def csv_of_invalid_rows(path: Path, count: int) -> None:
    with path.open("w") as out:
        out.write("signaal_id;signaalpartner_type;signaaldatum;bsn;achternaam;postcode;huisnummer\n")
        for n in range(count):  # an unknown partner type and a BSN failing the elfproef
            out.write(f"VPS-{n};Bakker;2026-11-03;123456789;Jansen;1053 KL;12\n")


# --------------------------------------------------------------------------- the test


def test_the_service_takes_issue_18s_files_in_under_300_mb(server: tuple[str, int], tmp_path: Path) -> None:
    base, pid = server
    files = {
        "one-huge-cell.xlsx": xlsx_with_one_huge_cell,
        "100000-rows.xlsx": lambda path: xlsx_with_rows(path, 100_000),
        "100000-invalid-rows.csv": lambda path: csv_of_invalid_rows(path, 100_000),
    }
    with httpx.Client(base_url=base, timeout=120) as client:
        token = client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "office1", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        idle = megabytes(pid, "VmRSS")
        peaks: dict[str, float] = {}
        for name, write in files.items():
            path = tmp_path / name
            write(path)
            restart_peak(pid)
            with path.open("rb") as data:
                response = upload(client, headers, name, data)
            peaks[name] = megabytes(pid, "VmHWM")
            if response.status_code == 201:
                assert response.json()["status"] in ("completed", "rejected"), response.text
            else:
                assert response.status_code in (413, 422), response.text
                assert response.headers["content-type"] == "application/problem+json"
        # The last one's 100,000 rejected rows, downloaded for correction.
        restart_peak(pid)
        quarantine = client.get(f"/v1/signals/imports/{response.json()['id']}/quarantine", headers=headers)
        peaks["its quarantine"] = megabytes(pid, "VmHWM")
        assert quarantine.status_code == 200 and quarantine.text.count("\n") == 100_001
    print(
        f"\nserved process: {idle:.0f} MB idle; peak RSS: "
        + ", ".join(f"{name} {peak:.0f} MB" for name, peak in peaks.items())
    )
    assert max(peaks.values()) < PEAK_MB, peaks


def upload(client: httpx.Client, headers: dict[str, str], name: str, data: BinaryIO) -> httpx.Response:
    return client.post(
        "/v1/signals/imports", headers=headers, files={"file": (name, data)}, data={"mode": "accept-valid"}
    )
