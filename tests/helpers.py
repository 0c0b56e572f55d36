"""Small builders for test data."""

import uuid

import sqlalchemy as sa
from flask import Flask

from billing_admin import create_app
from billing_admin.extensions import db
from billing_admin.models import AuditLog, Plan, Subscription, User


def make_app(database_url: str, **config) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
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


def snapshot() -> dict[str, list[tuple]]:
    """Every row of the tables seeding writes, to compare a database before and after."""

    def rows(model, order):
        statement = sa.select(model.__table__).order_by(order)
        return [tuple(row) for row in db.session.execute(statement)]

    result = {"plans": rows(Plan, Plan.id), "audit": rows(AuditLog, AuditLog.id)}
    db.session.rollback()
    return result
