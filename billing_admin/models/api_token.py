import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.user import User, new_id


class ApiToken(db.Model):
    """A script's credential for the JSON API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    last_used_at: Mapped[int | None] = mapped_column(sa.BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(sa.BigInteger)

    user: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ApiToken {self.name}>"
