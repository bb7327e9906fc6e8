"""`flask reminders ...`: the relay worker, reconcile, and a status overview.

Each command is an edge: `reconcile` commits once, at its end; the relay worker's
passes commit their own units of work (:func:`reminders.relay.relay_once`), and a pass
that fails is rolled back and logged while the worker goes on; `status` only reads.
"""
from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from carebook.database import connection_problem
from carebook.extensions import db
from models import LocalReminder, OutboxMessage, OutboxStatus
from reminders.reconcile import reconcile
from reminders.relay import relay_once
from reminders.state import get_state


@click.group("reminders", help="Reminder and notification delivery (outbox relay, reconcile).")
def reminders_cli() -> None:
    pass


@reminders_cli.command("relay", help="Act on pending outbox rows (and fire due local reminders). "
                                      "Loops until stopped unless --once; safe to run in several processes.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to sleep when a pass found nothing to do.")
@click.option("--batch-size", default=20, show_default=True, type=click.IntRange(1, 500))
@with_appcontext
def relay_command(once: bool, interval: float, batch_size: int) -> None:
    app = current_app._get_current_object()
    if once:
        result = relay_once(app, batch_size)
        click.echo(result.summary())
        for action in result.actions:
            click.echo(f"  {action}")
        return
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())
    click.echo(f"Reminder relay running ({get_backend_name()} backend); stop with Ctrl+C or SIGTERM.")
    while not stopping.is_set():
        try:
            result = relay_once(app, batch_size)
        except Exception as error:  # a database blip must not end the worker; log and go on
            db.session.rollback()
            problem = connection_problem(error, db.engine.url)
            if problem is None:
                current_app.logger.exception("reminder relay pass failed")
            elif problem.misconfigured:  # one line, no stack: the setting is what to look at
                current_app.logger.error("reminder relay pass failed: database misconfigured: %s", problem.text)
            else:
                current_app.logger.warning("reminder relay pass failed: database unavailable: %s", problem.text)
            stopping.wait(interval)
            continue
        finally:
            db.session.remove()
        if not result.idle:
            click.echo(result.summary())
        else:
            stopping.wait(interval)
    click.echo("Reminder relay stopped.")


def get_backend_name() -> str:
    return get_state(current_app).settings.backend


@reminders_cli.command("reconcile", help="Compare booked future appointments with the live reminders; "
                                          "report missing, stale and orphaned ones. Exit status 1 if any remain.")
@click.option("--repair", is_flag=True, help="Create, update or delete reminders to fix what was found.")
@with_appcontext
def reconcile_command(repair: bool) -> None:
    report = reconcile(current_app._get_current_object(), repair=repair)
    db.session.commit()
    for finding in report.findings:
        click.echo(finding.line())
    click.echo(report.summary())
    if repair and report.findings:
        click.echo(f"Repaired {len(report.findings)}.")
    if report.findings and not repair:
        raise SystemExit(1)


@reminders_cli.command("status", help="Outbox rows by status, dead rows, and local reminders.")
@with_appcontext
def status_command() -> None:
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    click.echo(f"Backend: {get_backend_name()}")
    click.echo("Outbox: " + ", ".join(f"{status.value} {counts.get(status, 0)}" for status in OutboxStatus))
    retrying = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.attempts > 0).order_by(OutboxMessage.id)).all()
    dead = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
                              .order_by(OutboxMessage.id)).all()
    for label, rows in (("retrying", retrying), ("dead", dead)):
        for row in rows:
            click.echo(f"  {label} #{row.id} {row.kind.value} appointment {row.appointment_id}: "
                       f"{row.attempts} attempts, last error {row.last_error or '-'}")
    local = dict(db.session.execute(select(LocalReminder.status, func.count()).group_by(LocalReminder.status)).all())
    if local:
        click.echo("Local reminders: " + ", ".join(f"{status.value} {count}" for status, count in local.items()))
