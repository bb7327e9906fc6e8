"""Account emails (the password reset link, the registration email) through the outbox and the relay:
sent after the response by the app's email path (SES in AWS mode), retried when the send fails,
with no live token ever in the outbox."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carebook.extensions import db
from models import OutboxKind, OutboxMessage, OutboxStatus, PasswordResetToken, RegistrationRequest
from reminders import account_mail
from reminders.relay import relay_once
from tests import mailbox
from tests.factories import make_patient
from tests.reminders.aws_stack import body_text, sent_emails
from tests.reminders.helpers import folder_emails

REGISTRATION = {"full_name": "Nora New", "email": "nora@example.com", "date_of_birth": "1991-02-03",
                "phone": "07700 900111", "password": "a long enough passphrase"}


class BrokenMailer:
    def send(self, message):
        raise ConnectionRefusedError("the mail server is away")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_in_aws_mode_the_reset_link_and_the_registration_email_leave_through_ses(aws_app, client, session):
    make_patient(name="Rita Reset", email="rita@example.com")
    session.commit()
    client.submit("/password/forgot", {"email": "rita@example.com"})
    client.submit("/register", REGISTRATION)
    result = relay_once(aws_app)
    assert result.done == 2 and result.retrying == 0
    by_recipient = {message["To"]: message for message in sent_emails()}
    assert "/password/reset?token=" in body_text(by_recipient["rita@example.com"])
    assert "/register/confirm?token=" in body_text(by_recipient["nora@example.com"])
    assert folder_emails(aws_app) == []


def test_a_failed_send_is_retried_and_the_link_made_for_it_is_rolled_back(app, client, session, monkeypatch):
    make_patient(email="rita@example.com")
    session.commit()
    client.submit("/password/forgot", {"email": "rita@example.com"})
    monkeypatch.setattr("reminders.backends.local.local_mailer", lambda settings: BrokenMailer())
    result = relay_once(app)
    assert (result.done, result.retrying) == (0, 1)
    [row] = session.scalars(select(OutboxMessage)).all()
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "ConnectionRefusedError" in row.last_error
    assert count(PasswordResetToken) == 0  # no link exists that nobody received

    monkeypatch.undo()
    row.next_attempt_at = row.created_at  # due again now
    session.commit()
    [message] = mailbox.sent(app, "rita@example.com")
    client.get(mailbox.path_of(mailbox.link(message, "/password/reset")))
    assert client.get("/password/reset").status_code == 200
    assert count(PasswordResetToken) == 1


def test_a_failed_registration_email_keeps_the_request_for_the_retry(app, client, session, monkeypatch):
    client.submit("/register", REGISTRATION)
    monkeypatch.setattr("reminders.backends.local.local_mailer", lambda settings: BrokenMailer())
    assert relay_once(app).retrying == 1
    [request] = session.scalars(select(RegistrationRequest)).all()
    assert request.token_hash is None and request.expires_at is None


@pytest.mark.parametrize("account", ["none", "disabled since"])
def test_a_reset_row_without_an_active_account_is_done_and_sends_nothing(app, client, session, account):
    patient = make_patient(email="rita@example.com")
    session.commit()
    if account == "none":
        client.submit("/password/forgot", {"email": "nobody@example.com"})
    else:
        client.submit("/password/forgot", {"email": "rita@example.com"})
        patient.user.is_active = False
        session.commit()
    result = relay_once(app)
    assert result.done == 1 and result.actions == [f"send_password_reset outbox row "
                                                   f"{session.scalar(select(OutboxMessage.id))}: "
                                                   "no active account: nothing sent"]
    assert mailbox.sent(app) == [] and count(PasswordResetToken) == 0


def test_no_token_or_address_is_ever_in_the_outbox(app, client, session):
    make_patient(email="rita@example.com")
    session.commit()
    client.submit("/password/forgot", {"email": "rita@example.com"})
    client.submit("/register", REGISTRATION)
    links = [mailbox.link(message, "token=") for message in mailbox.sent(app)]
    assert len(links) == 2
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [row.kind for row in rows] == [OutboxKind.SEND_PASSWORD_RESET, OutboxKind.SEND_REGISTRATION_EMAIL]
    stored = " ".join(str(row.payload) for row in rows)
    assert "@" not in stored and not any(link.split("token=")[1] in stored for link in links)


def test_a_registration_row_whose_request_is_gone_is_done_and_sends_nothing(app, client, session):
    client.submit("/register", REGISTRATION)
    session.execute(RegistrationRequest.__table__.delete())
    session.commit()
    result = relay_once(app)
    assert result.done == 1 and "registration request gone" in result.actions[0]
    assert mailbox.sent(app) == []


def test_account_rows_belong_to_no_appointment_and_wait_behind_nothing(app, client, session):
    client.submit("/register", REGISTRATION)
    client.submit("/register", {**REGISTRATION, "email": "other@example.com"})
    rows = session.scalars(select(OutboxMessage)).all()
    assert [row.appointment_id for row in rows] == [None, None]
    assert relay_once(app).done == 2  # one pass: neither blocks the other
    assert set(account_mail.KINDS) == {OutboxKind.SEND_PASSWORD_RESET, OutboxKind.SEND_REGISTRATION_EMAIL}
