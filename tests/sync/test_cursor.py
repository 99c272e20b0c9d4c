"""Pull cursors round-trip, and anything else falls back to a full snapshot."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sync.cursor import Cursor, decode_cursor, encode_cursor, usable_for

cursors = st.builds(
    Cursor,
    tenant=st.from_regex(r"^\d{4}$", fullmatch=True),
    seq=st.integers(min_value=0, max_value=2**62),
    generation=st.integers(min_value=1, max_value=1000),
)


@given(cursors)
def test_a_cursor_round_trips(cursor: Cursor):
    assert decode_cursor(encode_cursor(cursor)) == cursor


@given(st.text(max_size=300))
def test_any_other_text_decodes_to_none_or_a_valid_cursor(text: str):
    decoded = decode_cursor(text)
    assert decoded is None or isinstance(decoded, Cursor)


def test_tampered_and_foreign_cursors_are_not_accepted():
    assert decode_cursor("c1.!!!") is None
    assert decode_cursor("c1." + "eyJ0ZW5hbnQiOiAxfQ") is None
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


def test_a_cursor_is_usable_only_for_its_tenant_generation_and_the_retained_history():
    cursor = Cursor(tenant="0363", seq=50, generation=2)
    assert usable_for(cursor, tenant="0363", generation=2, oldest_retained_seq=10, current_seq=60)
    assert not usable_for(cursor, tenant="0599", generation=2, oldest_retained_seq=10, current_seq=60)
    assert not usable_for(cursor, tenant="0363", generation=3, oldest_retained_seq=10, current_seq=60)
    assert not usable_for(cursor, tenant="0363", generation=2, oldest_retained_seq=51, current_seq=60)
    # A cursor from the future (a restored database) must not skip changes.
    assert not usable_for(cursor, tenant="0363", generation=2, oldest_retained_seq=10, current_seq=40)
    assert not usable_for(None, tenant="0363", generation=2, oldest_retained_seq=0, current_seq=60)
