"""Every way Carebook starts stops on a wrong setting with one line that names it, and no traceback.

The entry points, each run as the operator runs it, in a process of its own: the image's
command (gunicorn with gunicorn.conf.py, under the image's environment), `flask run`,
`flask db upgrade` (migrations/env.py), the other `flask` commands, and scripts/run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from tests.conftest import POSTGRES_PROBLEM, POSTGRES_URL
from tests.deploy.test_container import final_stage, image_env, one

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PASSWORD = "s3cret-pw"

ENTRY_POINTS = {
    "image": json.loads(one(final_stage(), "CMD")),  # gunicorn -c gunicorn.conf.py wsgi:app
    "flask run": ["flask", "run", "--port", "0"],
    "flask db upgrade": ["flask", "db", "upgrade"],
    "flask users create": ["flask", "users", "create", "--email", "boss@clinic.example", "--name", "Boss",
                           "--password", "a long enough passphrase"],
    "flask seed-demo": ["flask", "seed-demo", "--if-empty"],
    "flask reminders relay": ["flask", "reminders", "relay", "--once"],
    "scripts/run": ["scripts/run"],
}

WRONG_SETTINGS = {
    "DATABASE_URL": {"DATABASE_URL": f"postgresql://carebook:{PASSWORD}@db.internal:port/carebook"},
    "DATABASE_URL ": {"DATABASE_URL": f"mysql://carebook:{PASSWORD}@db.internal/carebook"},
    "REDIS_URL": {"REDIS_URL": f"memcached://:{PASSWORD}@cache.internal:11211"},
    "CLINIC_TIMEZONE": {"CLINIC_TIMEZONE": "Europe/Atlantis"},
}


#: What the image's command runs with besides its own ENV lines (the stack sets these).
IMAGE_SETTINGS = {"SECRET_KEY": "k" * 40, "SECRETS_ENCRYPTION_KEYS": "e" * 40, "BASE_URL": "https://clinic.example",
                  "SMTP_HOST": "mail.clinic.example",
                  "DATABASE_URL": f"postgresql://carebook:{PASSWORD}@127.0.0.1:1/carebook"}


def run(entry_point: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run ``entry_point`` with ``env`` over a clean environment (the image's, for the image's command)."""
    environment = {**os.environ, "FLASK_APP": "wsgi", "PYTHONPATH": str(ROOT)}
    for name in ("CAREBOOK_ENV", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SECRETS_ENCRYPTION_KEYS", "BASE_URL",
                 "FLASK_DEBUG",
                 "REMINDER_BACKEND", "SMTP_HOST", "STATIC_URL_BASE", "STATIC_MANIFEST"):
        environment.pop(name, None)
    if entry_point == "image":
        environment.update(image_env())
        environment.update(IMAGE_SETTINGS)
        environment.pop("STATIC_MANIFEST", None)  # no static build here (tests/deploy/test_static_assets.py)
    environment.update(env)
    environment.update({"CAREBOOK_INSTANCE_PATH": str(tmp_path),
                        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    command = ENTRY_POINTS[entry_point]
    if command[0] == "flask":
        command = [str(VENV_BIN / "flask"), *command[1:]]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)


def assert_one_line_naming(result: subprocess.CompletedProcess, setting: str) -> str:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    [line] = output.splitlines()
    assert line.startswith("Carebook cannot ") and setting in line, line
    assert PASSWORD not in line
    return line


def requires_this_venv():
    # scripts/run installs into and runs ROOT/.venv: run it only where that is the venv running the tests.
    if VENV_BIN != ROOT / ".venv" / "bin":
        pytest.skip(f"scripts/run uses {ROOT / '.venv'}, not the running {VENV_BIN.parent}")


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("setting", WRONG_SETTINGS)
def test_a_wrong_setting_stops_every_entry_point_with_one_line_naming_it(entry_point, setting, tmp_path):
    if entry_point == "scripts/run":
        requires_this_venv()
    assert_one_line_naming(run(entry_point, WRONG_SETTINGS[setting], tmp_path), setting.strip())


PRODUCTION = {"CAREBOOK_ENV": "production", "SECRET_KEY": "k" * 40, "SECRETS_ENCRYPTION_KEYS": "e" * 40,
              "DATABASE_URL": "postgresql://carebook@127.0.0.1:1/carebook", "BASE_URL": "https://clinic.example",
              "SMTP_HOST": "mail.clinic.example"}


@pytest.mark.parametrize("entry_point", ["image", "flask db upgrade", "flask reminders relay"])
@pytest.mark.parametrize("setting, env", [
    ("BASE_URL", {"BASE_URL": ""}),
    ("BASE_URL", {"BASE_URL": "http://clinic.example"}),
    ("SMTP_HOST", {"SMTP_HOST": ""}),
    ("SECRET_KEY", {"SECRET_KEY": "short"}),
])
def test_production_settings_are_checked_on_every_entry_point(entry_point, setting, env, tmp_path):
    line = assert_one_line_naming(run(entry_point, {**PRODUCTION, **env}, tmp_path), setting)
    assert "production" in line


@pytest.mark.parametrize("setting, value", [("GUNICORN_WORKERS", "many"), ("GUNICORN_TIMEOUT", "0"),
                                            ("GUNICORN_BIND", "8000"), ("LOG_LEVEL", "LOUD")])
def test_a_wrong_gunicorn_setting_stops_the_image_with_one_line(setting, value, tmp_path):
    assert_one_line_naming(run("image", {setting: value}, tmp_path), setting)


# -- a DATABASE_URL naming a database, user or host that is not there ---------------------------------------


@pytest.fixture(scope="module")
def missing_database_url() -> str:
    if POSTGRES_PROBLEM:
        pytest.skip(f"PostgreSQL not reachable: {POSTGRES_PROBLEM}")
    name = f"carebook_never_created_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL) as connection:  # the server answers, and has no such database
        assert connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("entry_point", ["image", "flask db upgrade", "flask reminders relay", "scripts/run"])
def test_a_database_that_does_not_exist_stops_every_entry_point_with_one_line(entry_point, missing_database_url,
                                                                              tmp_path):
    if entry_point == "scripts/run":
        requires_this_venv()
    line = assert_one_line_naming(run(entry_point, {"DATABASE_URL": missing_database_url}, tmp_path), "DATABASE_URL")
    assert f'the database "{make_url(missing_database_url).database}", which does not exist' in line


def test_a_user_the_server_does_not_know_stops_the_migration_with_one_line(missing_database_url, tmp_path):
    url = make_url(missing_database_url).set(username="nobody_" + uuid.uuid4().hex[:6], database="postgres")
    result = run("flask db upgrade", {"DATABASE_URL": url.render_as_string(hide_password=False)}, tmp_path)
    assert "refused the login" in assert_one_line_naming(result, "DATABASE_URL")


def test_an_unreachable_server_stops_the_migration_with_a_last_line_that_says_so(tmp_path):
    # Not a wrong setting, maybe (the server may be down): the app starts (and logs that it could
    # not check the encryption keys against the database); the migration ends on a line saying so.
    result = run("flask db upgrade", {"DATABASE_URL": "postgresql://carebook@127.0.0.1:1/carebook"}, tmp_path)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0 and "Traceback" not in output, output
    assert output.splitlines()[-1].startswith(
        "Carebook cannot migrate: cannot reach the database server at 127.0.0.1:1 (DATABASE_URL)")
