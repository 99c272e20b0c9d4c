"""The register of processing activities (verwerkingsactiviteiten, AVG art. 30): what Doorstep
does with personal data, why, and on which legal basis. Every audited action belongs to one, so a
resident's access report (and the data protection officer) can say not only who saw their data
but under which activity."""

from __future__ import annotations

from dataclasses import dataclass

_WGS = "AVG art. 6(1)(e); Wet gemeentelijke schuldhulpverlening art. 3(3), 4a en 4b"


@dataclass(frozen=True)
class ProcessingActivity:
    code: str
    name: str  # as the municipality's register names it (Dutch)
    purpose: str
    legal_basis: str


ACTIVITIES = (
    ProcessingActivity(
        "intake",
        "Ontvangst van vroegsignalen",
        "Signalen van betalingsachterstanden van vaste-lastenpartners ontvangen, controleren en "
        "groeperen per huishouden.",
        _WGS,
    ),
    ProcessingActivity(
        "outreach",
        "Vroegsignalering: contact en hulpaanbod",
        "Binnen 28 dagen contact zoeken met de inwoner en hulp aanbieden.",
        _WGS,
    ),
    ProcessingActivity(
        "handover",
        "Overdracht naar schuldhulpverlening",
        "Een schuldhulptraject starten en beëindigen na het besluit (beschikking).",
        "AVG art. 6(1)(e); Wet gemeentelijke schuldhulpverlening art. 4",
    ),
    ProcessingActivity(
        "bkr",
        "Registratie bij BKR",
        "Een gestart schuldhulptraject melden bij het BKR en de registratie weer afmelden.",
        "AVG art. 6(1)(c); Wet gemeentelijke schuldhulpverlening art. 4 en 5",
    ),
    ProcessingActivity(
        "reporting",
        "Verantwoording en monitoring",
        "De monitor en de DDAS-levering aan CBS (geaggregeerd, zonder BSN of naam).",
        "AVG art. 6(1)(c); Besluit gemeentelijke schuldhulpverlening; Wet op het CBS",
    ),
    ProcessingActivity(
        "partners",
        "Terugkoppeling aan signaalpartners",
        "Een signaalpartner laten weten of zijn signaal is opgepakt, en niet waarom niet.",
        _WGS,
    ),
    ProcessingActivity(
        "retention", "Bewaartermijn", "Persoonsgegevens wissen zodra de bewaartermijn verstrijkt.", "AVG art. 5(1)(e)"
    ),
    ProcessingActivity(
        "rights",
        "Rechten van betrokkenen",
        "Verzoeken om inzage, rectificatie, bezwaar en wissing behandelen.",
        "AVG art. 12 tot en met 21",
    ),
    ProcessingActivity(
        "security",
        "Beveiliging en toegangsbeheer",
        "Accounts, apparaten, aanmeldingen en de audittrail beheren.",
        "AVG art. 5(1)(f) en 32",
    ),
)
_BY_CODE = {activity.code: activity for activity in ACTIVITIES}

# Audit actions by their prefix (the area before the dot), with exceptions by full action.
_BY_ACTION = {
    "cases.purge": "retention",
    "signals.purge": "retention",
    "signals.quarantine-purge": "retention",
    "signals.delivered-read": "partners",
    "signals.feedback-read": "partners",
    "cases.export": "reporting",
    "trajectory.start": "handover",
    "trajectory.end": "handover",
}
_BY_AREA = {
    "signals": "intake",
    "agreements": "intake",
    "cases": "outreach",
    "sync": "outreach",
    "plans": "outreach",
    "conflicts": "outreach",
    "trajectory": "handover",
    "bkr": "bkr",
    "reports": "reporting",
    "residents": "rights",
    "retention": "retention",
    "users": "security",
    "devices": "security",
    "auth": "security",
    "console": "security",
    "municipality": "security",
    "audit": "security",
}


def activity_for(action: str) -> ProcessingActivity:
    """The processing activity an audited action belongs to (`security` for anything unlisted)."""
    code = _BY_ACTION.get(action) or _BY_AREA.get(action.split(".", 1)[0], "security")
    return _BY_CODE[code]
