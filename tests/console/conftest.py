from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import StaffUser
from tests.console.helpers import browser, sign_in
from tests.factories import make_municipality, make_user


@pytest.fixture
def office_user(session: Session) -> StaffUser:
    make_municipality(session)
    return make_user(session, role="backoffice", username="office-console")


@pytest.fixture
def office(app: FastAPI, office_user: StaffUser) -> Iterator[TestClient]:
    """A browser signed in to the console as a back-office member."""
    with browser(app) as client:
        response = sign_in(client, office_user.username)
        assert response.status_code == 303, response.text
        yield client
