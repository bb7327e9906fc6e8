"""Time-based one-time passwords (RFC 6238, as authenticator apps make them) and recovery codes.

Pure functions, no database: :mod:`carebook.two_factor` keeps the state. Time
comes from :func:`carebook.clock.utcnow`, so frozen test clocks apply to codes too.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

from carebook.clock import utcnow

STEP_SECONDS = 30
DIGITS = 6
#: Codes of the previous and the next time step are accepted too (clocks of phones drift).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 16 characters from 31 that cannot be mistaken for one another (no i, l, o, 0, 1): 79 random bits.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUPS = 4
_RECOVERY_GROUP_LENGTH = 4
_SEPARATORS = re.compile(r"[\s\-]+")


def new_secret() -> str:
    """A fresh base32 secret of 160 bits, the size RFC 4226 recommends."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code, or typed in)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account,
                                                                                    issuer_name=issuer)


def time_step(at: datetime | None = None) -> int:
    return int((at or utcnow()).timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def current_code(secret: str, at: datetime | None = None) -> str:
    """The code an authenticator app shows now (for tests and the demo)."""
    return code_at(secret, time_step(at))


def normalise(code: str) -> str:
    """What the user typed, without spaces or dashes, in lower case."""
    return _SEPARATORS.sub("", code or "").lower()


def looks_like_totp(code: str) -> bool:
    text = normalise(code)
    return len(text) == DIGITS and text.isdigit()


def matching_step(secret: str, code: str, after_step: int | None, at: datetime | None = None) -> int | None:
    """The time step whose code ``code`` is, within the drift allowed, and later than ``after_step``.

    ``after_step`` is the last step already used: a code is good once, so a code
    seen by someone looking over a shoulder cannot be replayed.
    """
    if not looks_like_totp(code):
        return None
    typed = normalise(code)
    now_step = time_step(at)
    found = None
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(code_at(secret, step), typed) and (after_step is None or step > after_step):
            found = step
    return found


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Codes such as ``k7dq-2mfa-x9ph-3tce``: unambiguous letters and digits, easy to copy by hand."""
    codes = []
    for _ in range(count):
        letters = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH))
        codes.append("-".join(letters[i:i + _RECOVERY_GROUP_LENGTH]
                              for i in range(0, len(letters), _RECOVERY_GROUP_LENGTH)))
    return codes


def looks_like_recovery_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == _RECOVERY_GROUPS * _RECOVERY_GROUP_LENGTH and all(c in _RECOVERY_ALPHABET for c in text)


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()
