"""Alembic environment, run by `flask db ...` inside the app (Flask-Migrate)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from billing_admin.models.user_search import include_name

config = context.config
if config.config_file_name is not None:
    # Keep the app's loggers alive when migrations run inside a live process (tests, scripts).
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_extension = current_app.extensions["migrate"]
engine = migrate_extension.db.engine
target_metadata = migrate_extension.db.metadata


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`flask db upgrade --sql`)."""
    context.configure(
        url=engine.url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_extension.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_extension.configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    # Our SQLite connections emit BEGIN themselves (billing_admin/sqlite.py), which makes DDL
    # transactional there too: a migration that fails half-way leaves nothing behind.
    conf_args.setdefault("transactional_ddl", True)
    # The search tables and indexes are kept as DDL (models/user_search.py), not in the metadata.
    conf_args.setdefault("include_name", include_name)

    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
