"""The database refuses to change or delete audit entries, on both engines, whoever asks."""

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor, record_plan_change
from billing_admin.extensions import db
from billing_admin.models import AuditLog, User
from tests.helpers import add_user

# A value of the right type for each column, different from the entry's own.
OTHER_VALUES = {
    "id": 99,
    "actor": "forger@example.com",
    "action": "plan_deleted",
    "entity_type": "user",
    "entity_id": "other",
    "description": "rewritten",
    "changes": '{"price": {"old": "1.00", "new": "0.00"}}',
    "audit_metadata": '{"forged": true}',
    "created_at": 1,
    "prev_hash": "f" * 64,
    "entry_hash": "e" * 64,
}


@pytest.fixture
def entry(app) -> AuditLog:
    user = add_user("admin2@example.com", role="admin")
    entry = record_plan_change(
        "plan_updated", "pro", {"name": {"old": "a", "new": "b"}}, actor=Actor.for_user(user)
    )
    db.session.commit()
    return entry


def refused(statement: str, **params) -> str:
    with pytest.raises(sa.exc.IntegrityError) as error, db.engine.begin() as connection:
        connection.execute(sa.text(statement), params)
    return str(error.value.orig)


def test_every_column_but_the_user_link_has_a_forged_value_to_try():
    """A column added to the audit table must be added here, and (SQLite) to the triggers."""
    assert set(OTHER_VALUES) == {c.name for c in AuditLog.__table__.columns} - {"user_id"}


@pytest.mark.parametrize("column", sorted(OTHER_VALUES))
def test_updating_any_column_is_refused(entry, column):
    message = refused(f"UPDATE billing_audit_log SET {column} = :value", value=OTHER_VALUES[column])
    assert "billing_audit_log is append-only: UPDATE refused" in message


def test_updating_a_column_to_the_same_value_is_refused_too(entry):
    assert "UPDATE refused" in refused("UPDATE billing_audit_log SET actor = actor")


def test_moving_an_entry_to_another_user_is_refused(entry, app):
    other = add_user("other@example.com")
    assert "UPDATE refused" in refused("UPDATE billing_audit_log SET user_id = :u", u=other.id)


def test_clearing_the_user_link_together_with_anything_else_is_refused(entry):
    assert "UPDATE refused" in refused("UPDATE billing_audit_log SET user_id = NULL, actor = 'x'")


def test_deleting_is_refused(entry):
    assert "billing_audit_log is append-only: DELETE refused" in refused(
        "DELETE FROM billing_audit_log"
    )


def test_the_orm_cannot_delete_or_change_an_entry_either(entry):
    db.session.delete(entry)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    entry.description = "rewritten"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id))) == 1


@pytest.mark.postgresql_only
def test_truncate_is_refused_on_postgresql(entry):
    assert "TRUNCATE refused" in refused("TRUNCATE billing_audit_log")


def test_deleting_a_user_clears_only_the_link(entry):
    """The one change the triggers let through: the foreign key's ON DELETE SET NULL."""
    before = db.session.execute(sa.select(AuditLog.__table__)).one()._asdict()
    db.session.rollback()
    db.session.execute(sa.delete(User).where(User.email == "admin2@example.com"))
    db.session.commit()
    after = db.session.execute(sa.select(AuditLog.__table__)).one()._asdict()
    assert after == {**before, "user_id": None}
