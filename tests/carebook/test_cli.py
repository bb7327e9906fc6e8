"""The command-line entry points."""
from __future__ import annotations

from sqlalchemy import func, select

from carebook.demo import DEMO_PASSWORD
from carebook.extensions import db
from models import Appointment, Doctor, Role, User


def test_users_create_makes_the_first_staff_account(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "Boss@Clinic.example", "--name",
                                                "Clinic Boss", "--password", "a long staff passphrase"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.role) == ("boss@clinic.example", Role.STAFF)


def test_users_create_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "boss@clinic.example", "--name",
                                                "Clinic Boss", "--password", "password"])
    assert result.exit_code != 0 and "too common" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_fills_an_empty_database_and_prints_the_logins(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output and "reception@clinic.example" in result.output
    assert db.session.scalar(select(func.count()).select_from(Doctor)) >= 3
    assert db.session.scalar(select(func.count()).select_from(Appointment)) > 0
    assert len({d.specialty for d in db.session.scalars(select(Doctor))}) >= 3


def test_seed_demo_if_empty_leaves_an_existing_database_alone(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    before = db.session.scalar(select(func.count()).select_from(User))
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "already has accounts" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == before
