"""Devices on which an account's owner has signed in: a proof that does not depend on the client's address.

Each complete sign-in (every factor passed) leaves a long-lived cookie on the browser or
API client, signed with the SECRET_KEY: a random id for the device and the accounts that
signed in on it, newest first, at most :data:`MAX_ACCOUNTS` (keyed pseudonyms of their
email addresses: no email, no user id). A completed password reset leaves the same: the
emailed link is a proof of its own.

When an account's wrong passwords from elsewhere reach the per-account limit
(carebook/throttling.py), devices without that proof wait; devices with it do not, so
whoever is guessing cannot lock the owner out (portal/sign_in.py). A device that itself
keeps failing waits like any other for the rest of the window, so a stolen cookie buys
little.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "known_device"
LIFETIME = timedelta(days=180)
MAX_ACCOUNTS = 5
_SALT = "carebook.known-device"


@dataclass(frozen=True)
class Device:
    id: str
    accounts: tuple[str, ...]

    def knows(self, account: str) -> bool:
        return account in self.accounts


def cookie_name() -> str:
    # In production the session cookie is "__Host-" prefixed (HTTPS only, this host only); so is this one.
    prefix = "__Host-" if current_app.config.get("SESSION_COOKIE_NAME", "").startswith("__Host-") else ""
    return prefix + COOKIE_NAME


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def current() -> Device | None:
    """The device this request comes from, if an earlier sign-in here left a valid cookie."""
    raw = request.cookies.get(cookie_name())
    if not raw or len(raw) > 1024:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadSignature:  # forged, altered or expired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("a"), list):
        return None
    return Device(data["d"], tuple(account for account in data["a"] if isinstance(account, str)))


def remember(account: str) -> None:
    """After a complete sign-in (or a password reset): this device now vouches for ``account``."""
    device = current()
    device_id = device.id if device is not None else secrets.token_urlsafe(16)
    earlier = device.accounts if device is not None else ()
    accounts = [account, *(known for known in earlier if known != account)][:MAX_ACCOUNTS]
    value = _serializer().dumps({"d": device_id, "a": accounts})

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(cookie_name(), value, max_age=int(LIFETIME.total_seconds()), path="/",
                            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), httponly=True,
                            samesite="Lax")
        return response
