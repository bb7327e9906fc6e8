"""Password rules and hashing.

Rules follow NIST SP 800-63B: a length window, no composition rules, and a
refusal of passwords that appear in breach-derived lists of common passwords
(the 30,000-entry list that ships with zxcvbn). Hashes are argon2id; a hash made
with other parameters is replaced at the next successful login.

The parameters are the library's recommended ones (RFC 9106, about 0.2 s of CPU a
hash) unless the app's PASSWORD_HASHING setting asks for "fast-for-tests", the
cheapest argon2 allows, which carebook/config.py accepts only with CAREBOOK_ENV=test.
"""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

MIN_LENGTH = 8
MAX_LENGTH = 128

#: The PASSWORD_HASHING settings and their hashers; "standard" outside an app.
HASHERS = {
    "standard": PasswordHasher(),  # argon2id with the library's current recommended parameters
    "fast-for-tests": PasswordHasher.from_parameters(profiles.CHEAPEST),
}

# Verifying against these keeps a login for an unknown email as slow as one for a
# known email, so timing does not reveal which addresses have accounts.
_DUMMY_HASHES = {name: hasher.hash("not-a-real-password-used-for-timing") for name, hasher in HASHERS.items()}


def _hashing() -> str:
    return current_app.config.get("PASSWORD_HASHING", "standard") if has_app_context() else "standard"


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why this password is refused, in words a person can act on; None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common_passwords():
        return "This password is too common and easy to guess. Choose another one."
    return None


def hash_password(password: str) -> str:
    return HASHERS[_hashing()].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; also spends the same time when there is no hash.

    A hash is checked with the parameters written in it, whatever the app's setting.
    """
    hashing = _hashing()
    try:
        matches = HASHERS[hashing].verify(password_hash or _DUMMY_HASHES[hashing], password)
        return matches and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with other parameters than the app's (it is replaced at the next login)."""
    return HASHERS[_hashing()].check_needs_rehash(password_hash)
