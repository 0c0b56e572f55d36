"""Billing Admin: the admin dashboard for an LLM chat platform's billing plans."""

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from billing_admin import models  # noqa: F401  (registers every table on db.metadata)
from billing_admin.account.views import bp as account_bp
from billing_admin.accounts.views import bp as accounts_bp
from billing_admin.api.docs import bp as api_docs_bp
from billing_admin.api.plan_writes import bp as api_plans_bp
from billing_admin.api.subscriptions import bp as api_subscriptions_bp
from billing_admin.api.views import bp as api_bp
from billing_admin.audit.views import bp as audit_bp
from billing_admin.auth.guard import may, require_access
from billing_admin.auth.views import bp as auth_bp
from billing_admin.cli import register_commands
from billing_admin.config import load_config
from billing_admin.dashboard.views import bp as dashboard_bp
from billing_admin.errors.handlers import register_error_handlers
from billing_admin.extensions import babel, csrf, db, limiter, login_manager, migrate
from billing_admin.formatting import register_template_helpers
from billing_admin.forms import new_submission_token, page_has_errors
from billing_admin.forms.once import register_one_time_submissions
from billing_admin.health.views import bp as health_bp
from billing_admin.i18n.locales import select_locale, select_timezone
from billing_admin.i18n.views import bp as language_bp
from billing_admin.logs import register_logging, register_request_ids
from billing_admin.metrics import register_request_metrics
from billing_admin.metrics.views import bp as metrics_bp
from billing_admin.plans.views import bp as plans_bp
from billing_admin.security.headers import register_security_headers
from billing_admin.security.input import refuse_nul_characters
from billing_admin.sqlite import configure_sqlite
from billing_admin.statuses import status_label
from billing_admin.subscribers.views import bp as subscribers_bp
from billing_admin.subscribers.views import everyone_bp as all_subscribers_bp
from billing_admin.subscriptions.views import bp as subscriptions_bp

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
    make_private_folder(app.instance_path)
    load_config(app, test_config)
    # JSON answers in UTF-8 as it is ("Анна", not "\u0410\u043d\u043d\u0430"): the
    # Content-Type says charset=utf-8, and scripts and people read it as text.
    app.json.ensure_ascii = False
    register_logging(app)
    register_proxy_fix(app)
    # Before every view, and before the CSRF check: the request's id and its metrics first (so
    # whatever follows may fail and still be logged, shown and counted), then the access guard,
    # which reads no body (an anonymous upload is refused unread), then refuse unstorable input.
    register_request_ids(app)
    register_request_metrics(app)
    app.before_request(require_access)
    app.before_request(refuse_nul_characters)
    register_extensions(app)
    # After the CSRF check: a claim of a form's one-time token (forms/once.py).
    register_one_time_submissions(app)
    register_blueprints(app)
    register_security_headers(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def make_private_folder(path: str) -> None:
    """The instance folder holds the SQLite database (password and token hashes) and the
    development secret key: readable by the app's own user only."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.stat(path).st_uid == os.getuid():
        os.chmod(path, 0o700)


def register_proxy_fix(app: Flask) -> None:
    """X-Forwarded-For and -Proto from TRUSTED_PROXIES hops; -Host and -Prefix only when the
    proxy is said to set them (otherwise a client could send its own)."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=hops,
            x_proto=hops,
            x_host=hops if app.config["TRUSTED_PROXY_HOST"] else 0,
            x_prefix=hops if app.config["TRUSTED_PROXY_PREFIX"] else 0,
        )


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        configure_sqlite(db.engine)
    login_manager.init_app(app)
    # Catalogues live in billing_admin/translations (compiled by `make translations`). Times
    # are shown in the admin's zone, else DISPLAY_TIMEZONE (BABEL_DEFAULT_TIMEZONE, config.py).
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # The JSON API has no forms: the access guard asks a session's API writes for the CSRF
    # token itself (X-CSRFToken), and Bearer requests need none (auth/guard.py).
    csrf.init_app(app)
    csrf.exempt(api_bp)
    csrf.exempt(api_plans_bp)
    csrf.exempt(api_subscriptions_bp)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    for blueprint in (
        health_bp,
        auth_bp,
        language_bp,
        dashboard_bp,
        plans_bp,
        subscribers_bp,
        subscriptions_bp,
        all_subscribers_bp,
        audit_bp,
        accounts_bp,
        account_bp,
        api_bp,
        api_plans_bp,
        api_subscriptions_bp,
        api_docs_bp,
        metrics_bp,
    ):
        app.register_blueprint(blueprint)
    register_template_helpers(app)
    # A subscription status as the pages show it (badges, status counts, filters).
    app.add_template_filter(status_label, "subscription_status_label")
    # Controls only for those the access guard would let use them.
    app.add_template_global(may)
    # The page's title says "Error:" after an invalid submit (forms/__init__.py).
    app.add_template_global(page_has_errors)
    app.add_template_global(new_submission_token)
