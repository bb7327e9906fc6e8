"""Accounts: sign-in checks, rehashing, and the revocable sessions."""
from __future__ import annotations

from argon2 import PasswordHasher

from carebook import accounts
from carebook.extensions import db
from tests.factories import PASSWORD, SYSTEM, make_patient


def test_authenticate_rehashes_a_password_stored_with_old_parameters(app):
    patient = make_patient()
    patient.user.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user = accounts.authenticate(db.session, patient.user.email, PASSWORD)
    assert user is patient.user and not accounts.needs_rehash(user.password_hash)


def test_password_change_ends_every_session(app):
    patient = make_patient()
    first, second = accounts.start_session(db.session, patient.user), accounts.start_session(db.session, patient.user)
    # The cookie carries the token; the session is found by it until the password changes.
    assert accounts.load_session(db.session, first.token) is first
    accounts.set_password(db.session, SYSTEM, patient.user, "a brand new passphrase")
    db.session.expire_all()
    assert accounts.load_session(db.session, first.token) is None
    assert accounts.load_session(db.session, second.token) is None


def test_password_change_checks_the_rules(app):
    patient = make_patient()
    try:
        accounts.set_password(db.session, SYSTEM, patient.user, "123456789")
    except accounts.AccountError as error:
        assert error.field == "password"
    else:
        raise AssertionError("a common password was accepted")


def test_user_without_password_cannot_sign_in(app):
    patient = make_patient()
    patient.user.password_hash = None
    assert accounts.authenticate(db.session, patient.user.email, "") is None
