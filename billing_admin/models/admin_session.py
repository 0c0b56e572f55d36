import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.models.user import new_id


class AdminSession(db.Model):
    """One signed-in browser. Each sign-in makes a new one; ending it (sign-out, the account
    page, an admin's "sign out everywhere") deletes it, and the cookie that named it stops
    working. The cookie carries a random token; only its SHA-256 is stored here."""

    __tablename__ = "admin_session"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    last_seen_at: Mapped[int] = mapped_column(sa.BigInteger, default=now_epoch)
    # As the browser sent them; shown to the account's owner to tell sessions apart.
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    ip_address: Mapped[str] = mapped_column(sa.String(64), default="")
