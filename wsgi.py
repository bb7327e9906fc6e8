"""The entry point of every way Carebook runs: `gunicorn wsgi:app` (the image), and every `flask`
command (FLASK_APP=wsgi: `flask run`, the migration step, `flask reminders relay`, ...).

A wrong setting ends the process here with one line naming it, never a traceback: one that
the configuration check finds (carebook/config.py and the checks create_app runs), and a
DATABASE_URL naming a database, user or host that is not there (checked with one connection).
A database server that is merely unreachable does not stop it: requests answer 503 until it
is back (carebook/database.py).
"""
from carebook.app import create_app
from carebook.config import ConfigError, refuse_to_start
from carebook.database import check_connection
from carebook.extensions import db

try:
    app = create_app()
except ConfigError as error:
    refuse_to_start(error)

with app.app_context():
    problem = check_connection(db.engine)
if problem is not None and problem.misconfigured:
    refuse_to_start(problem.text)
