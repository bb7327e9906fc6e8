"""Keyed pseudonyms of client and email addresses (what the throttles key their counters by)."""
from __future__ import annotations

from carebook.pseudonyms import client_address, pseudonym


def test_a_pseudonym_is_stable_and_does_not_contain_the_value(app):
    first = pseudonym("address", "203.0.113.77")
    assert first == pseudonym("address", "203.0.113.77") and "203.0.113.77" not in first
    assert first.startswith("address:") and first != pseudonym("address", "203.0.113.78")


def test_pseudonyms_of_different_kinds_differ(app):
    assert pseudonym("address", "x").split(":")[1] != pseudonym("account", "x").split(":")[1]


def test_a_pseudonym_depends_on_the_secret_key(app, monkeypatch):
    before = pseudonym("address", "203.0.113.77")
    monkeypatch.setitem(app.config, "SECRET_KEY", "another secret key of at least 32 characters")
    assert pseudonym("address", "203.0.113.77") != before


def test_the_client_address_is_counted_as_its_pseudonym(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.3"}):
        assert client_address() == pseudonym("address", "198.51.100.3")
