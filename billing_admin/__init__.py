"""Billing Admin: the admin dashboard for an LLM chat platform's billing plans."""

import os
from pathlib import Path
from typing import Any

from flask import Flask

from billing_admin import models  # noqa: F401  (registers every table on db.metadata)
from billing_admin.cli import register_commands
from billing_admin.config import load_config
from billing_admin.errors.handlers import register_error_handlers
from billing_admin.extensions import db, migrate
from billing_admin.health.views import bp as health_bp
from billing_admin.sqlite import configure_sqlite

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        # INSTANCE_PATH moves the instance folder (SQLite file, dev secret) off the code tree.
        instance_path=os.environ.get("INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    load_config(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        configure_sqlite(db.engine)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(health_bp)
