"""Settings are typed and refuse bad values with a message naming the variable."""

import pytest

from app.settings import ImproperlyConfigured, load_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("BRANCHDESK_VAR_DIR", str(tmp_path))
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "PORT",
        "HOST",
        "BRANCHDESK_PRODUCTION",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "WEB_CONCURRENCY",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_embedded_mode(env, tmp_path):
    settings = load_settings()
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path / 'branchdesk.sqlite3'}"
    assert settings.redis.url is None
    assert settings.server.port == 8000
    assert settings.server.host == "127.0.0.1"
    assert settings.console.banking_api_url == "http://127.0.0.1:8000/api/v1/cba"
    assert settings.auth.access_ttl_seconds == 86400
    assert settings.worker.rollup_interval_seconds == 10.0
    assert settings.worker.rollup_postings_per_run == 50_000


def test_postgres_urls_get_the_async_driver(env):
    env.setenv("DATABASE_URL", "postgresql://u@db:5432/bank")
    assert load_settings().database.url == "postgresql+asyncpg://u@db:5432/bank"
    env.setenv("DATABASE_URL", "postgres://u@db/bank")
    assert load_settings().database.url == "postgresql+asyncpg://u@db/bank"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("PORT", "eighty", "PORT must be a whole number"),
        ("PORT", "70000", "PORT must be between 1 and 65535"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be a postgresql:// or sqlite:///"),
        ("REDIS_URL", "http://localhost", "REDIS_URL must be a URL with scheme"),
        ("BRANCHDESK_PRODUCTION", "maybe", "BRANCHDESK_PRODUCTION must be true or false"),
        ("JWT_LEEWAY_SECONDS", "120", "JWT_LEEWAY_SECONDS must be between 0 and 60"),
        ("CONSOLE_SECRET_KEY", "short", "CONSOLE_SECRET_KEY must be at least 16"),
        ("GL_ROLLUP_POSTINGS_PER_RUN", "0", "GL_ROLLUP_POSTINGS_PER_RUN must be between 1"),
        ("WORKER_ROLLUP_INTERVAL_SECONDS", "soon", "WORKER_ROLLUP_INTERVAL_SECONDS must be"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of console, json"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of debug, error, info, warning"),
    ],
)
def test_bad_values_fail_fast(env, name, value, fragment):
    env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=fragment):
        load_settings()


def test_production_requires_redis(env):
    env.setenv("BRANCHDESK_PRODUCTION", "true")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL is required"):
        load_settings()


def test_generated_secrets_persist(env):
    first = load_settings().console.secret_key
    assert load_settings().console.secret_key == first
    assert len(first) >= 32


def test_logs_are_json_in_production_and_for_people_on_a_laptop(env):
    assert load_settings().logging.format == "console"
    env.setenv("BRANCHDESK_PRODUCTION", "true")
    env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    # What production mode needs besides (test_production_settings.py).
    env.setenv("DATABASE_URL", "postgresql://u@db:5432/bank")
    env.setenv("CONSOLE_SECRET_KEY", "k" * 32)
    env.setenv("CONSOLE_WEBHOOK_SECRET", "w" * 32)
    env.setenv("WEBHOOK_SECRETS_KEY", "s" * 32)
    env.setenv("IDENTITY_SECRETS_KEY", "i" * 32)
    assert load_settings().logging.format == "json"
    env.setenv("LOG_FORMAT", "console")
    assert load_settings().logging.format == "console"


def test_several_workers_need_postgres_and_redis(env):
    env.setenv("WEB_CONCURRENCY", "2")
    with pytest.raises(ImproperlyConfigured, match="needs REDIS_URL"):
        load_settings()
    env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(ImproperlyConfigured, match="needs PostgreSQL"):
        load_settings()  # the embedded SQLite database stays one process
    env.setenv("DATABASE_URL", "postgresql://u@db:5432/bank")
    assert load_settings().server.workers == 2


def test_the_workers_option_is_checked_like_the_variable(env, capsys):
    from app.__main__ import main

    env.setattr("app.__main__.get_settings", load_settings)  # not the session's cached ones
    env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert main(["core", "--workers", "2"]) == 2  # SQLite: refused before serving
    assert "needs PostgreSQL" in capsys.readouterr().err
    assert main(["core", "--workers", "0"]) == 2


def test_session_absolute_lifetime_is_a_day_and_bounded(env):
    env.delenv("SESSION_ABSOLUTE_TTL_SECONDS", raising=False)
    assert load_settings().auth.session_absolute_ttl_seconds == 86400
    env.setenv("SESSION_ABSOLUTE_TTL_SECONDS", "43200")
    assert load_settings().auth.session_absolute_ttl_seconds == 43200
    env.setenv("SESSION_ABSOLUTE_TTL_SECONDS", "30")
    with pytest.raises(ImproperlyConfigured, match="SESSION_ABSOLUTE_TTL_SECONDS must be"):
        load_settings()
