"""Residents' rights as pure rules: who a search finds, how a BSN is shown, what an erasure may
erase and what the law keeps."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


def mask_bsn(bsn: str) -> str:
    """A BSN as a report may show it: the last three digits, the rest starred."""
    digits = "".join(ch for ch in bsn if ch.isdigit())
    return "*" * (len(digits) - 3) + digits[-3:] if len(digits) > 3 else "*" * len(digits)


def _folded(text: str) -> str:
    """Case, accents and spacing do not tell two spellings of a name apart ("Koç" is "koc")."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("-", " ").split())


# Dutch surname prefixes (tussenvoegsels), which platforms send in the surname or apart.
_PREFIXES = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "het",
        "t",
        "'t",
        "ter",
        "ten",
        "te",
        "in",
        "op",
        "aan",
        "bij",
        "el",
        "al",
        "la",
        "le",
        "du",
        "da",
        "di",
        "dos",
        "von",
        "zu",
        "vd",
        "v",
    }
)


def name_forms(*, prefix: str | None, surname: str) -> list[str]:
    """The ways a search may spell a stored surname, folded: with its prefix, without, and without
    a prefix that was sent inside the surname ("de Vries" is also "Vries")."""
    folded = _folded(surname)
    words = folded.split()
    while len(words) > 1 and words[0] in _PREFIXES:
        words = words[1:]
    forms = {folded, " ".join(words)}
    if prefix:
        forms.add(_folded(f"{prefix} {surname}"))
    return sorted(forms)


def name_matches(asked: str, *, prefix: str | None, surname: str | None) -> bool:
    """Whether a signal's surname is the name asked for: with its prefix or without, in any case,
    with or without accents."""
    return bool(surname) and _folded(asked) in name_forms(prefix=prefix, surname=surname or "")


def names_the_person(
    raw: dict[str, object], *, names: set[str], birth_dates: set[date], postcodes: set[str], bsns: set[str]
) -> bool:
    """Whether a quarantined row (an invalid line as it came in) names the person: by BSN, or by
    surname with their birth date or postcode (the row was invalid, so nothing else is trusted)."""

    def text(key: str) -> str:
        value = raw.get(key)
        return value.strip() if isinstance(value, str) else ""

    bsn = "".join(ch for ch in text("bsn") if ch.isdigit())
    if bsn and bsn.zfill(9) in bsns:
        return True
    surname = text("surname")
    if not surname or not names & set(name_forms(prefix=text("prefix") or None, surname=surname)):
        return False
    born = text("birth_date")
    spelled = {f(d) for d in birth_dates for f in (date.isoformat, lambda d: d.strftime("%d-%m-%Y"))}
    return bool(born and born in spelled) or text("postcode").replace(" ", "").upper() in postcodes


def name_key(name: str, birth_date: date) -> str:
    """What an erased person's name is remembered by (hashed with the municipality's key)."""
    return f"name|{_folded(name)}|{birth_date.isoformat()}"


class Erasure(StrEnum):
    ERASE = "erase"  # closed: erased at once, as retention would
    CLOSE_AND_ERASE = "close-and-erase"  # open: closed as "Niet opgepakt: andere reden", then erased
    KEEP = "keep"  # the law keeps it; the answer says why
    ALREADY = "already-erased"


@dataclass(frozen=True)
class CaseFacts:
    closed: bool
    purged: bool
    trajectory_started: bool
    trajectory_ended_on: date | None
    bkr_removal_on: date | None  # the latest removal date of its BKR registration, if any


@dataclass(frozen=True)
class Decision:
    erasure: Erasure
    reason: str | None = None


def erasure_of(case: CaseFacts, *, today: date) -> Decision:
    """What an objection or a request for erasure does to one case.

    Early signalling needs no consent (AVG 6(1)(e)), so an objection ends it: what is not kept by
    another duty is erased. A debt-relief trajectory is kept while it runs (the municipality's
    decision and its duties under the Wgs), and after it ends for as long as its BKR registration
    runs (the municipality must be able to answer for it and remove it)."""
    if case.purged:
        return Decision(Erasure.ALREADY)
    if case.trajectory_started:
        if case.trajectory_ended_on is None or case.trajectory_ended_on > today:
            return Decision(
                Erasure.KEEP,
                "A debt-relief trajectory runs for this resident (Wgs art. 4): the case stays while it runs.",
            )
        if case.bkr_removal_on is not None and case.bkr_removal_on >= today:
            return Decision(
                Erasure.KEEP,
                f"The BKR registration of the trajectory runs until "
                f"{case.bkr_removal_on.isoformat()}: the case stays until it is removed.",
            )
        return Decision(Erasure.ERASE)
    return Decision(Erasure.ERASE if case.closed else Erasure.CLOSE_AND_ERASE)
