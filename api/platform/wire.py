"""Shared wire types: values every area accepts from outside, validated the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _storable(value: datetime) -> datetime:
    # Far-off instants (year 1 with an offset) overflow when converted to UTC.
    if not 1900 <= value.year <= 9998:
        raise ValueError("must be between the years 1900 and 9998")
    return value.astimezone(UTC)


Instant = Annotated[AwareDatetime, AfterValidator(_storable)]
"""A moment with its UTC offset (`2026-11-26T09:00:00+01:00`), between 1900 and 9998."""
