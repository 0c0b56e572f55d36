"""Defaults in code, then the environment, then the test config."""

import stat

import pytest

from billing_admin import create_app
from billing_admin.config import MissingSecretKey, normalise_database_url


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEY", "FLASK_DEBUG", "TRUSTED_HOSTS"):
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
