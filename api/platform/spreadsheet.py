"""CSV cells that a spreadsheet opens as text, never as a formula (OWASP "CSV injection").

Exports carry text that came from outside — platform files, addresses, notes — and the
back office opens them in Excel. A cell starting with = + - @ or a tab/CR is prefixed with
an apostrophe, which spreadsheets show as nothing and treat as "this is text"."""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
