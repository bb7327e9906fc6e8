"""Secrets at rest: authenticator keys encrypted with keys from the environment, rotated, checked at start-up."""
from __future__ import annotations

import hashlib
import logging

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from carebook import accounts, secrets_at_rest, totp
from carebook.app import create_app
from carebook.config import ConfigError
from carebook.extensions import db
from models import User
from tests.conftest import _test_env
from tests.factories import TOTP_SECRET, make_patient, make_staff

NEW_KEY = "a-new-key-for-the-secrets-" + "n" * 32
OTHER_KEY = "somebody-elses-key-entirely-" + "o" * 32
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/unused"
#: What production requires besides the keys (carebook/config.py, reminders/settings.py).
PRODUCTION_SETTINGS = {"BASE_URL": "https://clinic.example", "SMTP_HOST": "mail.clinic.example"}


def stored_secret(user_id: int) -> str:
    """What the database itself holds in users.totp_secret (no decryption)."""
    return db.session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}).scalar_one()


def enrolled_staff() -> User:
    user = make_staff()
    db.session.commit()
    return user


def app_with_keys(database_url: str, tmp_path, keys: str | None, **variables):
    env = {**_test_env(database_url, tmp_path), **variables}
    if keys is not None:
        env["SECRETS_ENCRYPTION_KEYS"] = keys
    return create_app(env=env)


def test_the_authenticator_key_is_stored_encrypted_and_read_back_in_plain_text(app):
    user = enrolled_staff()
    stored = stored_secret(user.id)
    assert TOTP_SECRET not in stored and secrets_at_rest.looks_encrypted(stored)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET


def test_each_encryption_of_the_same_key_differs(app):
    first, second = enrolled_staff(), enrolled_staff()
    assert stored_secret(first.id) != stored_secret(second.id)


def test_signing_in_with_an_encrypted_key_works(app, client):
    user = enrolled_staff()
    assert client.login(user.email).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_session_row_holds_only_the_hash_of_the_cookies_token(app, client):
    patient = make_patient()
    db.session.commit()
    client.login(patient.user.email)
    with client.session_transaction() as cookie_session:
        token = cookie_session["_user_id"]
    ids = db.session.scalars(text("SELECT id FROM user_sessions")).all()
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]
    assert client.get("/appointments").status_code == 200


def test_production_refuses_to_start_without_the_keys(tmp_path):
    env = {**_test_env(UNREACHABLE, tmp_path), "CAREBOOK_ENV": "production", **PRODUCTION_SETTINGS}
    with pytest.raises(ConfigError, match="SECRETS_ENCRYPTION_KEYS must be set in production"):
        create_app(env=env)


@pytest.mark.parametrize("keys, message", [
    ("short", "key 1 of 1 must be at least 32 characters"),
    (NEW_KEY + ",", "key 2 of 2 is empty"),
    (NEW_KEY + ",has spaces in it and is long enough to pass", "key 2 of 2 must be at least 32 characters"),
])
def test_badly_formed_keys_stop_the_start_with_a_message(tmp_path, keys, message):
    with pytest.raises(ConfigError, match=message):
        app_with_keys(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, keys)


def test_the_message_never_shows_a_key(tmp_path):
    with pytest.raises(ConfigError) as refused:
        app_with_keys(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, "tooshortakey")
    assert "tooshortakey" not in str(refused.value)


def test_production_refuses_the_session_secret_as_an_encryption_key(tmp_path):
    env = {**_test_env(UNREACHABLE, tmp_path), "CAREBOOK_ENV": "production", **PRODUCTION_SETTINGS}
    env["SECRETS_ENCRYPTION_KEYS"] = env["SECRET_KEY"]
    with pytest.raises(ConfigError, match="must not contain SECRET_KEY"):
        create_app(env=env)


def test_development_derives_a_key_from_the_secret_key_so_the_embedded_mode_needs_nothing(database_url, tmp_path):
    env = {**_test_env(database_url, tmp_path), "CAREBOOK_ENV": "development"}
    first = create_app(env=env)
    with first.app_context():
        user = enrolled_staff()
        user_id = user.id
    again = create_app(env=env)  # a restart: same SECRET_KEY, so the same key
    with again.app_context():
        assert db.session.get(User, user_id).totp_secret == TOTP_SECRET


def test_a_wrong_key_stops_the_start_with_a_message(app, database_url, tmp_path):
    enrolled_staff()
    with pytest.raises(ConfigError, match=r"does not hold the key .*1 of 1 in users\.totp_secret"):
        app_with_keys(database_url, tmp_path, OTHER_KEY)


def test_an_unreachable_database_is_not_checked_and_the_app_starts(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="carebook.secrets_at_rest"):
        app = app_with_keys(UNREACHABLE, tmp_path, NEW_KEY, CAREBOOK_ENV="production", **PRODUCTION_SETTINGS)
    assert app.config["SECRETS_ENCRYPTION_KEYS"] == (NEW_KEY,)
    assert "were not checked" in caplog.text


