"""Password rules and argon2id hashing."""
from __future__ import annotations

import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters, profiles
from flask import Flask
from sqlalchemy import select

from carebook import passwords
from carebook.app import create_app
from carebook.config import ConfigError, load_config
from carebook.extensions import db
from models import User
from tests.conftest import Browser, _test_env
from tests.factories import PASSWORD, make_patient


def test_short_password_is_refused():
    assert "at least 8" in passwords.password_problem("short12")


def test_long_passphrase_without_composition_rules_is_fine():
    assert passwords.password_problem("all lower case words are fine " * 2) is None


def test_passwords_up_to_128_characters_are_accepted():
    assert passwords.password_problem("x7#" * 42 + "ab") is None
    assert "at most 128" in passwords.password_problem("x" * 129)


def test_common_passwords_are_refused_in_any_case():
    assert "too common" in passwords.password_problem("Password1")
    assert "too common" in passwords.password_problem("iloveyou")


def test_hashes_are_argon2id():
    assert passwords.hash_password("a fine passphrase").startswith("$argon2id$")


def test_verify_accepts_the_right_password_only():
    stored = passwords.hash_password("a fine passphrase")
    assert passwords.verify_password(stored, "a fine passphrase")
    assert not passwords.verify_password(stored, "a wrong passphrase")


def test_verify_without_a_hash_is_false():
    assert not passwords.verify_password(None, "anything at all")


def test_a_hash_with_old_parameters_needs_rehash():
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a fine passphrase")
    assert passwords.needs_rehash(old)
    assert not passwords.needs_rehash(passwords.hash_password("a fine passphrase"))


# -- how much hashing costs: the standard parameters, and cheap ones for test runs only ----------------


def parameters(password_hash: str) -> Parameters:
    return extract_parameters(password_hash)


@pytest.mark.parametrize("environment", ["production", "development", "test"])
def test_the_standard_parameters_are_the_default_in_every_environment(environment, tmp_path):
    env = {"CAREBOOK_ENV": environment, "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://db/carebook",
           "BASE_URL": "https://clinic.example"}
    assert load_config(str(tmp_path), env)["PASSWORD_HASHING"] == "standard"
    assert parameters(passwords.hash_password("a fine passphrase")) == profiles.RFC_9106_LOW_MEMORY


@pytest.mark.parametrize("environment", ["production", "development"])
def test_fast_hashing_is_refused_outside_tests(environment, tmp_path):
    env = {"CAREBOOK_ENV": environment, "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://db/carebook",
           "PASSWORD_HASHING": "fast-for-tests"}
    with pytest.raises(ConfigError, match="PASSWORD_HASHING"):
        load_config(str(tmp_path), env)


def test_an_unknown_hashing_setting_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="PASSWORD_HASHING must be standard or fast-for-tests"):
        load_config(str(tmp_path), {"CAREBOOK_ENV": "test", "PASSWORD_HASHING": "none"})


@pytest.mark.parametrize("hashing, expected", [("standard", profiles.RFC_9106_LOW_MEMORY),
                                               ("fast-for-tests", profiles.CHEAPEST)])
def test_an_app_hashes_with_the_parameters_of_its_setting(hashing, expected):
    app = Flask(__name__)
    app.config["PASSWORD_HASHING"] = hashing
    with app.app_context():
        stored = passwords.hash_password("a fine passphrase")
        assert parameters(stored) == expected
        assert passwords.verify_password(stored, "a fine passphrase")
        assert not passwords.verify_password(stored, "a wrong passphrase")
        assert not passwords.needs_rehash(stored)


def test_a_cheap_hash_verifies_and_is_rehashed_to_the_standard_parameters_at_login(app, database_url, tmp_path):
    patient = make_patient()  # the shared test app hashes with the cheap parameters
    db.session.commit()
    assert parameters(patient.user.password_hash) == profiles.CHEAPEST
    standard = create_app(env=_test_env(database_url, tmp_path))  # as in production: no PASSWORD_HASHING
    standard.test_client_class = Browser
    try:
        with standard.app_context():
            assert standard.config["PASSWORD_HASHING"] == "standard"
            assert standard.test_client().login(patient.user.email, PASSWORD).status_code == 302
            rehashed = db.session.scalars(select(User.password_hash).where(User.id == patient.user.id)).one()
            assert parameters(rehashed) == profiles.RFC_9106_LOW_MEMORY
            assert passwords.verify_password(rehashed, PASSWORD)
    finally:
        with standard.app_context():
            db.engine.dispose()
