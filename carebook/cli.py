"""Command-line entry points (`flask ...`). Each command commits once, at its end."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from carebook import accounts, audit, secrets_at_rest
from carebook.clock import utcnow
from carebook.extensions import db
from models import Role

CLI_ACTOR = audit.Actor(None, "cli")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(seed_demo)
    app.cli.add_command(secrets_group)
    app.cli.add_command(patients_group)


@click.group(help="Manage user accounts.")
def users() -> None:
    pass


@users.command("create", help="Create a staff, doctor or patient account (e.g. the very first staff account).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.STAFF.value, show_default=True)
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for interactively when omitted.")
@click.option("--specialty", default="General practice", show_default=True, help="Doctors only.")
@click.option("--date-of-birth", type=click.DateTime(formats=["%Y-%m-%d"]), help="Patients only.")
@click.option("--phone", default="", help="Patients only.")
@with_appcontext
def create_user(role: str, email: str, full_name: str, password: str, specialty: str,
                date_of_birth, phone: str) -> None:
    role_enum = Role(role)
    try:
        if role_enum is Role.DOCTOR:
            user = accounts.create_doctor(db.session, CLI_ACTOR, email=email, password=password,
                                          full_name=full_name, specialty=specialty).user
        elif role_enum is Role.PATIENT:
            if date_of_birth is None:
                raise click.UsageError("--date-of-birth is required for a patient")
            user = accounts.register_patient(db.session, CLI_ACTOR, email=email, password=password,
                                             full_name=full_name, date_of_birth=date_of_birth.date(),
                                             phone=phone).user
        else:
            user = accounts.create_user(db.session, CLI_ACTOR, email=email, full_name=full_name,
                                        role=role_enum, password=password)
    except accounts.AccountError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {role_enum.value} account {user.email} (id {user.id}).")
    if role_enum is not Role.PATIENT:
        click.echo("At the first login they set up two-factor authentication with an authenticator app.")


@users.command("reset-two-factor", help="Turn off a user's two-factor authentication (a lost phone and lost "
               "recovery codes). Staff and doctors then set it up again at their next login.")
@click.option("--email", required=True)
@with_appcontext
def reset_two_factor(email: str) -> None:
    from carebook import two_factor

    user = accounts.user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account with the email {email}.")
    two_factor.disable(db.session, user, source="cli", actor=None)
    db.session.commit()
    click.echo(f"Two-factor authentication of {user.email} is off; "
               + ("they set it up again at their next login." if two_factor.is_required(user) else "they may turn it on again."))


@click.command("seed-demo", help="Fill an empty database with a believable demo clinic and print the logins.")
@click.option("--if-empty", is_flag=True, help="Do nothing (but print the logins) if there are users already.")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    from carebook import demo

    if demo.has_users(db.session):
        if if_empty:
            click.echo("The database already has accounts; demo data not added.")
            click.echo(demo.logins_text(db.session))
            return
        raise click.ClickException("The database already has accounts; seed-demo only fills an empty one.")
    from flask import current_app

    demo.seed(db.session, today=utcnow().astimezone(current_app.config["CLINIC"].timezone).date())
    db.session.commit()
    click.echo(demo.logins_text(db.session))


@click.group("secrets", help="The secrets the database holds, encrypted with SECRETS_ENCRYPTION_KEYS.")
def secrets_group() -> None:
    pass


@secrets_group.command("status", help="Say which key encrypts the stored secrets. Exit status 1 unless every one "
                       "is under the newest key (then an older key may be removed).")
@with_appcontext
def secrets_status() -> None:
    reports = secrets_at_rest.survey(db.session.connection(), secrets_at_rest.current_keyring(),
                                     secrets_at_rest.encrypted_columns(db.metadata))
    db.session.rollback()
    behind = 0
    for report in reports:
        parts = [f"key {index + 1}{' (newest)' if index == 0 else ''}: {count}"
                 for index, count in sorted(report.by_key.items())]
        if report.plain:
            parts.append(f"plain text: {report.plain}")
        if report.undecryptable:
            parts.append(f"no key decrypts: {report.undecryptable}")
        click.echo(f"{report.name}: {report.total} stored" + (f" ({', '.join(parts)})" if parts else ""))
        behind += report.total - report.by_key.get(0, 0)
    if behind:
        click.echo(f"{behind} secret(s) are not under the newest key: run `flask secrets re-encrypt`.")
        raise SystemExit(1)
    click.echo("Every stored secret is encrypted with the newest key.")


@secrets_group.command("re-encrypt", help="Encrypt every stored secret with the newest key of "
                       "SECRETS_ENCRYPTION_KEYS (after adding a key, before removing the old one); plain-text "
                       "ones too.")
@with_appcontext
def secrets_reencrypt() -> None:
    try:
        result = secrets_at_rest.reencrypt(db.session.connection(), secrets_at_rest.current_keyring(),
                                           secrets_at_rest.encrypted_columns(db.metadata))
    except secrets_at_rest.UndecryptableSecret as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Re-encrypted {result.reencrypted} secret(s) with the newest key, encrypted {result.encrypted_plain} "
               f"kept in plain text; {result.unchanged} already were.")


@click.group("patients", help="Patients' data: the retention rule for what erasure keeps.")
def patients_group() -> None:
    pass


@patients_group.command("purge-expired", help="Delete erased patients' appointments that ended more than "
                        "RECORDS_RETENTION_YEARS ago, with their messages (run it daily).")
@with_appcontext
def purge_expired() -> None:
    from flask import current_app

    from carebook.patient_data import retention

    years = current_app.config["RECORDS_RETENTION_YEARS"]
    result = retention.purge_expired(db.session, CLI_ACTOR, years=years, now=utcnow())
    db.session.commit()
    click.echo(f"Deleted {result.appointments_deleted} appointment(s) of erased patients that ended before "
               f"{result.cutoff:%Y-%m-%d} (RECORDS_RETENTION_YEARS={years}).")
