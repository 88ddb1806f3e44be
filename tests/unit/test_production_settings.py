"""Security review (issue 10), finding 12: production mode starts only when configured.

With ``BRANCHDESK_PRODUCTION=true`` nothing falls back to its laptop default: not the
embedded SQLite database, not a signing key or secrets generated on the spot. Each refusal
names what to set.
"""

from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from app.settings import ImproperlyConfigured, load_settings

SECRET = "s" * 32


@pytest.fixture
def production(monkeypatch, tmp_path):
    """A complete production configuration (each test then takes one thing away)."""
    monkeypatch.setenv("BRANCHDESK_VAR_DIR", str(tmp_path / "var"))
    for name in (
        "HOST",
        "PORT",
        "WEB_CONCURRENCY",
        "LOG_FORMAT",
        "LOG_LEVEL",
        "SANDBOX_PASSWORD",
        "BANKING_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    key = tmp_path / "keys" / "signing.pem"
    key.parent.mkdir()
    key.write_bytes(RSAKey.generate_key(2048).as_pem(private=True))
    monkeypatch.setenv("BRANCHDESK_PRODUCTION", "true")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bank@db.internal:5432/bank")
    monkeypatch.setenv("JWT_PRIVATE_KEY_PATH", str(key))
    monkeypatch.setenv("CONSOLE_SECRET_KEY", SECRET)
    monkeypatch.setenv("CONSOLE_WEBHOOK_SECRET", SECRET.upper())
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", SECRET[::-1])
    monkeypatch.setenv("IDENTITY_SECRETS_KEY", SECRET + "i")
    return monkeypatch


def generated(tmp_path: Path) -> list[Path]:
    """What a start generated under the var folder (secrets, keys)."""
    var = tmp_path / "var"
    return [p for p in var.rglob("*") if p.is_file()] if var.exists() else []


def test_a_complete_production_configuration_starts(production, tmp_path):
    from app.core.app import create_app

    settings = load_settings()
    assert settings.server.production
    assert settings.console.secret_key == SECRET
    app = create_app(settings)  # the signing key is there: nothing refused
    assert app.state.services.keys.kid
    assert generated(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DATABASE_URL", None, "set DATABASE_URL to a postgresql:// URL"),
        ("DATABASE_URL", "sqlite:///bank.sqlite3", "set DATABASE_URL to a postgresql:// URL"),
        ("CONSOLE_SECRET_KEY", None, "set CONSOLE_SECRET_KEY"),
        ("CONSOLE_WEBHOOK_SECRET", None, "set CONSOLE_WEBHOOK_SECRET"),
        ("WEBHOOK_SECRETS_KEY", None, "set WEBHOOK_SECRETS_KEY"),
        ("IDENTITY_SECRETS_KEY", None, "set IDENTITY_SECRETS_KEY"),
    ],
)
def test_production_refuses_a_laptop_default(production, tmp_path, name, value, fragment):
    if value is None:
        production.delenv(name)
    else:
        production.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=fragment) as refused:
        load_settings()
    assert "BRANCHDESK_PRODUCTION" in str(refused.value)
    assert generated(tmp_path) == [], "a secret was generated before the refusal"


def test_every_missing_setting_is_named_at_once(production):
    for name in (
        "DATABASE_URL",
        "CONSOLE_SECRET_KEY",
        "CONSOLE_WEBHOOK_SECRET",
        "WEBHOOK_SECRETS_KEY",
        "IDENTITY_SECRETS_KEY",
    ):
        production.delenv(name)
    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings()
    message = str(refused.value)
    for name in (
        "DATABASE_URL",
        "CONSOLE_SECRET_KEY",
        "CONSOLE_WEBHOOK_SECRET",
        "WEBHOOK_SECRETS_KEY",
        "IDENTITY_SECRETS_KEY",
    ):
        assert name in message


def test_a_secret_generated_on_a_laptop_is_not_enough(production, tmp_path):
    """A var folder that once ran in development holds generated secrets: still refused."""
    production.delenv("BRANCHDESK_PRODUCTION")
    production.delenv("CONSOLE_SECRET_KEY")
    load_settings()  # development: generates and keeps one under var/secrets
    assert any(p.name == "console_secret_key" for p in generated(tmp_path))
    production.setenv("BRANCHDESK_PRODUCTION", "true")
    with pytest.raises(ImproperlyConfigured, match="set CONSOLE_SECRET_KEY"):
        load_settings()


@pytest.mark.parametrize("configured", [True, False])
def test_production_refuses_to_generate_a_signing_key(production, tmp_path, configured):
    from app.core.app import create_app

    if configured:
        missing = tmp_path / "keys" / "not-there.pem"
        production.setenv("JWT_PRIVATE_KEY_PATH", str(missing))
    else:
        production.delenv("JWT_PRIVATE_KEY_PATH")  # the default, var/keys/jwt_private.pem
        missing = tmp_path / "var" / "keys" / "jwt_private.pem"
    settings = load_settings()
    with pytest.raises(ImproperlyConfigured, match="JWT_PRIVATE_KEY_PATH") as refused:
        create_app(settings)
    assert str(missing) in str(refused.value)
    assert not missing.exists(), "a signing key was generated"


def test_the_command_says_what_to_set(production, tmp_path, capsys):
    from app.__main__ import main

    production.setattr("app.__main__.get_settings", load_settings)  # not the cached ones
    production.setenv("JWT_PRIVATE_KEY_PATH", str(tmp_path / "absent.pem"))
    assert main(["core"]) == 2  # refused before serving
    assert "JWT_PRIVATE_KEY_PATH" in capsys.readouterr().err
    production.delenv("CONSOLE_WEBHOOK_SECRET")
    assert main(["console"]) == 2
    assert "set CONSOLE_WEBHOOK_SECRET" in capsys.readouterr().err


def test_the_sandbox_is_never_seeded_in_production(production, capsys):
    from app.__main__ import main

    production.setattr("app.__main__.get_settings", load_settings)
    assert main(["seed", "demo"]) == 1
    assert "never seeded in production" in capsys.readouterr().err
