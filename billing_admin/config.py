"""Configuration: defaults in code, then the environment, then the test config.

Environment variables read here (all optional in development):

- ``DATABASE_URL``: SQLAlchemy URL. Default: SQLite in the instance folder.
  ``postgres://`` and ``postgresql://`` are read as ``postgresql+psycopg://`` (psycopg 3).
- ``SECRET_KEY``: signs sessions and CSRF tokens. Required outside debug and testing.
"""

import os
import secrets
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask


class DefaultConfig:
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    # Our 500 handler must run even in debug mode: never a traceback to a user.
    PROPAGATE_EXCEPTIONS = False
    JSON_SORT_KEYS = False


class MissingSecretKey(RuntimeError):
    pass


SECRET_KEY_HELP = (
    "SECRET_KEY is not set. In production set it to a long random value, for example: "
    "export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\""
)


def normalise_database_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        os.environ.get("DATABASE_URL")
        or f"sqlite:///{Path(app.instance_path) / 'billing_admin.sqlite3'}"
    )
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if test_config:
        app.config.update(test_config)
        if "SQLALCHEMY_DATABASE_URI" in test_config:
            app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
                test_config["SQLALCHEMY_DATABASE_URI"]
            )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret_key(app)


def _development_secret_key(app: Flask) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    if not (app.debug or app.testing):
        raise MissingSecretKey(SECRET_KEY_HELP)
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # Created with owner-only permissions from the start, never world-readable even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
