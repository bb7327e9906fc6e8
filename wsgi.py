"""The WSGI entry point: `gunicorn wsgi:app`."""
from carebook.app import create_app

app = create_app()
