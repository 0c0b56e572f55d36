import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.user import User, new_id

# read: GET, HEAD, OPTIONS only; write: every method the API offers (issue 14).
TOKEN_SCOPES = ("read", "write")


class ApiToken(db.Model):
    """A script's credential for the JSON API. Only the SHA-256 of the token is stored.

    ``scope`` is ``read`` (the default, and what every token made before migration 0014 became)
    or ``write``; the access guard refuses a read token's writes with 403."""

    __tablename__ = "api_token"
    __table_args__ = (sa.CheckConstraint("scope IN ('read', 'write')", name="scope"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(8), default="read", server_default="read")
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    last_used_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(sa.BigInteger)

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def may_write(self) -> bool:
        return self.scope == "write"

    def __repr__(self) -> str:
        return f"<ApiToken {self.name} {self.scope}>"
