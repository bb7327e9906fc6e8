"""Command-line entry points (`flask ...`). Each command commits once, at its end."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from carebook import accounts, audit
from carebook.clock import utcnow
from carebook.extensions import db
from models import Role

CLI_ACTOR = audit.Actor(None, "cli")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(seed_demo)


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
@click.option("--phone", default="", help="Patients only (required for them; read in CLINIC_PHONE_REGION).")
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
