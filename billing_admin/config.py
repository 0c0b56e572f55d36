"""Configuration: defaults in code, then the environment, then the test config.

Environment variables read here (all optional in development):

- ``DATABASE_URL``: SQLAlchemy URL. Default: SQLite in the instance folder.
  ``postgres://`` and ``postgresql://`` are read as ``postgresql+psycopg://`` (psycopg 3).
- ``SECRET_KEY``: signs sessions and CSRF tokens. Required outside debug and testing.
- ``TRUSTED_HOSTS``: the host names the app answers to, comma-separated (``admin.example.com``;
  ``.example.com`` also allows its subdomains). Required in production; other hosts get 400.
  Default outside production: ``localhost``, ``127.0.0.1``, ``[::1]``.
- ``TRUSTED_PROXIES``: how many reverse proxies stand in front of the app (0 by default). With
  1 or more, Werkzeug's ProxyFix trusts that many X-Forwarded-For/-Proto hops, and
  X-Forwarded-Host / X-Forwarded-Prefix only when ``TRUSTED_PROXY_HOST=1`` /
  ``TRUSTED_PROXY_PREFIX=1`` say the proxy sets them.
- ``SESSION_IDLE_MINUTES``: a session unused this long ends (30 by default; 8 hours at most).
- ``REQUIRE_SECOND_FACTOR``: ``1`` makes accounts without a second factor enrol at their next
  sign-in; ``0`` leaves it to each account. On by default in production only.
- ``RATELIMIT_STORAGE_URI``: where Flask-Limiter counts sign-in attempts per client:
  ``memory://`` (one process) by default, ``redis://host:6379/0`` for several workers/servers.
- ``LOG_LEVEL``: the app's log level (INFO by default).
- ``LOG_FORMAT``: ``text`` (default, one readable line a record) or ``json`` (one JSON object a
  line: timestamp, level, logger, request id, admin id, message).
- ``METRICS_ALLOW``: comma-separated networks (``10.0.0.0/8``) or addresses that may read
  ``/metrics``; loopback by default, empty for none.
- ``DISPLAY_TIMEZONE``: the time zone pages show times in for an admin who has not chosen one on
  their account page: an IANA name such as ``Europe/Moscow`` (``UTC`` by default). An unknown
  name stops the app at start-up.
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
from billing_admin.zones import DEFAULT_ZONE, zone_name


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
    SESSION_COOKIE_PATH = "/"
    PASSWORD_HASH_PROFILE = "RFC_9106_LOW_MEMORY"
    TRUSTED_PROXIES = 0
    TRUSTED_PROXY_HOST = False
    TRUSTED_PROXY_PREFIX = False
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"
    METRICS_ALLOW = "127.0.0.0/8,::1/128"
    METRICS_TOKEN = None
    # Nothing the app accepts is larger than a plan form; Werkzeug refuses more with 413.
    MAX_CONTENT_LENGTH = 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    # The JSON API's bodies (a plan is a few KiB): 413 beyond this (api/http.py).
    API_MAX_BODY_BYTES = 64 * 1024
    SESSION_IDLE_MINUTES = 30
    # Per client address, failed sign-in steps only (auth/throttle.py); Flask-Limiter syntax.
    SIGN_IN_CLIENT_LIMIT = "10 per minute;60 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_KEY_PREFIX = "billing_admin"
    RATELIMIT_HEADERS_ENABLED = True
    # Set-password links made on the accounts page live this long.
    PASSWORD_LINK_HOURS = 24
    # Times on pages are shown in this zone unless the admin chose their own (zones.py).
    DISPLAY_TIMEZONE = DEFAULT_ZONE


class ConfigError(RuntimeError):
    """A setting the app cannot start with; the message says how to fix it."""


class MissingSecretKey(ConfigError):
    pass


LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
TRUSTED_HOSTS_HELP = (
    "TRUSTED_HOSTS is not set. In production set it to the host name(s) the site is served "
    "under, comma-separated, for example: export TRUSTED_HOSTS=billing-admin.example.com"
)
MAX_IDLE_MINUTES = 8 * 60


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
    for name in (
        "SECRET_KEY",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "METRICS_TOKEN",
        "RATELIMIT_STORAGE_URI",
        "DISPLAY_TIMEZONE",
    ):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if "METRICS_ALLOW" in os.environ:  # set but empty: no network, the token only
        app.config["METRICS_ALLOW"] = os.environ["METRICS_ALLOW"]
    for name in ("TRUSTED_PROXIES", "SESSION_IDLE_MINUTES"):
        if os.environ.get(name):
            app.config[name] = _whole_number(name, os.environ[name])
    for name in ("TRUSTED_PROXY_HOST", "TRUSTED_PROXY_PREFIX", "REQUIRE_SECOND_FACTOR"):
        if os.environ.get(name):
            app.config[name] = _flag(name, os.environ[name])
    if os.environ.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = _host_list(os.environ["TRUSTED_HOSTS"])
    if test_config:
        app.config.update(test_config)
    _check_session_idle(app.config["SESSION_IDLE_MINUTES"])
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
    app.config["DISPLAY_TIMEZONE"] = _display_timezone(app.config["DISPLAY_TIMEZONE"])
    # Flask-Babel's default zone (get_timezone() when the admin chose none): the same setting.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["DISPLAY_TIMEZONE"]
    token = app.config.get("METRICS_TOKEN")
    if token is not None and len(token) < METRICS_TOKEN_MIN:
        raise ConfigError(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters, for example: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    production = is_production(app)
    if app.config.get("TRUSTED_HOSTS") is None:
        if production:
            raise ConfigError(TRUSTED_HOSTS_HELP)
        app.config["TRUSTED_HOSTS"] = list(LOCAL_HOSTS)
    app.config.setdefault("REQUIRE_SECOND_FACTOR", production)
    if production and "SESSION_COOKIE_NAME" not in (test_config or {}):
        # __Host-: the browser keeps it only if it is Secure, for "/", and set by this host
        # (no Domain), so a sibling subdomain cannot plant or overwrite it.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"


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


def _display_timezone(value: object) -> str:
    """The tz database's spelling of the DISPLAY_TIMEZONE setting; ConfigError if it names no
    zone (zones.py: the names both zoneinfo and pytz know)."""
    name = zone_name(value) if isinstance(value, str) else None
    if name is None:
        raise ConfigError(
            f"DISPLAY_TIMEZONE must be an IANA time zone name such as UTC or Europe/Moscow, "
            f"not {value!r}"
        )
    return name


def _whole_number(name: str, value: str) -> int:
    number = whole_number(value)
    if number is None or number < 0:
        raise ConfigError(f"{name} must be a whole number (0 or more), not {value!r}")
    return number


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}")


def _host_list(value: str) -> list[str]:
    hosts = [host.strip().lower() for host in value.split(",") if host.strip()]
    if not hosts:
        raise ConfigError(TRUSTED_HOSTS_HELP)
    return hosts


def _check_session_idle(minutes: object) -> None:
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_IDLE_MINUTES:
        raise ConfigError(
            f"SESSION_IDLE_MINUTES must be a whole number from 1 to {MAX_IDLE_MINUTES}, "
            f"not {minutes!r}"
        )


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
