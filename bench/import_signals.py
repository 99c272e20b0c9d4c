"""Benchmark: importing a realistic 100,000-row platform file on SQLite and PostgreSQL.

Prints rows/s and peak RSS of each import (each in its own process, so the peak is the
import's own), and the raw ceiling: PostgreSQL COPY of the same rows, with the ratio; and the
database floor: the work PostgreSQL itself does to store what the import stored (no client).
Targets (issue 19): ≥ 0.5× the database floor on PostgreSQL, and peak RSS under 300 MB whatever
the file, CSV or XLSX (`--xlsx` imports the same rows as a workbook too, on PostgreSQL; `--rows
1000000` checks the memory of a file twice the default row limit, which the run raises).

    .venv/bin/python bench/import_signals.py [--rows 100000] [--xlsx] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HEADER = [
    "signaal_id",
    "signaalpartner_type",
    "schuldeiser",
    "bedrag",
    "ontstaansdatum",
    "signaaldatum",
    "crisissignaal",
    "warme_overdracht",
    "bsn",
    "voorletters",
    "voorvoegsel",
    "achternaam",
    "geboortedatum",
    "geslacht",
    "straat",
    "huisnummer",
    "huisnummertoevoeging",
    "postcode",
    "woonplaats",
    "telefoon",
    "email",
]
# H1 2024 mix (DOMAIN.md): health insurance 41%, rent 20%, energy 20%, water 18%, other 1%.
PARTNERS = [
    ("Zorg", ["Zilveren Kruis", "VGZ", "CZ", "Menzis"], 41),
    ("Huur", ["Ymere", "Stadgenoot", "Rochdale"], 20),
    ("Energie", ["Vattenfall", "Eneco", "Essent"], 20),
    ("Water", ["Waternet", "Vitens", "Evides"], 18),
    ("Overige", ["Gemeentebelastingen"], 1),
]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench"
PEAK_TARGET_MB = 300
FLOOR_TARGET = 0.5
COLUMN_LETTERS = [chr(ord("A") + index) for index in range(len(HEADER))]


def valid_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        total = sum(w * d for w, d in zip(range(9, 1, -1), digits, strict=True))
        last = total % 11
        if last < 10 and total - last > 0:
            return "".join(map(str, digits)) + str(last)


def generate(path: Path, rows: int, seed: int = 2024) -> None:
    """~10% multiple households (two signals in the month), ~40% consecutive (an earlier signal)."""
    from faker import Faker

    fake = Faker("nl_NL")
    Faker.seed(seed)
    rng = random.Random(seed)
    # Pools keep Faker out of the per-row loop (it costs ~50 µs a call).
    streets = [fake.street_name() for _ in range(2000)]
    towns = [fake.city() for _ in range(300)]
    surnames = [fake.last_name() for _ in range(3000)]
    prefixes = ["", "", "", "van", "de", "van der", "van den"]
    month = date(2026, 10, 1)
    partners, weights = [p[:2] for p in PARTNERS], [p[2] for p in PARTNERS]
    written = 0
    household = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        while written < rows:
            household += 1
            postcode = (
                f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}"
            )
            number = rng.randint(1, 300)
            addition = rng.choice(["", "", "", "", "A", "B", "1", "2"])
            street, town = rng.choice(streets), rng.choice(towns)
            roll = rng.random()
            dates = [month + timedelta(days=rng.randint(0, 27))]
            if roll < 0.10:
                dates.append(month + timedelta(days=rng.randint(0, 27)))  # multiple
            elif roll < 0.50:
                dates.insert(0, month - timedelta(days=rng.randint(30, 170)))  # consecutive
            bsn = valid_bsn(rng)
            surname, prefix = rng.choice(surnames), rng.choice(prefixes)
            for signal_date in dates:
                if written >= rows:
                    break
                written += 1
                partner, creditors = rng.choices(partners, weights=weights)[0]
                amount = rng.randint(90, 4000) + rng.choice([0, 0.5, 0.25])
                writer.writerow(
                    [
                        f"VPS-{written:08d}",
                        partner,
                        rng.choice(creditors),
                        f"{amount:.2f}".replace(".", ","),
                        (signal_date - timedelta(days=rng.randint(40, 150))).strftime("%d-%m-%Y"),
                        signal_date.isoformat(),
                        "ja" if rng.random() < 0.02 else "nee",
                        "nee",
                        bsn,
                        rng.choice(["A.", "J.", "M.", "S.", "P.J.", "H."]),
                        prefix,
                        surname,
                        date(rng.randint(1945, 2004), rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
                        rng.choice(["M", "V"]),
                        street,
                        number,
                        addition,
                        postcode,
                        town,
                        f"06{rng.randint(10000000, 99999999)}",
                        "",
                    ]
                )


def write_xlsx(csv_path: Path, path: Path) -> None:
    """The same rows as a workbook with inline strings (as openpyxl writes them), streamed into the zip."""
    import zipfile
    from xml.sax.saxutils import escape

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{relationships}"><sheets>'
            '<sheet name="Signalen" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            f'Id="rId1" Type="{relationships}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        with (
            csv_path.open(newline="", encoding="utf-8") as source,
            archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part,
        ):
            part.write(f'<worksheet xmlns="{main}"><sheetData>'.encode())
            for number, values in enumerate(csv.reader(source, delimiter=";"), 1):
                cells = "".join(
                    f'<c r="{letter}{number}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
                    for letter, value in zip(COLUMN_LETTERS, values, strict=True)
                    if value
                )
                part.write(f'<row r="{number}">{cells}</row>'.encode())
            part.write(b"</sheetData></worksheet>")


def run_import(url: str, path: Path) -> dict[str, float]:
    """In a fresh process: migrate, create the tenant, import; report rows/s and peak RSS."""
    import base64

    from sqlmodel import Session

    from api.models import Municipality
    from api.municipality.policy import MunicipalitySettings
    from api.platform.db import make_engine, migrate
    from api.platform.sequence import start_sequence
    from api.signals import service
    from api.signals.bsn import BsnVault, generate_data_key
    from api.signals.limits import ImportLimits
    from api.signals.parsing import open_signal_file

    # Room for a file past the default limits (a million rows, as a workbook too); the rows are counted anyway.
    limits = ImportLimits(rows=10_000_000, unpacked_bytes=1 << 40)

    migrate(url)
    engine = make_engine(url)
    vault = BsnVault([generate_data_key("bench")], base64.b64encode(bytes(range(32))).decode())
    now = datetime.now(UTC)
    with Session(engine) as session:
        municipality = Municipality(
            code="0363", name="Bench", settings=MunicipalitySettings().model_dump(), created_at=now
        )
        session.add(municipality)
        session.flush()
        start_sequence(session, "0363")
        session.commit()
        started = time.perf_counter()
        with path.open("rb") as data:
            signal_file = open_signal_file(data, filename=path.name, municipality_code="0363", limits=limits)
            record = service.new_import(code="0363", source="file", mode="all-or-nothing", created_by="bench", now=now)
            session.add(record)
            session.flush()
            report = service.intake(
                session,
                municipality=municipality,
                vault=vault,
                rows=signal_file,
                mode="all-or-nothing",
                import_id=record.id,
                now=now,
            )
        session.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": report.total,
        "created": report.created,
        "rejected": report.rejected,
        "cases": report.cases_opened,
        "seconds": elapsed,
        "rows_per_s": report.total / elapsed,
        "peak_rss_mb": peak_mb,
    }


def copy_ceiling(url: str, path: Path) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("CREATE UNLOGGED TABLE bench_copy (" + ", ".join(f"{c} text" for c in HEADER) + ")")
        started = time.perf_counter()
        with (
            path.open("rb") as data,
            cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)") as copy,
        ):
            while chunk := data.read(1 << 20):
                copy.write(chunk)
        connection.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_copy")
        rows = cursor.fetchone()[0]  # type: ignore[index]
        cursor.execute("DROP TABLE bench_copy")
    return rows / elapsed


STORED = ("household", "outreach_case", "signal")  # in the order their foreign keys need


def database_floor(url: str) -> float:
    """The database's own share of the import, in file rows per second: the households, cases and
    signals the PostgreSQL import stored, inserted again server-side (`INSERT … SELECT`: no client,
    no network, no parsing) into copies of their tables with the same indexes and foreign keys, in
    one transaction. Any import that keeps this schema does at least this much work."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for table in STORED:
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                (table,),
            )
            for (definition,) in cursor.fetchall():
                for target in STORED:
                    definition = definition.replace(f"REFERENCES {target}(", f"REFERENCES floor_{target}(")
                cursor.execute(f"ALTER TABLE floor_{table} ADD {definition}")
        started = time.perf_counter()
        for table in STORED:
            cursor.execute(f"INSERT INTO floor_{table} SELECT * FROM {table}")
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM floor_signal")
        rows = cursor.fetchone()[0]  # type: ignore[index]
        connection.rollback()  # the copies go; nothing of this run stays
    return rows / elapsed


