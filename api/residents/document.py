"""The access report as a document a resident can be given: HTML, printable, no script or style
of anyone else's (the console shows the same fragment inside its own page)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from api.console.labels import LABELS, amount, local_date, local_datetime
from api.residents.schemas import ResidentReport

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))
_ENV.filters.update(datum=local_date, datumtijd=local_datetime, bedrag=amount)
_ENV.globals.update(L=LABELS)

# The document stands alone: nothing loads, nothing runs, nobody frames it.
DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def fragment(report: ResidentReport) -> Markup:
    return Markup(_ENV.get_template("report.html").render(report=report))


def document(report: ResidentReport) -> str:
    return (
        '<!doctype html>\n<html lang="nl"><head><meta charset="utf-8">'
        f"<title>Inzage — {Markup.escape(report.municipality)}</title></head><body>\n"
        f"{fragment(report)}\n</body></html>\n"
    )
