"""DDAS JSON deliveries: the national early-signalling exchange format (leveringen, vroegsignalen)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import BinaryIO

from api.signals.limits import FileRefused, ImportLimits
from api.signals.parsing.base import SignalFile, _text_stream, _too_many_rows
from api.signals.parsing.columns import CANONICAL
from api.signals.parsing.rows import ParsedRow, RowError, normalise_row

_DDAS_ITEM_KEYS = frozenset(
    {"ID", "crisissignaal", "warmeOverdracht", "bedrag", "ontstaansdatum", "signaaldatum", "status"}
    | {"signaalpartner", "client"}
)
_DDAS_CLIENT_KEYS = {
    "burgerservicenummer": "bsn",
    "geslachtsaanduiding": "gender",
    "geboortedatum": "birth_date",
    "postcode": "postcode",
    "huisnummer": "house_number",
    "huisnummertoevoeging": "house_number_addition",
}


def _municipality_key(code: object) -> str:
    """0363, 363 and GM0363 (the CBS spelling) are one municipality."""
    text = str(code).strip().upper().removeprefix("GM")
    return text.zfill(4) if text.isdigit() else text


def _vroegsignalen(document: object, municipality_code: str) -> list[object]:
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise FileRefused("the JSON is not a DDAS delivery: expected an object or a list", slug="unsupported-file-type")
    wanted = _municipality_key(municipality_code)
    if "leveringen" in document:
        deliveries = document["leveringen"]
        if not isinstance(deliveries, list) or not all(isinstance(d, dict) for d in deliveries):
            raise FileRefused("leveringen must be a list of objects", slug="corrupt-file")
        ours = [d for d in deliveries if _municipality_key(d.get("gemeentecode")) == wanted]
        if deliveries and not ours:
            codes = sorted({str(d.get("gemeentecode")) for d in deliveries})
            raise FileRefused(
                f"the delivery is for gemeentecode {', '.join(codes)}, not {municipality_code}",
                slug="wrong-municipality",
            )
        items: list[object] = []
        for delivery in ours:  # lines count on through several deliveries for one municipality
            signals = delivery.get("vroegsignalen", [])
            if not isinstance(signals, list):
                raise FileRefused("vroegsignalen must be a list", slug="corrupt-file")
            items.extend(signals)
        return items
    if "vroegsignalen" in document:
        if "gemeentecode" in document and _municipality_key(document["gemeentecode"]) != wanted:
            raise FileRefused(
                f"the delivery is for gemeentecode {document['gemeentecode']}, not {municipality_code}",
                slug="wrong-municipality",
            )
        signals = document["vroegsignalen"]
        if not isinstance(signals, list):
            raise FileRefused("vroegsignalen must be a list", slug="corrupt-file")
        return signals
    raise FileRefused(
        "the JSON is not a DDAS delivery: it has no leveringen or vroegsignalen", slug="unsupported-file-type"
    )


def _ddas_row(item: object, line: int) -> ParsedRow:
    if not isinstance(item, dict):
        return ParsedRow(
            line, dict.fromkeys(CANONICAL), None, [RowError(line, None, "the vroegsignaal is not a JSON object")]
        )
    partner = item.get("signaalpartner")
    client = item.get("client")
    values: dict[str, object] = {
        "signal_id": item.get("ID"),
        "amount": item.get("bedrag"),
        "arrears_since": item.get("ontstaansdatum"),
        "signal_date": item.get("signaaldatum"),
        "crisis": item.get("crisissignaal"),
        "warm_handover": item.get("warmeOverdracht"),
    }
    if isinstance(partner, dict):
        values["partner_type"] = partner.get("type")
    if isinstance(client, dict):
        for key, name in _DDAS_CLIENT_KEYS.items():
            values[name] = client.get(key)
    parsed = normalise_row(values, line=line)
    shape_errors = []
    if partner is not None and not isinstance(partner, dict):
        shape_errors.append(RowError(line, "partner_type", "signaalpartner must be an object with a type"))
    if client is not None and not isinstance(client, dict):
        shape_errors.append(RowError(line, None, "client must be an object"))
    if shape_errors:
        parsed.errors.extend(shape_errors)
        parsed.signal = None
    return parsed


class _DdasJsonFile(SignalFile):
    format = "ddas-json"

    def __init__(self, data: BinaryIO, municipality_code: str, limits: ImportLimits) -> None:
        # The standard library has no streaming JSON parser, so the whole delivery is held in
        # memory, hence a size limit of its own (ImportLimits.json_bytes has the factors). CSV and
        # XLSX, the bulk formats of the platforms, stream.
        self._limits = limits
        size = data.seek(0, io.SEEK_END)
        if size > limits.json_bytes:
            raise FileRefused(
                f"a DDAS JSON delivery may take {limits.json_bytes:,} bytes, this one takes {size:,}: "
                "split it, or send the platform's CSV or XLSX export",
                slug="too-large-json",
            )
        text = _text_stream(data, "utf-8-sig")
        try:
            document = json.load(text)
        except UnicodeDecodeError:
            raise FileRefused("the JSON file is not valid UTF-8", slug="corrupt-file") from None
        except ValueError as error:  # json.JSONDecodeError; its message has a position, not content
            raise FileRefused(f"the file is not valid JSON: {error}", slug="corrupt-file") from None
        except RecursionError:
            raise FileRefused("the JSON is nested too deeply", slug="corrupt-file") from None
        self._items = _vroegsignalen(document, municipality_code)
        if not self._items:
            raise FileRefused("the delivery contains no vroegsignalen", slug="empty-file")
        if len(self._items) > limits.rows:
            raise _too_many_rows(limits.rows)
        unknown: dict[str, None] = {}
        for item in self._items:
            if isinstance(item, dict):
                unknown.update(dict.fromkeys(key for key in item if key not in _DDAS_ITEM_KEYS))
                client = item.get("client")
                if isinstance(client, dict):
                    unknown.update(dict.fromkeys(f"client.{key}" for key in client if key not in _DDAS_CLIENT_KEYS))
        self.unknown_columns = list(unknown)

    def _read(self) -> Iterator[ParsedRow]:
        for line, item in enumerate(self._items, start=1):
            yield _ddas_row(item, line)
