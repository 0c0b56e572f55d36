from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.extensions import db


class IdempotencyKey(db.Model):
    """A POST's ``Idempotency-Key`` and the first answer to it (api/idempotency.py).

    Keys belong to the credential that sent them (``owner``: ``token:<id>`` or
    ``session:<user id>``), so two scripts choosing the same key never see each other's answers.
    ``status`` is None while the first request is still being answered. Rows are kept until
    ``expires_at`` (Unix seconds, 24 h after the first request) and then purged by
    ``flask purge-idempotency-keys`` (or replaced when the key is used again)."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (sa.UniqueConstraint("owner", "key", name="uq_api_idempotency_key_owner_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(64))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(512))
    # SHA-256 of the method, path and canonical JSON body: "the same request".
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[int] = mapped_column(sa.BigInteger)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger, index=True)

    def __repr__(self) -> str:
        return f"<IdempotencyKey {self.owner} {self.key} {self.status}>"
