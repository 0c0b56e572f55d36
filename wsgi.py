"""The WSGI entry point: ``flask --app wsgi ...`` and ``gunicorn wsgi:app``."""

import sys

from billing_admin import create_app
from billing_admin.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # A setting the app cannot start with: say which and how to fix it, without a traceback.
    sys.exit(f"billing-admin cannot start: {exc}")