def fresh_postgres(url: str) -> None:
    import sqlalchemy as sa

    database = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    admin.dispose()


def in_subprocess(url: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--xlsx", action="store_true", help="import the same rows as an XLSX workbook too")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_import(args.child[0], Path(args.child[1]))))
        return
    runs: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "signals.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s"
        )
        runs.append(("SQLite", in_subprocess(f"sqlite:///{Path(tmp) / 'bench.db'}", path)))
        if args.xlsx:
            workbook = Path(tmp) / "signals.xlsx"
            write_xlsx(path, workbook)
            fresh_postgres(args.pg)
            runs.append(("PG, XLSX", in_subprocess(args.pg, workbook)))
        fresh_postgres(args.pg)
        postgres = in_subprocess(args.pg, path)
        runs.insert(1, ("PostgreSQL", postgres))
        ceiling = copy_ceiling(args.pg, path)
        floor = database_floor(args.pg)
    for name, figures in runs:
        print(
            f"{name:<11} {figures['rows_per_s']:>9,.0f} rows/s  {figures['seconds']:6.1f}s  peak RSS "
            f"{figures['peak_rss_mb']:5.0f} MB  ({figures['created']:,.0f} created, {figures['cases']:,.0f} cases)"
        )
    print(f"COPY ceiling {ceiling:>8,.0f} rows/s (PostgreSQL, same rows as text)")
    print(f"ratio PostgreSQL import / COPY: {postgres['rows_per_s'] / ceiling:.2f}  (target ≥ 0.20; ≥ 25,000 rows/s)")
    print(
        f"database floor {floor:>8,.0f} rows/s (the import's households, cases and signals inserted again inside "
        f"PostgreSQL, same indexes and foreign keys)"
    )
    print(f"ratio PostgreSQL import / database floor: {postgres['rows_per_s'] / floor:.2f}  (target ≥ {FLOOR_TARGET})")
    for name, figures in runs:
        verdict = "met" if figures["peak_rss_mb"] < PEAK_TARGET_MB else "NOT met"
        print(f"peak RSS {name:<11} {figures['peak_rss_mb']:5.0f} MB  (target < {PEAK_TARGET_MB} MB: {verdict})")


if __name__ == "__main__":
    main()
