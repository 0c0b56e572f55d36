from sqlalchemy.exc import SQLAlchemyError


def describe_database_error(exc: SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's statement dump and link (nor the URL)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
