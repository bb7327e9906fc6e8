"""Secrets the database holds, encrypted with keys that only the environment holds.

What is secret in the database, and how it is kept:

* the authenticator key of each account with two-factor authentication
  (``users.totp_secret``) must be read back to check a code: it is **encrypted** here
  (Fernet: AES-128-CBC with an HMAC-SHA256, from ``cryptography``);
* everything else secret is only ever compared, so only a hash is stored: passwords
  (argon2id), recovery codes and password-reset tokens (SHA-256), and the ids of the
  sign-in sessions that the cookies carry (SHA-256, carebook/accounts.py).

Keys come from ``SECRETS_ENCRYPTION_KEYS``: a comma-separated list, newest first, each at
least 32 characters of random text (HKDF-SHA256 turns each into a Fernet key). New values
are encrypted with the first key; every key of the list decrypts (MultiFernet). To rotate,
put a new key first, restart, run ``flask secrets re-encrypt``, then drop the old key.
Production requires the variable; development and test derive a key from SECRET_KEY, so
the embedded mode works out of the box.

A column holds an encrypted value by being typed :class:`EncryptedString`; the start-up
check and the commands find every such column in the models' metadata. At start-up
(:func:`init_app`) the stored values are checked against the keys: a value that no key
decrypts (a wrong key, or an old one dropped too soon) stops the app with a message that
says so, instead of failing each sign-in later.
"""
from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from sqlalchemy import Column, MetaData, Text, bindparam, column, exc, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from carebook import database
from carebook.config import ConfigError
from carebook.extensions import db

log = logging.getLogger(__name__)

KEYS_VARIABLE = "SECRETS_ENCRYPTION_KEYS"
MIN_KEY_LENGTH = 32
EXTENSION_KEY = "secrets_at_rest"
#: Every Fernet token starts with the version byte 0x80, which is "gA" in URL-safe base64.
_TOKEN_PREFIX = "gA"
_HKDF_SALT = b"carebook secrets at rest"
_HKDF_INFO = b"fernet key, version 1"


class UndecryptableSecret(Exception):
    """A stored value that none of the configured keys decrypts."""


def fernet_key(key_text: str) -> bytes:
    """The Fernet key made from one configured key (HKDF-SHA256: any random text of 32+ characters will do)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(key_text.encode())
    return base64.urlsafe_b64encode(derived)


def looks_encrypted(value: str) -> bool:
    """Whether ``value`` has the form of a Fernet token (as opposed to a secret stored in plain text)."""
    if not value.startswith(_TOKEN_PREFIX):
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        return False
    # version, timestamp, IV, at least one cipher block, HMAC
    return len(raw) >= 1 + 8 + 16 + 16 + 32 and raw[0] == 0x80


class Keyring:
    """The configured keys: encrypt with the newest, decrypt with any."""

    def __init__(self, keys: Iterable[str]):
        self._fernets = [Fernet(fernet_key(key)) for key in keys]
        if not self._fernets:
            raise ValueError("a keyring needs at least one key")
        self._all = MultiFernet(self._fernets)

    def __len__(self) -> int:
        return len(self._fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret("no configured key decrypts this value") from None

    def key_index(self, token: str) -> int | None:
        """Which key (0: the newest) decrypts ``token``; None if none does."""
        for index, fernet in enumerate(self._fernets):
            try:
                fernet.decrypt(token.encode())
            except InvalidToken:
                continue
            return index
        return None

    def rotate(self, token: str) -> str:
        """``token`` encrypted again with the newest key."""
        try:
            return self._all.rotate(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret("no configured key decrypts this value") from None


def current_keyring() -> Keyring:
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError("this app has no keys for the secrets at rest (carebook.secrets_at_rest.init_app)") from None


class EncryptedString(TypeDecorator):
    """A text column whose value is stored encrypted with the current app's keys (see the module's docstring).

    Python code reads and writes plain text; the database sees only Fernet tokens. A
    stored value that is not a token the keys decrypt raises :class:`UndecryptableSecret`:
    the start-up check makes sure that cannot happen in a running app.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else current_keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else current_keyring().decrypt(value)


# -- configuration ------------------------------------------------------------------------------


