"""Defaults in code, then the environment, then the test config."""

import stat

import pytest

from billing_admin import create_app
from billing_admin.config import MissingSecretKey, normalise_database_url


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEY", "FLASK_DEBUG", "TRUSTED_HOSTS", "DISPLAY_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def test_the_default_database_is_sqlite_in_the_instance_folder(clean_env):
    app = create_app({"TESTING": True})
    expected = f"sqlite:///{clean_env / 'billing_admin.sqlite3'}"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected


def test_the_environment_overrides_the_defaults(clean_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/from-env.sqlite3")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("TRUSTED_HOSTS", "admin.example.com")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:////tmp/from-env.sqlite3"
    assert app.config["SECRET_KEY"] == "from-env"


def test_the_test_config_overrides_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app({"TESTING": True, "SECRET_KEY": "from-test"})
    assert app.config["SECRET_KEY"] == "from-test"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_postgresql_urls_use_psycopg_3(given, used):
    assert normalise_database_url(given) == used


def test_production_refuses_to_start_without_a_secret_key(clean_env):
    with pytest.raises(MissingSecretKey, match="SECRET_KEY is not set"):
        create_app()


def test_development_keeps_a_generated_secret_key_readable_by_the_owner_only(
    clean_env, monkeypatch
):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second
    assert len(first) == 64
    key_file = clean_env / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "METRICS_ALLOW",
            "10.0.0.0/8, 10.0.0.300",
            "METRICS_ALLOW: '10.0.0.300' is not a network or address",
        ),
        ("METRICS_ALLOW", "localhost", "METRICS_ALLOW: 'localhost' is not a network or address"),
        ("METRICS_TOKEN", "short", "METRICS_TOKEN must be at least 24 characters"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of text, json, not 'xml'"),
        (
            "DISPLAY_TIMEZONE",
            "Mars/Olympus",
            "DISPLAY_TIMEZONE must be an IANA time zone name such as UTC or Europe/Moscow, "
            "not 'Mars/Olympus'",
        ),
        ("DISPLAY_TIMEZONE", "+03:00", "DISPLAY_TIMEZONE must be an IANA time zone name"),
    ],
)
def test_a_bad_setting_stops_the_start_with_one_line_saying_why(
    clean_env, monkeypatch, name, value, message
):
    from billing_admin.config import ConfigError

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app({"TESTING": True})


def test_the_display_time_zone_is_utc_unless_set_and_is_flask_babels_default(
    clean_env, monkeypatch
):
    assert create_app({"TESTING": True}).config["DISPLAY_TIMEZONE"] == "UTC"
    monkeypatch.setenv("DISPLAY_TIMEZONE", " europe/moscow ")
    app = create_app({"TESTING": True})
    # Spelled as the tz database spells it, and the zone Flask-Babel falls back to.
    assert app.config["DISPLAY_TIMEZONE"] == "Europe/Moscow"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Moscow"


def test_metrics_networks_from_the_environment(clean_env, monkeypatch):
    import ipaddress

    monkeypatch.setenv("METRICS_ALLOW", " 10.0.0.0/8 ,2001:db8::/32,192.0.2.7")
    app = create_app({"TESTING": True})
    assert app.config["METRICS_ALLOW"] == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8::/32"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    monkeypatch.setenv("METRICS_ALLOW", "")
    assert create_app({"TESTING": True}).config["METRICS_ALLOW"] == ()


def test_metrics_are_loopback_only_by_default(clean_env):
    import ipaddress

    networks = create_app({"TESTING": True}).config["METRICS_ALLOW"]
    assert networks == (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_the_instance_folder_and_the_database_files_are_private(clean_env, monkeypatch):
    """Finding 8: before issue 15 the SQLite file (password and token hashes) was 0644."""
    import sqlalchemy as sa

    from billing_admin.extensions import db

    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE t (x)"))
        db.session.commit()
        db.session.execute(sa.text("SELECT * FROM t")).all()
        # While a connection is open, SQLite's write-ahead log and shared memory files exist.
        for name in (
            "billing_admin.sqlite3",
            "billing_admin.sqlite3-wal",
            "billing_admin.sqlite3-shm",
        ):
            path = clean_env / name
            assert path.exists(), name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
        db.session.rollback()
        db.engine.dispose()
    assert stat.S_IMODE(clean_env.stat().st_mode) == 0o700


def test_an_existing_world_readable_database_is_narrowed(clean_env, monkeypatch):
    import sqlalchemy as sa

    from billing_admin.extensions import db

    clean_env.mkdir(mode=0o755)
    database = clean_env / "billing_admin.sqlite3"
    database.touch(mode=0o644)
    database.chmod(0o644)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app()
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.engine.dispose()
    assert stat.S_IMODE(clean_env.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
