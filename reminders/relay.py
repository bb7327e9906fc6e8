"""The relay: acts on committed outbox rows, with retries, safely in several processes.

One pass (:func:`relay_once`):

1. Claim up to ``batch_size`` due rows: on PostgreSQL ``SELECT ... FOR UPDATE SKIP
   LOCKED`` inside a conditional UPDATE, on SQLite the same UPDATE (SQLite runs one
   writer at a time). A claim is a lease: a crashed worker's rows become claimable
   again when it runs out. Only the oldest pending row of each (appointment, topic)
   lane is claimable, so a cancellation is never applied before the booking it cancels.
2. Act on each row: reminder rows bring the backend's reminder in line with the
   appointment's current row (create, move or delete; each idempotent), email rows
   render and send their snapshot (and write its delivery record), SMS rows (an email
   row's kind with ``channel: sms``, reminders/notices.py) go to the backend as a notice
   message for the reminder function, account email rows (a password reset link, a
   registration email; no appointment, no lane) go to reminders/account_mail.py.
3. Mark the row done, or keep it pending with ``attempts + 1``, ``next_attempt_at``
   after an exponential backoff with jitter, and ``last_error`` (error class and
   service code only, never personal data). After ``MAX_ATTEMPTS``, or at once for an
   error that no retry can fix, the row is ``dead`` and `flask reminders status` shows it.
   Waitlist rows (reminders/waitlist_mail.py) offer freed slots to waiting patients, and send the offers.
4. Delete the registration requests nobody confirmed (carebook/registration.py), and end the waitlist
   entries whose date range has passed.
5. With the local backend, fire due local reminders through the Lambda handler; with the
   AWS backend, drain the delivery receipts queue into ``notification_deliveries``.

The pass is the worker's edge: :func:`relay_once` and its loop over a batch are the only
code here that commits. A pass is a sequence of short units of work, each committed once: the claim (before anything
leaves the process, so other workers skip the rows), then one unit per row (its
outcome, what the local backend wrote for it, and the lease renewal of the next row,
so that row still owns its claim when its turn comes), then the local reminders' claim
and their outcome. No transaction stays open across a call to AWS or a mail server,
and a failure undoes only the unit it happened in: rows already done stay done, and
their emails are not sent twice.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from carebook import registration
from carebook.waitlist import entries as waitlist_entries
from carebook.clock import utcnow
from carebook.extensions import db
from messaging.errors import describe_error
from models import Appointment, OutboxMessage, OutboxStatus
from models.outbox import ERASE_AFTER_SENDING, ERASED_PAYLOAD
from reminders import account_mail, deliveries, emails, notices, waitlist_mail
from reminders.backends import local
from reminders.planning import desired_reminder, schedule_name
from reminders.retry import backoff
from reminders.state import get_state

logger = logging.getLogger("reminders.relay")

CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 20
#: Errors that say the row itself is wrong: retrying cannot help.
PERMANENT_ERRORS = (emails.InvalidSnapshot,)


@dataclass
class RelayResult:
    done: int = 0
    retrying: int = 0
    dead: int = 0
    reminders_delivered: int = 0
    reminders_failed: int = 0
    receipts: int = 0
    actions: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not (self.done or self.retrying or self.dead or self.reminders_delivered or self.reminders_failed
                    or self.receipts)

    def summary(self) -> str:
        text = f"outbox: {self.done} done, {self.retrying} to retry, {self.dead} dead"
        if self.reminders_delivered or self.reminders_failed:
            text += f"; local reminders: {self.reminders_delivered} delivered, {self.reminders_failed} failed"
        if self.receipts:
            text += f"; {self.receipts} delivery receipts recorded"
        return text


def claim(session: Session, batch_size: int) -> str:
    """Claim due rows for this worker; return the claim's token (the caller commits it)."""
    now = utcnow()
    token = uuid.uuid4().hex
    earlier = aliased(OutboxMessage)
    blocked = exists().where(and_(earlier.appointment_id == OutboxMessage.appointment_id,
                                  earlier.topic == OutboxMessage.topic,
                                  earlier.status == OutboxStatus.PENDING,
                                  earlier.id < OutboxMessage.id))
    due = (select(OutboxMessage.id)
           .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now,
                  or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                  ~blocked)
           .order_by(OutboxMessage.id)
           .limit(batch_size)
           .with_for_update(skip_locked=True, of=OutboxMessage))
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
                    .values(claimed_until=now + CLAIM_LEASE, claim_token=token)
                    .execution_options(synchronize_session=False))
    return token


def claimed(session: Session, token: str) -> list[OutboxMessage]:
    """The rows of a claim, in id order."""
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.claim_token == token)
                                .order_by(OutboxMessage.id)))


def act(app: Flask, row: OutboxMessage) -> str:
    """Carry out one row; return what happened (for logs). Raises on failure."""
    state = get_state(app)
    if row.topic.value == "reminder":
        appointment = db.session.get(Appointment, row.appointment_id, populate_existing=True)
        reminder = desired_reminder(app, db.session, state.settings, appointment, utcnow())
        if reminder is None:
            return state.backend.delete_reminder(schedule_name(row.appointment_id))
        return state.backend.put_reminder(reminder)
    if row.kind in account_mail.KINDS:
        return account_mail.deliver(app, db.session, row)
    if row.kind in waitlist_mail.KINDS:
        return waitlist_mail.deliver(app, db.session, row)
    if notices.is_sms_row(row):
        return state.backend.send_notice(notices.message(row))
    message = emails.render(app, row.kind, row.payload, state.settings.email_sender)
    provider_id = state.backend.mailer.send(message)
    deliveries.record(db.session, appointment_id=row.appointment_id, message_id=notices.notice_id(row),
                      event=notices.EVENTS[row.kind], channel="email", outcome="sent",
                      provider_message_id=provider_id if isinstance(provider_id, str) else "")
    return "sent"


