"""The WSGI entry point: ``flask --app wsgi ...`` and ``gunicorn wsgi:app``."""

from billing_admin import create_app

app = create_app()
