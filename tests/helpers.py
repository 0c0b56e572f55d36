"""Small builders for test data, and the readers and API clients several test modules share."""

import csv
import importlib.util
import io
import os
import re
import uuid
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
import sqlalchemy as sa
from flask import Flask

from billing_admin import create_app
from billing_admin.api.openapi import openapi_document
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Price, Subscription, User

# The real Redis the per-client sign-in limits use in production (Flask-Limiter); every app a
# test makes counts under its own key prefix, so parallel runs and tests never share counts.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def make_app(database_url: str, **config) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            # Real Argon2id, at its cheapest cost: these tests are about behaviour, not cost.
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
            "RATELIMIT_STORAGE_URI": TEST_REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"billing-admin-test-{uuid.uuid4().hex}",
            **config,
        }
    )


def add_subscription(plan_id: str, status: str = "active", **fields) -> Subscription:
    user = User(email=f"{uuid.uuid4().hex[:12]}@example.com", name="Test User")
    db.session.add(user)
    db.session.flush()
    subscription = Subscription(
        user_id=user.id,
        plan_id=plan_id,
        status=status,
        current_period_start=1_700_000_000,
        current_period_end=1_702_592_000,
        **fields,
    )
    db.session.add(subscription)
    db.session.flush()
    return subscription


def stored_subscription(subscription_id: str) -> Subscription:
    """The subscription as stored now (a fresh transaction)."""
    db.session.rollback()
    return db.session.get(Subscription, subscription_id)


def subscription_at_version_one(
    status: str = "active", plan_id: str = "pro", **fields
) -> Subscription:
    """A subscription at version 1 with ``fields`` as stored (as if the platform wrote them)."""
    made = add_subscription(plan_id, status)
    for name, value in fields.items():
        setattr(made, name, value)
    db.session.commit()
    db.session.execute(sa.update(Subscription).where(Subscription.id == made.id).values(version=1))
    db.session.commit()
    return stored_subscription(made.id)


def subscription_entries(subscription_id: str) -> list[AuditLog]:
    """The audit entries about one subscription, oldest first (a fresh transaction)."""
    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.entity_type == "subscription", AuditLog.entity_id == subscription_id)
            .order_by(AuditLog.id)
        )
    )


def snapshot() -> dict[str, list[tuple]]:
    """Every row of the tables seeding writes, to compare a database before and after."""

    def rows(model, order):
        statement = sa.select(model.__table__).order_by(order)
        return [tuple(row) for row in db.session.execute(statement)]

    result = {
        "plans": rows(Plan, Plan.id),
        "audit": rows(AuditLog, AuditLog.id),
        "prices": rows(Price, Price.id),  # a price change opens a price (issue 12)
    }
    db.session.rollback()
    return result


def current_price_id(plan_id: str) -> int:
    """The id of the plan's open price (what new subscriptions pay), read from the table."""
    return db.session.scalar(
        sa.select(Price.id).where(Price.plan_id == plan_id, Price.active_until.is_(None))
    )


def change_plan(plan_id: str, actor_name: str = "test", **fields) -> dict:
    """Save ``fields`` on the plan through plans/service.update_plan, as an admin who confirmed
    the new price (if it is one); returns the changes. Commits."""
    from dataclasses import replace

    from billing_admin.audit.service import Actor
    from billing_admin.plans.service import price_token, spec_of, update_plan

    db.session.rollback()
    plan = db.session.get(Plan, plan_id)
    spec = replace(spec_of(plan), **fields)
    return update_plan(
        plan_id,
        spec,
        expected_version=plan.version,
        actor=Actor(actor_name),
        confirmed_price=price_token(spec.price, spec.currency, spec.interval),
    )


def add_subscriptions(plan_id: str, status: str = "active", count: int = 1, **fields) -> None:
    """``count`` subscriptions (each with its own user) through the ORM, paying the plan's
    current price unless ``price_id`` is given; committed."""
    for _ in range(count):
        add_subscription(plan_id, status, **fields)
    db.session.commit()


def prices_of(plan_id: str) -> list[Price]:
    """The plan's price rows, oldest first (by id: the triggers insert them in order)."""
    return list(
        db.session.scalars(sa.select(Price).where(Price.plan_id == plan_id).order_by(Price.id))
    )


ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
VIEWER_EMAIL = "viewer@example.com"
VIEWER_PASSWORD = "quiet violet lantern"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(at: int, secret: str = TOTP_SECRET) -> str:
    """The authenticator app's code at Unix time ``at``."""
    import pyotp

    return pyotp.TOTP(secret).at(at)