def relay_once(app: Flask, batch_size: int = 20, max_rounds: int = 50) -> RelayResult:
    """One pass of the relay: drain the due outbox rows, then fire due local reminders.

    A claim takes only the oldest pending row of each lane, so the pass claims again
    until nothing is left (or ``max_rounds``, so that one pass always ends). Every
    commit of the pass is here (see the module's docstring).
    """
    session = db.session
    result = RelayResult()
    for _ in range(max_rounds):
        token = claim(session, batch_size)
        session.commit()  # other workers must see the claim before anything leaves the process
        rows = claimed(session, token)
        if not rows:
            break
        _relay_batch(app, session, token, rows, result)

    # Registrations nobody confirmed: their names, birth dates and phone numbers are not kept.
    registration.prune(session)
    # Waitlist entries whose date range has passed end (carebook/waitlist/entries.py).
    waitlist_entries.expire_passed(session, app.config["CLINIC"].timezone)
    session.commit()

    state = get_state(app)
    if state.settings.backend == "local":
        token = local.claim_due(session)
        session.commit()
        fired = local.deliver(session, local.claimed(session, token), state.handler_services())
        session.commit()
        result.reminders_delivered, result.reminders_failed = fired.delivered, fired.failed
    else:
        # The reminder function's delivery receipts, into notification_deliveries. Each batch is
        # committed before its messages leave the queue: a crash in between has them received
        # again, and their receipt ids make the second write a no-op.
        for _ in range(max_rounds):
            batch = state.backend.receive_receipts()
            if not batch.messages:
                break
            result.receipts += deliveries.record_receipts(session, batch.receipts)
            session.commit()
            state.backend.acknowledge_receipts(batch)
    return result


def _relay_batch(app: Flask, session: Session, token: str, rows: list[OutboxMessage], result: RelayResult) -> None:
    """One unit of work, and one commit, per claimed row."""
    ids = [row.id for row in rows]
    still_mine = True  # the claim was just committed with a fresh lease
    for position, row in enumerate(rows):
        if still_mine:
            _relay_row(app, session, token, row, result)
        else:
            logger.warning("outbox row %s: claim ran out before its turn; left to the other worker", ids[position])
        next_id = ids[position + 1] if position + 1 < len(ids) else None
        # Renewed in this row's unit, so that the next row's lease is committed before it acts.
        still_mine = next_id is not None and _renew_claim(session, next_id, token)
        session.commit()


def _relay_row(app: Flask, session: Session, token: str, row: OutboxMessage, result: RelayResult) -> None:
    """Act on one claimed row and record the outcome (flushed: the caller commits)."""
    row_id, kind, attempts, appointment_id = row.id, row.kind, row.attempts, row.appointment_id
    sms = notices.is_sms_row(row)
    # The last email to an erased patient: once it is sent (or given up), nothing may keep their address.
    erase = {"payload": ERASED_PAYLOAD} if (row.payload or {}).get(ERASE_AFTER_SENDING) else {}
    try:
        outcome = act(app, row)
    except Exception as error:
        session.rollback()  # only this row's unit: what the backend wrote for it
        detail = describe_error(error)
        attempts += 1
        if isinstance(error, PERMANENT_ERRORS) or attempts >= MAX_ATTEMPTS:
            _finish(session, row_id, token, status=OutboxStatus.DEAD, attempts=attempts, last_error=detail,
                    processed_at=utcnow(), **erase)
            if kind in notices.EVENTS and appointment_id is not None:
                deliveries.record(session, appointment_id=appointment_id, message_id=f"outbox-{row_id}",
                                  event=notices.EVENTS[kind], channel="sms" if sms else "email", outcome="failed",
                                  detail=detail)
            result.dead += 1
            logger.error("outbox row %s (%s) is dead after %s attempts: %s", row_id, kind.value, attempts, detail)
        else:
            _finish(session, row_id, token, attempts=attempts, last_error=detail,
                    next_attempt_at=utcnow() + backoff(attempts))
            result.retrying += 1
            logger.warning("outbox row %s (%s) failed (attempt %s), will retry: %s",
                           row_id, kind.value, attempts, detail)
        return
    if not _finish(session, row_id, token, status=OutboxStatus.DONE, processed_at=utcnow(), last_error="", **erase):
        logger.warning("outbox row %s: claim ran out before it was marked done", row_id)
    result.done += 1
    about = f"appointment {appointment_id}" if appointment_id is not None else f"outbox row {row_id}"
    result.actions.append(f"{kind.value} {about}: {outcome}")
    logger.info("outbox row %s (%s): %s", row_id, kind.value, outcome)


def _finish(session: Session, row_id: int, token: str, **values) -> bool:
    result = session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
        .values(claimed_until=None, claim_token=None, **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _renew_claim(session: Session, row_id: int, token: str) -> bool:
    """Renew this row's lease before its turn; False if it ran out and another worker took it."""
    renewed = session.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
        .values(claimed_until=utcnow() + CLAIM_LEASE).execution_options(synchronize_session=False))
    return renewed.rowcount == 1
