"""A partner delivers only for the creditors and partner types it signed an agreement for. Pure rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.signals.rules import Agreement, creditor_under_agreement

YMERE = Agreement("Ymere", "Huur")


def test_the_agreed_creditor_and_type_are_covered_whatever_the_case_and_spacing():
    assert creditor_under_agreement(partner_type="Huur", creditor=" ymere  ", agreements=[YMERE]) == " ymere  "


def test_another_partner_type_is_not_covered_not_even_for_a_crisis():
    with pytest.raises(ValueError, match="Energie"):
        creditor_under_agreement(partner_type="Energie", creditor="Ymere", agreements=[YMERE])


def test_another_creditor_of_the_same_type_is_not_covered():
    with pytest.raises(ValueError, match="schuldeiser"):
        creditor_under_agreement(partner_type="Huur", creditor="Vestia", agreements=[YMERE])


def test_without_a_creditor_the_only_agreement_of_that_type_names_it():
    assert (
        creditor_under_agreement(partner_type="Huur", creditor=None, agreements=[YMERE, Agreement("Eneco", "Energie")])
        == "Ymere"
    )
    with pytest.raises(ValueError, match="several"):
        creditor_under_agreement(partner_type="Huur", creditor=None, agreements=[YMERE, Agreement("Vestia", "Huur")])


names = st.sampled_from(["Ymere", "Vestia", "Eneco", "Evides", "ymere"])
types = st.sampled_from(["Huur", "Energie", "Water", "Zorg"])


@given(
    agreements=st.lists(st.builds(Agreement, names, types), max_size=4), partner_type=types, creditor=st.none() | names
)
def test_a_delivery_is_covered_only_by_an_agreement_of_its_type_and_creditor(agreements, partner_type, creditor):  # type: ignore[no-untyped-def]
    try:
        granted = creditor_under_agreement(partner_type=partner_type, creditor=creditor, agreements=agreements)
    except ValueError:
        same_type = [a for a in agreements if a.partner_type == partner_type]
        if creditor is None:
            assert len(same_type) != 1  # none of that type, or several to choose from
        else:
            assert not any(a.creditor.casefold() == creditor.casefold() for a in same_type)
        return
    assert any(a.partner_type == partner_type and a.creditor.casefold() == granted.casefold() for a in agreements)
    assert creditor is None or granted == creditor
