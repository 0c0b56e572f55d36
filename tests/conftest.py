"""Fixtures shared by every test.

Tests that touch the database take ``app`` (tables created) or ``empty_app`` (no tables), which
run once per engine: SQLite always, and PostgreSQL too when ``TEST_DATABASE_URL`` is set. Each
test gets its own database: a SQLite file in ``tmp_path``, or a fresh PostgreSQL schema that is
dropped afterwards.
"""

import contextvars
import os
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from billing_admin import clock
from billing_admin.config import normalise_database_url
from billing_admin.extensions import db
from tests.helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    TEST_REDIS_URL,
    TOTP_SECRET,
    VIEWER_EMAIL,
    VIEWER_PASSWORD,
    AuthActions,
    add_user,
    make_app,
)

# Property tests (Hypothesis, Schemathesis) draw the same examples on every run: CI must not pass
# or fail by chance. Set HYPOTHESIS_PROFILE=explore to draw new ones while hunting for bugs.
settings.register_profile("repeatable", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", database=None, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ENGINES = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def pytest_sessionstart(session):
    """The sign-in limits are tested against the real Redis: without it the run fails here, in
    one line, rather than test by test (and never skips them)."""
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis is not reachable at {TEST_REDIS_URL}: {exc}", returncode=1)


def pytest_collection_modifyitems(config, items):
    """``postgresql_only`` tests run on PostgreSQL alone, and skip without TEST_DATABASE_URL."""
    kept, deselected = [], []
    for item in items:
        if "postgresql_only" in item.keywords:
            if not TEST_DATABASE_URL:
                item.add_marker(pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)"))
            elif (
                getattr(item, "callspec", None)
                and item.callspec.params.get("engine_name") == "sqlite"
            ):
                deselected.append(item)
                continue
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def postgresql_admin_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(
        normalise_database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT"
    )
    yield engine
    engine.dispose()


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    return request.param


@pytest.fixture
def database_url(engine_name, tmp_path, request) -> Iterator[str]:
    if engine_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    admin = request.getfixturevalue("postgresql_admin_engine")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def app_factory(database_url) -> Iterator[Callable[..., Flask]]:
    """Makes more apps over the test's database (another worker, production settings, ...);
    their connections are closed after the test."""
    made: list[Flask] = []

    def factory(**config) -> Flask:
        made.append(make_app(database_url, **config))
        return made[-1]

    yield factory
    for other in made:
        with other.app_context():
            db.engine.dispose()
    close_limiter_storage()


@pytest.fixture
def empty_app(database_url) -> Iterator[Flask]:
    """An app over an empty database: no tables at all."""
    app = make_app(database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    close_limiter_storage()


def close_limiter_storage() -> None:
    """Close the Redis connections of the test's Flask-Limiter storage now, rather than leave
    them to the garbage collector at exit (where their errors cannot be reported)."""
    from billing_admin.extensions import limiter

    client = getattr(getattr(limiter, "_storage", None), "storage", None)
    if client is not None and hasattr(client, "close"):
        client.close()


@pytest.fixture
def app(empty_app) -> Flask:
    # The schema the models declare; test_migrations proves the migrations build the same one.
    db.create_all()
    return empty_app


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server does.

    Flask's test client would otherwise reuse the test's app context, sharing ``g`` (where
    Flask-Login caches the signed-in user) and the database session across requests, which
    hides exactly the bugs that sign-out and session expiry tests are there to catch. The test
    reads the database through its own session: commit or roll back before reading what a
    request wrote.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def set_clock(monkeypatch) -> Callable[[int], None]:
    """Pin the app's clock (``billing_admin.clock``) to a Unix time; Python's own is untouched."""

    def set_to(epoch: int) -> None:
        monkeypatch.setattr(clock, "time", SimpleNamespace(time=lambda: epoch))

    return set_to


@pytest.fixture
def admin(app):
    return add_user(ADMIN_EMAIL, ADMIN_PASSWORD, role="admin")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def admin_client(client, admin, auth):
    """A test client signed in as an admin."""
    response = auth.login()
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def totp_admin(admin):
    """The admin, with a second factor (secret ``TOTP_SECRET``) and ten recovery codes, which
    ``totp_admin.recovery_codes`` holds."""
    from billing_admin.auth import second_factor
    from billing_admin.models import AdminAccount

    account = db.session.get(AdminAccount, admin.id)
    account.totp_secret = TOTP_SECRET
    account.totp_enabled_at = 1
    codes = second_factor.new_recovery_codes(admin.id)
    db.session.commit()
    admin.recovery_codes = codes
    return admin


@pytest.fixture
def viewer(app):
    return add_user(VIEWER_EMAIL, VIEWER_PASSWORD, role="viewer")


@pytest.fixture
def viewer_client(app, viewer):
    """A client signed in as a viewer (read-only)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = AuthActions(client).login(VIEWER_EMAIL, VIEWER_PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
