"""Keyed pseudonyms: stand-ins for client and email addresses where the value itself must not be kept.

The throttle counters are keyed by who is trying (the client's address, the account asked
for), and those keys end up in Redis and in Flask-Limiter's log line about a breached limit.
A pseudonym is an HMAC of the value under the app's SECRET_KEY: the same address always
gives the same pseudonym (so counting and reading logs still work), but without the key
nobody can tell which address it stands for, nor test guesses against it (a plain hash of
an IPv4 address is undone by trying all four billion).
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from flask_limiter.util import get_remote_address

#: Hex digits kept: 80 bits, plenty to tell apart the clients and accounts of one clinic.
LENGTH = 20


def pseudonym(kind: str, value: str) -> str:
    """``kind`` (e.g. "address") keeps pseudonyms of different kinds of value apart."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key, f"carebook.pseudonym\0{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:LENGTH]}"


def client_address() -> str:
    """The client's address (as the proxy settings resolve it) as the throttles count it."""
    return pseudonym("address", get_remote_address() or "")
