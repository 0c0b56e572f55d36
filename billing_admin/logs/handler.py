"""The app's log handler: one line a record on stderr, readable text or JSON.

Every line names its request's id and signed-in admin (``-`` outside a request or when nobody
is signed in). The admin id is read from what the request already loaded (Flask-Login's
per-request user, the API's token user), never queried: a log line must not touch the
database, which may be the very thing failing. Lines pass through ``redact`` first, so a token,
password or database password that reached a message by mistake is not written out.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, g, has_request_context
from flask.logging import default_handler

from billing_admin.logs.request_id import current_request_id

APP_LOGGER = "billing_admin"
TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s admin_id=%(admin_id)s: "
    "%(message)s"
)
REDACTED = "[redacted]"
# What must never be written: API tokens (bat_...), bearer credentials, passwords in URLs and
# key=value pairs that name a secret.
SECRET_PATTERNS = (
    (re.compile(r"\bbat_[A-Za-z0-9_-]{8,}"), f"bat_{REDACTED}"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s'\",]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), rf"\g<1>{REDACTED}@"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|secret_key|token|csrf_token|api_key)"
            r"(['\"]?\s*[=:]\s*['\"]?)[^\s'\",&]+"
        ),
        rf"\g<1>\g<2>{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _loaded_id(user) -> str | None:
    """The primary key of a user object the request already holds, without loading anything
    (an expired object keeps its identity)."""
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    identity = state.identity if state is not None else None
    return str(identity[0]) if identity else None


def current_admin_id() -> str | None:
    if not has_request_context():
        return None
    return _loaded_id(g.get("_login_user")) or _loaded_id(g.get("api_user"))


class RequestContext(logging.Filter):
    """Adds ``request_id`` and ``admin_id`` to every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        record.admin_id = current_admin_id() or "-"
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp (UTC, ISO 8601), level, logger, request_id,
    admin_id, message, and exception (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "admin_id": getattr(record, "admin_id", None),
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "admin_id"):
            if fields[key] == "-":
                fields[key] = None
        if record.exc_info:
            fields["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(fields, ensure_ascii=False)


def make_handler(log_format: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContext())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.billing_admin = True  # ours: replaced, not duplicated, when another app is made
    return handler


def register_logging(app: Flask) -> None:
    """The ``billing_admin`` logger (``app.logger`` and every module's) writes through one
    handler of ours instead of Flask's default; records still propagate to the root logger."""
    logger = logging.getLogger(APP_LOGGER)
    for handler in list(logger.handlers):
        if handler is default_handler or getattr(handler, "billing_admin", False):
            logger.removeHandler(handler)
    logger.addHandler(make_handler(app.config["LOG_FORMAT"]))
    logger.setLevel(app.config["LOG_LEVEL"])
