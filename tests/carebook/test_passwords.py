"""Password rules and argon2id hashing."""
from __future__ import annotations

from argon2 import PasswordHasher

from carebook import passwords


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
