"""The one source of "now" for the whole application.

Everything that needs the current instant calls :func:`utcnow`, so tests can
freeze time in one place (see the ``frozen_time`` fixture).
"""
from __future__ import annotations

from datetime import datetime, timezone

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Return the current instant as an aware UTC datetime."""
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc)


def freeze(instant: datetime | None) -> None:
    """Pin :func:`utcnow` to ``instant`` (or release it with ``None``). For tests and scripts."""
    global _frozen
    if instant is not None and instant.utcoffset() is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = instant.astimezone(timezone.utc) if instant is not None else None
