"""What the seeding, the servers and the load generator agree on: the clinic's policy, the
shared password, the trivial endpoint, the sizes of the slot window and of the booking rush."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TIMEZONE = "Europe/London"
HORIZON_DAYS = 90
MIN_NOTICE_MINUTES = 120
LOAD_PASSWORD = "bench-load-password-2026"  # the one password of every seeded account
# The ceiling: the app's cheapest route under the same server. /healthz (public, no session, no
# database) when the app has it; otherwise GET /api/csrf-token (public, tiny JSON, but it signs and
# sets a session cookie on every answer), which was the stand-in before /healthz existed.
TRIVIAL_CANDIDATES = ("/healthz", "/api/csrf-token")
SLOT_DAYS = 14
# The booking rush: this many patients at once after this many slots of one doctor.
RUSH_CLIENTS = 200
RUSH_SLOTS = 20
# The mixed-types clinic (issue 12): every one of its doctors offers all of these, online, to anyone:
# (name, minutes, buffer minutes). Its calendars hold appointments of all of them.
MIXED_TYPES = (("Vaccination", 10, 5), ("Follow-up", 15, 0), ("Consultation", 30, 10), ("First visit", 40, 5))