def settings(env: Mapping[str, str], config: Mapping) -> dict:
    """``SECRETS_ENCRYPTION_KEYS`` (a tuple, newest first) from the environment, or raise ConfigError.

    ``config`` is what :func:`carebook.config.load_config` made (for the environment's name and SECRET_KEY).
    """
    raw = env.get(KEYS_VARIABLE, "")
    production = config["ENV_NAME"] == "production"
    if not raw.strip():
        if production:
            raise ConfigError(f"{KEYS_VARIABLE} must be set in production: the key(s) that encrypt the secrets the "
                              "database holds (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`; "
                              "docs/deployment.md, \"Secrets\")")
        # Development and test: a key of their own would be one more file to lose; SECRET_KEY is kept already.
        return {KEYS_VARIABLE: (config["SECRET_KEY"],)}
    keys = tuple(part.strip() for part in raw.split(","))
    for position, key in enumerate(keys, start=1):
        if not key:
            raise ConfigError(f"{KEYS_VARIABLE}: key {position} of {len(keys)} is empty (keys are separated by commas)")
        if len(key) < MIN_KEY_LENGTH or any(character.isspace() for character in key):
            raise ConfigError(f"{KEYS_VARIABLE}: key {position} of {len(keys)} must be at least {MIN_KEY_LENGTH} "
                              f"characters of random text without spaces (it has {len(key)})")
    if production and config["SECRET_KEY"] in keys:
        raise ConfigError(f"{KEYS_VARIABLE} must not contain SECRET_KEY: rotating one must not lose the other")
    return {KEYS_VARIABLE: keys}


def init_app(app: Flask) -> None:
    """Give the app its keyring, and check it against what the database holds (see :func:`check_keys`)."""
    app.extensions[EXTENSION_KEY] = Keyring(app.config[KEYS_VARIABLE])
    check_keys(app)


# -- what the database holds ----------------------------------------------------------------------


def encrypted_columns(metadata: MetaData) -> list[Column]:
    """Every column of the models that holds an encrypted value."""
    return [col for tbl in metadata.sorted_tables for col in tbl.columns if isinstance(col.type, EncryptedString)]


@dataclass
class ColumnSurvey:
    """What one encrypted column holds: how many values each key decrypts, how many are plain or undecryptable."""

    name: str
    by_key: dict[int, int] = field(default_factory=dict)
    plain: int = 0
    undecryptable: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_key.values()) + self.plain + self.undecryptable


def _raw(col: Column):
    """A lightweight table of the column and its table's primary key, typed as plain text: no decryption."""
    key_names = [key.name for key in col.table.primary_key.columns]
    return table(col.table.name, *(column(name) for name in key_names), column(col.name, Text)), key_names


def _present(connection: Connection, col: Column) -> bool:
    """Whether the database has this column yet (a database not migrated so far has nothing to check)."""
    inspector = inspect(connection)
    if not inspector.has_table(col.table.name):
        return False
    return col.name in {info["name"] for info in inspector.get_columns(col.table.name)}


def survey(connection: Connection, keyring: Keyring, columns: Iterable[Column]) -> list[ColumnSurvey]:
    """What each of these encrypted columns holds, value by value (read only)."""
    found = []
    for col in columns:
        if not _present(connection, col):
            continue
        raw, _ = _raw(col)
        report = ColumnSurvey(f"{col.table.name}.{col.name}")
        for value in connection.scalars(select(raw.c[col.name]).where(raw.c[col.name].is_not(None))):
            if not looks_encrypted(value):
                report.plain += 1
                continue
            index = keyring.key_index(value)
            if index is None:
                report.undecryptable += 1
            else:
                report.by_key[index] = report.by_key.get(index, 0) + 1
        found.append(report)
    return found