def test_a_database_not_migrated_yet_has_nothing_to_check(tmp_path):
    app = app_with_keys(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path, NEW_KEY)
    assert app.config["SECRETS_ENCRYPTION_KEYS"] == (NEW_KEY,)


def test_keys_rotate_a_new_key_first_then_re_encrypt_then_drop_the_old_one(app, database_url, tmp_path):
    user_id = enrolled_staff().id
    old_key = app.config["SECRET_KEY"]  # the test environment's key (derived from SECRET_KEY)
    before = stored_secret(user_id)

    both = app_with_keys(database_url, tmp_path, f"{NEW_KEY},{old_key}")
    runner = both.test_cli_runner()
    with both.app_context():  # the commands run in the current app's context: this one's
        status = runner.invoke(args=["secrets", "status"])
        assert status.exit_code == 1 and "users.totp_secret: 1 stored (key 2: 1)" in status.output
        result = runner.invoke(args=["secrets", "re-encrypt"])
        assert result.exit_code == 0 and "Re-encrypted 1 secret(s)" in result.output, result.output
        status = runner.invoke(args=["secrets", "status"])
        assert status.exit_code == 0 and "(key 1 (newest): 1)" in status.output

    assert stored_secret(user_id) != before
    new_only = app_with_keys(database_url, tmp_path, NEW_KEY)
    with new_only.app_context():
        assert db.session.get(User, user_id).totp_secret == TOTP_SECRET
    # And the old key alone can no longer read them: the app refuses to start with it.
    with pytest.raises(ConfigError, match="does not hold the key"):
        app_with_keys(database_url, tmp_path, old_key)


def test_re_encrypt_encrypts_secrets_kept_in_plain_text(app):
    user = enrolled_staff()
    db.session.execute(text("UPDATE users SET totp_secret = :plain WHERE id = :id"),
                       {"plain": TOTP_SECRET, "id": user.id})
    db.session.commit()
    runner = app.test_cli_runner()
    status = runner.invoke(args=["secrets", "status"])
    assert status.exit_code == 1 and "plain text: 1" in status.output
    result = runner.invoke(args=["secrets", "re-encrypt"])
    assert result.exit_code == 0 and "encrypted 1 kept in plain text" in result.output, result.output
    assert secrets_at_rest.looks_encrypted(stored_secret(user.id))
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET


def test_re_encrypt_leaves_a_value_changed_meanwhile_alone(app):
    user = enrolled_staff()
    connection = db.session.connection()
    keyring = secrets_at_rest.current_keyring()
    column = User.__table__.c.totp_secret
    # A value already under the newest key is not rewritten: the statement is conditional on the old value.
    result = secrets_at_rest.reencrypt(connection, keyring, [column])
    assert (result.reencrypted, result.encrypted_plain, result.unchanged) == (0, 0, 1)
    assert db.session.get(User, user.id).totp_secret == TOTP_SECRET


def test_migration_0008_encrypts_plain_text_keys_and_keeps_sessions(app):
    downgrade(revision="0004")
    db.session.execute(text("INSERT INTO users (id, email, full_name, role, is_active, created_at, totp_secret, "
                            "totp_enabled_at) VALUES (7, 'old@clinic.test', 'Old Staff', 'staff', :yes, "
                            "'2026-05-01 08:00:00', :secret, '2026-05-01 08:00:00')"),
                       {"secret": TOTP_SECRET, "yes": True})
    db.session.execute(text("INSERT INTO user_sessions (id, user_id, created_at, last_seen_at) "
                            "VALUES ('the-cookies-token', 7, '2026-06-01 06:59:00', '2026-06-01 06:59:00')"))
    db.session.commit()
    upgrade()
    stored = stored_secret(7)
    assert stored != TOTP_SECRET and secrets_at_rest.looks_encrypted(stored)
    db.session.expire_all()
    user = db.session.get(User, 7)
    assert user.totp_secret == TOTP_SECRET
    assert totp.matching_step(user.totp_secret, totp.current_code(TOTP_SECRET), None) is not None
    # The session the cookie named before the upgrade still signs its browser in.
    assert accounts.load_session(db.session, "the-cookies-token").user_id == 7
    assert db.session.scalars(select(text("id")).select_from(text("user_sessions"))).all() == [
        hashlib.sha256(b"the-cookies-token").hexdigest()]


def test_migration_0008_downgrade_decrypts_the_keys(app):
    user_id = enrolled_staff().id
    db.session.rollback()  # the migrations alter the table: nothing of ours may hold a lock on it
    downgrade(revision="0004")
    assert stored_secret(user_id) == TOTP_SECRET
    db.session.rollback()
    upgrade()
    assert secrets_at_rest.looks_encrypted(stored_secret(user_id))
