"""When a failed delivery is tried again: exponential backoff with jitter, for outbox rows and local reminders."""
from __future__ import annotations

import random
from datetime import timedelta

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)


def backoff(attempts: int, cap: timedelta = RETRY_CAP) -> timedelta:
    """Exponential (30 s, 1 min, 2 min ... up to ``cap``), times 0.5-1 at random so retries spread out."""
    delay = min(cap, RETRY_BASE * 2 ** max(attempts - 1, 0))
    return delay * (0.5 + random.random() / 2)
