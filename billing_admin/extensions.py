"""The bare extension objects. Every module imports them from here, never from the app package."""

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints let Alembic create, compare and drop them identically on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# render_as_batch lets later migrations alter columns on SQLite, which has no ALTER COLUMN.
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def client_key() -> str:
    """The per-client key: the app's RATELIMIT_KEY_PREFIX and the client address. (Flask-Limiter
    keeps the first app's key prefix for the life of this shared object; naming the app's own
    here keeps apps apart when one process makes several, as the tests do.)"""
    return f"{current_app.config['RATELIMIT_KEY_PREFIX']}:{get_remote_address()}"


# Per-client limits (sign-in steps only, auth/throttle.py); storage from RATELIMIT_STORAGE_URI:
# memory:// in one process, Redis across workers and machines.
limiter = Limiter(key_func=client_key)
