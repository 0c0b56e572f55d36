"""Configuration: defaults in code, then the environment, then the test config.

Environment variables read here (all optional in development):

- ``DATABASE_URL``: SQLAlchemy URL. Default: SQLite in the instance folder.
  ``postgres://`` and ``postgresql://`` are read as ``postgresql+psycopg://`` (psycopg 3).
- ``SECRET_KEY``: signs sessions and CSRF tokens. Required outside debug and testing.
- ``TRUSTED_PROXIES``: how many reverse proxies stand in front of the app (0 by default). With
  1 or more, Werkzeug's ProxyFix trusts that many X-Forwarded-For/-Proto/-Host/-Prefix hops.
- ``LOG_LEVEL``: the app's log level (INFO by default).
- ``LOG_FORMAT``: ``text`` (default, one readable line a record) or ``json`` (one JSON object a
  line: timestamp, level, logger, request id, admin id, message).
- ``METRICS_ALLOW``: comma-separated networks (``10.0.0.0/8``) or addresses that may read
  ``/metrics``; loopback by default, empty for none.
- ``METRICS_TOKEN``: a secret (24 characters or more) that lets a scraper from anywhere read
  ``/metrics`` with ``Authorization: Bearer <token>``; unset by default.
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask

from billing_admin.parsing import whole_number


class DefaultConfig:
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    # Our 500 handler must run even in debug mode: never a traceback to a user.
    PROPAGATE_EXCEPTIONS = False
    # Sessions end 8 hours after sign-in at most (enforced in auth/service.py, not only here).
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # A CSRF token lives as long as the session, so a long edit is not lost to a stale form.
    WTF_CSRF_TIME_LIMIT = 8 * 60 * 60
    PASSWORD_HASH_PROFILE = "RFC_9106_LOW_MEMORY"
    TRUSTED_PROXIES = 0
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"
    METRICS_ALLOW = "127.0.0.0/8,::1/128"
    METRICS_TOKEN = None


class ConfigError(RuntimeError):
    """A setting the app cannot start with; the message says how to fix it."""


class MissingSecretKey(ConfigError):
    pass


SECRET_KEY_HELP = (
    "SECRET_KEY is not set. In production set it to a long random value, for example: "
    "export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\""
)


def is_production(app: Flask) -> bool:
    """Neither development (FLASK_DEBUG=1) nor tests: secrets required, cookies Secure, HSTS."""
    return not (app.debug or app.testing)


def normalise_database_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(DefaultConfig)
    app.config["SQLALCHEMY_DATABASE_URI"] = (
        os.environ.get("DATABASE_URL")
        or f"sqlite:///{Path(app.instance_path) / 'billing_admin.sqlite3'}"
    )
    for name in ("SECRET_KEY", "LOG_LEVEL", "LOG_FORMAT", "METRICS_TOKEN"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if "METRICS_ALLOW" in os.environ:  # set but empty: no network, the token only
        app.config["METRICS_ALLOW"] = os.environ["METRICS_ALLOW"]
    if os.environ.get("TRUSTED_PROXIES"):
        app.config["TRUSTED_PROXIES"] = _whole_number(
            "TRUSTED_PROXIES", os.environ["TRUSTED_PROXIES"]
        )
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if "SESSION_COOKIE_SECURE" not in (test_config or {}):
        # Secure cookies in production (HTTPS); plain http://127.0.0.1 in development works.
        app.config["SESSION_COOKIE_SECURE"] = is_production(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _development_secret_key(app)
    app.config["METRICS_ALLOW"] = parse_networks("METRICS_ALLOW", app.config["METRICS_ALLOW"])
    _check_choice("LOG_FORMAT", app.config["LOG_FORMAT"], ("text", "json"))
    token = app.config.get("METRICS_TOKEN")
    if token is not None and len(token) < METRICS_TOKEN_MIN:
        raise ConfigError(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters, for example: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


METRICS_TOKEN_MIN = 24
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(name: str, value: str | tuple[Network, ...]) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.5"`` → networks (an address is a network of one); a tuple of
    networks is kept. ConfigError names the first entry that is not a network."""
    if isinstance(value, tuple):
        return value
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not a network or address (e.g. 10.0.0.0/8 or 192.0.2.7)"
            ) from None
    return tuple(networks)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def _whole_number(name: str, value: str) -> int:
    number = whole_number(value)
    if number is None or number < 0:
        raise ConfigError(f"{name} must be a whole number (0 or more), not {value!r}")
    return number


def _development_secret_key(app: Flask) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    if is_production(app):
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