def add_user(email: str, password: str | None = None, role: str = "user") -> User:
    """A user; ``role="admin"`` an admin of the platform and the dashboard, ``"viewer"`` a
    platform user with a viewer account."""
    from billing_admin.auth.passwords import hash_password
    from billing_admin.models import AdminAccount

    user = User(
        email=email,
        name=email.split("@")[0],
        role="admin" if role == "admin" else "user",
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    if role in ("admin", "viewer"):
        db.session.add(AdminAccount(user_id=user.id, role=role))
    db.session.commit()
    return user


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    """Signs in and out through the real form, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def csrf_token(self, path: str = "/login") -> str:
        return csrf_token_from(self.client.get(path).get_data(as_text=True))

    def login(
        self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next: str | None = None
    ):
        url = "/login" if next is None else f"/login?next={next}"
        return self.client.post(
            url, data={"email": email, "password": password, "csrf_token": self.csrf_token()}
        )

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf_token("/admin/")})

    def code(self, code: str):
        """The second step of a sign-in: a TOTP or recovery code."""
        return self.client.post(
            "/login/code", data={"code": code, "csrf_token": self.csrf_token("/login/code")}
        )


def plan_form(**overrides) -> dict[str, str]:
    """A complete, valid plan form as a browser would post it; overrides change fields.

    A checkbox is ticked by giving it "y" and left unticked by giving it None.
    """
    data = {
        "id": "team",
        "name": "Team",
        "name_ru": "Команда",
        "description": "For small teams",
        "description_ru": "Для небольших команд",
        "price": "990.00",
        "currency": "RUB",
        "interval": "month",
        "tokens_input": "2000000",
        "tokens_output": "1000000",
        "requests": "10000",
        "features": "GPT-4o\nClaude 4.5 Sonnet",
        "display_order": "3",
        "is_active": "y",
        "plan_extra_metadata": "",
        **overrides,
    }
    return {key: value for key, value in data.items() if value is not None}


def add_plan(plan_id: str = "pro", **fields) -> Plan:
    from decimal import Decimal

    values = {
        "name": plan_id.title(),
        "price": Decimal("1490.00"),
        "interval": "month",
        "quotas": {"tokens_input": 5_000_000, "tokens_output": 2_000_000, "requests": 20_000},
        "features": ["GPT-4o"],
        **fields,
    }
    plan = Plan(id=plan_id, **values)
    db.session.add(plan)
    db.session.commit()
    return plan


class QueryCounter:
    """Counts the SQL statements an engine runs while it is active (``statements``: their text)."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []

    def _count(self, connection, cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._count)


# --- Migrations: revision modules and raw rows ------------------------------------------------


def migration_module(revision: str) -> ModuleType:
    """A revision's module, found by its id (the lead re-chains down_revision when merging)."""
    [path] = Path(__file__).resolve().parent.parent.glob(f"migrations/versions/{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(sql: str) -> list[tuple]:
    """The rows of a raw query, on a connection of its own: outside the ORM, which may not
    know the schema of the revision under test."""
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def counts_by_price() -> list[tuple]:
    """The subscription counts table (kept by triggers), without its zero rows."""
    return rows(
        "SELECT plan_id, price_id, status, count FROM billing_plan_subscription_count "
        "WHERE count <> 0 ORDER BY plan_id, price_id, status"
    )


def real_counts_by_price() -> list[tuple]:
    """The same counts, counted from the subscriptions: what the counts table must equal."""
    return rows(
        "SELECT plan_id, price_id, status, count(*) FROM billing_subscription "
        "GROUP BY plan_id, price_id, status ORDER BY plan_id, price_id, status"
    )


def subscription_indexes() -> dict[str, list[str]]:
    """billing_subscription's indexes, name → columns (a SQLite table rebuild can lose them)."""
    return {
        index["name"]: index["column_names"]
        for index in sa.inspect(db.engine).get_indexes("billing_subscription")
    }


def assert_sqlite_intact() -> None:
    """On SQLite, no row breaks a foreign key and the file is sound (SQLite's table rebuilds
    in migrations can break either); PostgreSQL keeps both by itself."""
    if db.engine.dialect.name == "sqlite":
        assert rows("PRAGMA foreign_key_check") == []
        assert rows("PRAGMA integrity_check") == [("ok",)]


def assert_refused(sql: str, params: dict | None = None) -> None:
    """The database refuses the statement (an integrity error) and keeps nothing of it."""
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
        connection.execute(sa.text(sql), params or {})


# --- API tokens and requests ------------------------------------------------------------------


def make_token(runner, name: str = "ci", scope: str | None = None, admin: str = ADMIN_EMAIL) -> str:
    """A new API token, made as an operator makes one (``flask create-api-token``); the command
    prints it once. ``scope=None`` leaves the command's default (read)."""
    args = ["create-api-token", "--name", name, "--admin", admin]
    if scope is not None:
        args += ["--scope", scope]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header a script sends with its token."""
    return {"Authorization": f"Bearer {token}"}


class ApiClient:
    """A test client that sends a token with every request, and checks every answer against
    the OpenAPI document: the status is one the operation documents, the body matches that
    answer's schema, and the answer's required headers are there."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = bearer(token)
        self.document = openapi_document()
        self.operations = {
            operation["operationId"]: operation
            for path in self.document["paths"].values()
            for operation in path.values()
        }

    def call(self, operation: str, method: str, url: str, *, headers=None, **kwargs):
        """``operation`` is the operationId the answer is checked against; ``headers`` are
        added to the token's, and ``kwargs`` (``json=``, ``data=``, ...) go to the client."""
        response = self.client.open(
            url, method=method, headers={**self.headers, **(headers or {})}, **kwargs
        )
        self.check(operation, response)
        return response

    def check(self, operation: str, response) -> None:
        answers = self.operations[operation]["responses"]
        code = str(response.status_code)
        assert code in answers, (operation, code, response.get_data(as_text=True))
        answer = answers[code]
        if "$ref" in answer:
            answer = self.document["components"]["responses"][answer["$ref"].split("/")[-1]]
        schema = answer["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator(
            {**schema, "components": self.document["components"]}
        )
        validator.validate(response.get_json())
        for name, header in answer.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, (operation, name)


# --- Exports ----------------------------------------------------------------------------------


def read_csv(body: bytes) -> list[list[str]]:
    """The rows of an exported CSV file, read past the byte-order mark that tells Excel it is
    UTF-8 (newline="": line breaks inside quoted fields stay in their field)."""
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