def check_keys(app: Flask) -> None:
    """Stop the start (ConfigError) if the database holds encrypted values that none of the keys decrypts.

    A database that cannot be reached now is not checked (the app starts and answers 503
    until it is back: carebook/database.py); one not yet migrated has nothing to check.
    Values still in plain text (a database from before migration 0007) are left to the
    migration, or to `flask secrets re-encrypt`.
    """
    with app.app_context():
        engine = db.engine
        try:
            with engine.connect() as connection:
                reports = survey(connection, app.extensions[EXTENSION_KEY], encrypted_columns(db.metadata))
        except (exc.DBAPIError, exc.TimeoutError, exc.DisconnectionError) as error:
            if not database.is_unavailable(error):
                raise
            problem = database.connection_problem(error, engine.url)
            if problem is not None and problem.misconfigured:
                return  # not an outage but a wrong DATABASE_URL: the entry point stops on it in one line (wsgi.py)
            log.warning("the database is unreachable: the keys in %s were not checked against it", KEYS_VARIABLE)
            return
        finally:
            # gunicorn forks its workers from this process: no pooled connection may cross the fork.
            engine.dispose()
    wrong = [report for report in reports if report.undecryptable]
    if wrong:
        counts = ", ".join(f"{report.undecryptable} of {report.total} in {report.name}" for report in wrong)
        raise ConfigError(
            f"{KEYS_VARIABLE} does not hold the key that encrypted secrets in the database ({counts}). "
            "Set it to the key(s) these were encrypted with (newest first); if one was replaced, keep the old "
            "one after the new one until `flask secrets re-encrypt` has run. See docs/deployment.md, \"Secrets\".")
    plain = sum(report.plain for report in reports)
    if plain:
        log.warning("%d secret(s) in the database are still in plain text: run `flask db upgrade` "
                    "or `flask secrets re-encrypt`", plain)


@dataclass
class ReencryptResult:
    reencrypted: int = 0
    encrypted_plain: int = 0
    unchanged: int = 0


def reencrypt(connection: Connection, keyring: Keyring, columns: Iterable[Column]) -> ReencryptResult:
    """Encrypt every stored secret with the newest key: tokens of older keys and plain-text values alike.

    Runs in the caller's transaction (the caller commits). Each row is written only if it
    still holds the value read, so a concurrent change (a new enrolment) is never
    overwritten. Raises :class:`UndecryptableSecret` (and writes nothing the caller
    should keep) if a value decrypts with none of the keys.
    """
    result = ReencryptResult()
    for col in columns:
        if not _present(connection, col):
            continue
        raw, key_names = _raw(col)
        rows = connection.execute(select(*(raw.c[name] for name in key_names), raw.c[col.name])
                                  .where(raw.c[col.name].is_not(None))).all()
        undecryptable = 0
        changes = []
        for row in rows:
            *key, value = row
            if not looks_encrypted(value):
                changes.append((key, value, keyring.encrypt(value)))
                result.encrypted_plain += 1
                continue
            index = keyring.key_index(value)
            if index is None:
                undecryptable += 1
            elif index == 0:
                result.unchanged += 1
            else:
                changes.append((key, value, keyring.rotate(value)))
                result.reencrypted += 1
        if undecryptable:
            raise UndecryptableSecret(f"{undecryptable} value(s) in {col.table.name}.{col.name} decrypt with none "
                                      f"of the keys in {KEYS_VARIABLE}; nothing was changed")
        statement = raw.update().where(*(raw.c[name] == bindparam(f"key_{name}") for name in key_names),
                                       raw.c[col.name] == bindparam("old")).values({col.name: bindparam("new")})
        for key, old, new in changes:
            connection.execute(statement, {"old": old, "new": new,
                                           **{f"key_{name}": part for name, part in zip(key_names, key)}})
    return result


def decrypt_all(connection: Connection, keyring: Keyring, columns: Iterable[Column]) -> int:
    """Store the values of these columns in plain text again (migration 0007's downgrade only). Returns how many."""
    count = 0
    for col in columns:
        if not _present(connection, col):
            continue
        raw, key_names = _raw(col)
        rows = connection.execute(select(*(raw.c[name] for name in key_names), raw.c[col.name])
                                  .where(raw.c[col.name].is_not(None))).all()
        statement = raw.update().where(*(raw.c[name] == bindparam(f"key_{name}") for name in key_names)) \
            .values({col.name: bindparam("new")})
        for *key, value in rows:
            if looks_encrypted(value):
                connection.execute(statement, {"new": keyring.decrypt(value),
                                               **{f"key_{name}": part for name, part in zip(key_names, key)}})
                count += 1
    return count
