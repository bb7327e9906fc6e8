"""The WSGI entry point: `gunicorn wsgi:app`."""
from carebook import create_app

app = create_app()
