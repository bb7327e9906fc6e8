"""Telling the owner of an account that someone keeps failing to sign in to it.

When an account's wrong passwords from devices its owner has not used reach the
per-account limit (carebook/throttling.py), the owner gets an email, at most once per
:data:`NOTICE_INTERVAL` however long the guessing goes on, and whichever worker or
container sees it: the right to send is claimed with one conditional UPDATE of
``users.failed_sign_in_notice_at``, so exactly one request wins it. The claim is written
apart from the refused request (carebook/unit_of_work.py) and the email leaves once it
is committed, through the app's email path (reminders/account_mail.py).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from carebook import audit, auth_events
from carebook.clock import utcnow
from models import User

#: At most one such email per account in this long: enough to warn, not enough to flood an inbox.
NOTICE_INTERVAL = timedelta(hours=24)


def claim_notice(session: Session, user_id: int) -> bool:
    """Take the right to email the owner now; False if they were told within NOTICE_INTERVAL."""
    now = utcnow()
    claimed = session.execute(
        update(User)
        .where(User.id == user_id, or_(User.failed_sign_in_notice_at.is_(None),
                                       User.failed_sign_in_notice_at <= now - NOTICE_INTERVAL))
        .values(failed_sign_in_notice_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if claimed:
        audit.write_row(session, None, "system", auth_events.FAILED_SIGN_INS_NOTIFIED, auth_events.ENTITY, user_id,
                        {})
    return claimed
