"""Logs an operator can follow: every request's id in every line, text or JSON lines, no
secrets. ``register_logging`` sets up the app's loggers; ``register_request_ids`` gives every
request its id."""

from billing_admin.logs.handler import register_logging
from billing_admin.logs.request_id import register_request_ids

__all__ = ["register_logging", "register_request_ids"]
