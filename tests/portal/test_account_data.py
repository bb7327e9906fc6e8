"""A patient sees and downloads everything the clinic holds about them, from their account page; each copy is audited."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from carebook.extensions import db
from models import AuditEntry
from tests.carebook.patient_data.history import EMAIL, NAME, NEXT_REASON, PAST_REASON, PHONE, patient_with_history
from tests.factories import make_doctor


@pytest.fixture
def history(app, client):
    history = patient_with_history(app)
    assert client.login(EMAIL).status_code == 302
    return history


def exports() -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == "patient.data_exported")).all()


def test_the_account_page_links_to_the_patients_data(history, client):
    page = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/data"' in page and 'href="/account/data.json"' in page


def test_the_account_page_of_a_doctor_does_not(app, client):
    doctor = make_doctor()
    db.session.commit()
    client.login(doctor.user.email)
    assert "/account/data" not in client.get("/account/").get_data(as_text=True)


def test_the_page_shows_everything_readably(history, client):
    response = client.get("/account/data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(re.findall(r"<h1[\s>]", page)) == 1
    for expected in (NAME, EMAIL, PHONE, "04 March 1985", "Dr Ada Lovelace", PAST_REASON, NEXT_REASON,
                     "19 May 2026, 10:00", "Completed", "Reminder email", "Booking confirmation email", "Signed in"):
        assert expected in page, expected
    assert "no-store" in response.headers["Cache-Control"]


def test_the_download_is_the_same_data_as_json(history, client):
    response = client.get("/account/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data-2026-06-01.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == EMAIL
    assert [a["reason"] for a in data["appointments"]] == [PAST_REASON, NEXT_REASON]
    assert {"messages", "sign_in_history", "account_history", "sessions", "contact_details"} <= set(data)


def test_each_copy_is_audited_with_its_form(history, client):
    client.get("/account/data")
    client.get("/account/data.json")
    rows = exports()
    assert [(row.details, row.source, row.actor_id, row.entity_id) for row in rows] == [
        ({"format": "html"}, "portal", history.patient.user.id, history.patient.id),
        ({"format": "json"}, "portal", history.patient.user.id, history.patient.id),
    ]


def test_the_next_copy_lists_the_copies_made_before(history, client):
    client.get("/account/data.json")
    data = client.get("/account/data.json").get_json()
    assert [e["code"] for e in data["account_history"]].count("patient.data_exported") == 1
