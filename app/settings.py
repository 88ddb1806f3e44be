"""Typed settings, grouped by concern, read once from the environment.

Bad values fail fast with a message that names the variable and what it expects
(NetBox's ``ImproperlyConfigured``). Tests set the environment before importing
the app, then call :func:`reload_settings`.
"""

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from app.core.webhooks.targets import AllowedTarget, TargetRefused, parse_allowed_targets


class ImproperlyConfigured(RuntimeError):
    """A setting is missing or has a value that cannot work."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bound}, got {value}")
    return value


def _float(name: str, default: float, *, minimum: float, maximum: float | None = None) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bound}, got {raw}")
    return value


def _choice(name: str, default: str, choices: set[str]) -> str:
    value = (_env(name, default) or default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _url(name: str, default: str | None, schemes: set[str]) -> str | None:
    raw = _env(name, default)
    if raw is None:
        return None
    scheme = urlparse(raw).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name} must be a URL with scheme {allowed}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    var_dir: Path
    production: bool
    workers: int


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    pool_size: int
    echo: bool

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class RedisSettings:
    url: str | None
    timeout_seconds: float = 2.0  # per command: a Redis that answers nothing is "down"


@dataclass(frozen=True)
class AuthSettings:
    private_key_path: Path
    issuer: str
    audience: str
    access_ttl_seconds: int
    refresh_ttl_seconds: int  # a session's sliding expiry: each refresh moves it this far
    leeway_seconds: int
    lockout_threshold: int
    lockout_seconds: int
    # A session's absolute lifetime from sign-in: no refresh moves it (decisions.md).
    session_absolute_ttl_seconds: int = 86400


@dataclass(frozen=True)
class RateLimitSettings:
    per_ip_per_minute: int
    per_credential_per_minute: int
    failed_logins_per_ip: int
    failed_login_window_seconds: int
    trusted_proxies: frozenset[str]


@dataclass(frozen=True)
class ConsoleSettings:
    banking_api_url: str
    banking_tenant_id: str
    session_idle_seconds: int
    session_absolute_seconds: int
    secret_key: str
    webhook_secret: str
    client_timeout_seconds: int
    # How often an open live stream sends a keep-alive and re-checks its session.
    live_heartbeat_seconds: int = 15
    # The console's address as staff's browsers see it (behind a proxy that changes it):
    # single sign-on's redirect URIs are built on it. None: each request's own origin.
    public_url: str | None = None


@dataclass(frozen=True)
class WebhookSettings:
    """Outgoing webhooks: where the sandbox subscribes, what URLs may be, how retries go."""

    console_url: str  # the console's receiver, for the sandbox subscription
    require_https: bool
    # The only internal targets a subscription may name: the console's receiver first.
    allowed_targets: tuple[AllowedTarget, ...]
    secrets_key: str  # seals subscription secrets at rest
    timeout_seconds: float
    backoff_base_seconds: float
    backoff_max_seconds: float
    max_attempts: int
    batch_size: int  # attempts one worker runs at once, over every endpoint
    # Attempts one worker runs at once to one receiver (scheme, host and port): a slow or
    # small receiver is never sent more than this, and never holds up the others.
    endpoint_concurrency: int = 16
    # How long past an attempt's own deadlines its lease lasts: a delivery leased by a
    # worker that died waits this long before another worker takes it over.
    lease_margin_seconds: float = 60.0


@dataclass(frozen=True)
class WorkerSettings:
    """How often each job of ``branchdesk worker`` (or the in-process worker) runs."""

    delivery_poll_seconds: float
    seal_interval_seconds: float
    purge_interval_seconds: float
    standing_interval_seconds: float
    seal_records_per_seal: int
    rollup_interval_seconds: float
    rollup_postings_per_run: int


@dataclass(frozen=True)
class LoggingSettings:
    format: str  # "json" (one object per line, for a log shipper) or "console" (for people)
    level: str  # debug, info, warning, error


@dataclass(frozen=True)
class IdentitySettings:
    """Staff identity: single sign-on through a tenant's provider, and the second factor."""

    secrets_key: str  # seals TOTP seeds and identity providers' client secrets at rest
    challenge_seconds: int = 300  # a sign-in's second-factor challenge lives this long
    challenge_attempts: int = 5  # wrong codes one challenge takes before it is spent
    provider_timeout_seconds: float = 10.0  # each call to an identity provider
    provider_cache_seconds: int = 3600  # discovery documents and key sets kept this long
    id_token_leeway_seconds: int = 60  # clock skew allowed on a provider's ID token
    totp_issuer: str = "Branchdesk"  # the name authenticator apps show beside the code


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    database: DatabaseSettings
    redis: RedisSettings
    auth: AuthSettings
    rate_limit: RateLimitSettings
    console: ConsoleSettings
    webhooks: WebhookSettings
    worker: WorkerSettings
    logging: LoggingSettings = field(default=LoggingSettings(format="console", level="info"))
    sandbox_password: str = field(default="Sandbox#2026")
    identity: IdentitySettings = field(default=IdentitySettings(secrets_key=""))


def _database_url(var_dir: Path) -> str:
    raw = _env("DATABASE_URL")
    if raw is None:
        return f"sqlite+aiosqlite:///{var_dir / 'branchdesk.sqlite3'}"
    # Accept the usual libpq spellings and pick the async driver ourselves.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+asyncpg://" + raw[len(prefix) :]
    if raw.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + raw[len("sqlite:///") :]
    if raw.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
        return raw
    raise ImproperlyConfigured(
        f"DATABASE_URL must be a postgresql:// or sqlite:/// URL, got {raw!r}"
    )


def _secret(name: str, var_dir: Path, *, maximum: int | None = None) -> str:
    """A secret from the environment, or one generated once and kept under var/."""
    raw = _env(name)
    if raw is not None:
        if len(raw) < 16:
            raise ImproperlyConfigured(f"{name} must be at least 16 characters long")
        if maximum is not None and len(raw) > maximum:
            raise ImproperlyConfigured(f"{name} must be at most {maximum} characters long")
        return raw
    path = var_dir / "secrets" / name.lower()
    if not path.exists():
        import secrets

        _private_dir(path.parent)
        _write_private_once(path, secrets.token_urlsafe(32).encode())
    path.chmod(0o600)  # tightens a file an older version wrote with the default mode
    return path.read_text().strip()


def _private_dir(path: Path) -> None:
    """A folder only the server's user can enter (created so, or tightened)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except PermissionError:  # not ours (a shared mount): its owner decides
        pass


def _write_private_once(path: Path, data: bytes) -> None:
    """Write ``path`` readable by this user only from its first byte; when two processes
    start together, the first one's file wins and both use it."""
    import os
    import secrets

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _webhook_targets(console_url: str) -> tuple[AllowedTarget, ...]:
    if _env("WEBHOOK_ALLOW_PRIVATE_ADDRESSES") is not None and _bool(
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False
    ):
        raise ImproperlyConfigured(
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES is gone: internal webhook targets are refused in "
            "every mode; list the exact ones to admit in WEBHOOK_ALLOWED_TARGETS "
            "(scheme://host:port[/path], comma-separated)"
        )
    try:
        return parse_allowed_targets(_env("WEBHOOK_ALLOWED_TARGETS"), console_url)
    except (ValueError, TargetRefused) as exc:
        raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_TARGETS: {exc}") from None


def check_workers(workers: int, *, redis_url: str | None, database_url: str) -> None:
    """Several processes of one app need shared stores: Redis and PostgreSQL.

    The embedded SQLite mode stays one process: its writers queue on an in-process lock
    (``app.db``), and its rate limits and revocations live in that process or file.
    """
    if workers <= 1:
        return
    if redis_url is None:
        raise ImproperlyConfigured(
            "WEB_CONCURRENCY > 1 needs REDIS_URL: worker processes must share rate limits, "
            "sessions and revocations"
        )
    if database_url.startswith("sqlite"):
        raise ImproperlyConfigured(
            "WEB_CONCURRENCY > 1 needs PostgreSQL (DATABASE_URL): the embedded SQLite "
            "database serializes its writers inside one process"
        )


# What production mode needs set, and why (security review, issue 10): none of these may
# fall back to its laptop default there.
PRODUCTION_SECRETS = {
    "CONSOLE_SECRET_KEY": "at least 16 random characters; signs the console's CSRF tokens",
    "CONSOLE_WEBHOOK_SECRET": (
        "at least 16 random characters; the console checks the core's webhooks with it"
    ),
    "WEBHOOK_SECRETS_KEY": (
        "at least 16 random characters, the same in every core and worker; seals "
        "webhook subscription secrets at rest"
    ),
    "IDENTITY_SECRETS_KEY": (
        "at least 16 random characters, the same in every core; seals staff TOTP seeds "
        "and identity providers' client secrets at rest"
    ),
}


def check_production(*, database_url: str) -> None:
    """Refuse production mode on the embedded defaults, naming everything left to set.

    Runs before any secret is generated: a secret made on the spot (or kept from a
    development start in the same ``var/``) is not one that the deployment chose.
    """
    missing: list[str] = []
    if database_url.startswith("sqlite"):
        missing.append(
            "set DATABASE_URL to a postgresql:// URL (the embedded SQLite database is for "
            "one laptop process)"
        )
    for name, what in PRODUCTION_SECRETS.items():
        if _env(name) is None:
            missing.append(f"set {name} ({what})")
    if missing:
        raise ImproperlyConfigured(
            "BRANCHDESK_PRODUCTION is on, so nothing falls back to a development default: "
            + "; ".join(missing)
        )


def check_signing_key(settings: Settings) -> None:
    """In production the core signs tokens only with a key the deployment provides.

    Only the core needs it (a console or a worker never signs a token), so the core checks
    it when it is built rather than every process at load time.
    """
    path = settings.auth.private_key_path
    if settings.server.production and not path.is_file():
        raise ImproperlyConfigured(
            f"BRANCHDESK_PRODUCTION is on and there is no signing key at {path}: set "
            "JWT_PRIVATE_KEY_PATH to the deployment's RSA private key (PEM); production "
            "never generates one"
        )


def load_settings() -> Settings:
    """Read and check every setting; raise :class:`ImproperlyConfigured` on a bad one."""
    var_dir = Path(_env("BRANCHDESK_VAR_DIR", "var") or "var").resolve()
    _private_dir(var_dir)  # the database, keys and secrets live here
    production = _bool("BRANCHDESK_PRODUCTION", False)
    port = _int("PORT", 8000, minimum=1, maximum=65535)
    host = _env("HOST", "127.0.0.1") or "127.0.0.1"
    redis_url = _url("REDIS_URL", None, {"redis", "rediss", "unix"})
    if production and redis_url is None:
        raise ImproperlyConfigured("REDIS_URL is required when BRANCHDESK_PRODUCTION is on")
    workers = _int("WEB_CONCURRENCY", 1, minimum=1, maximum=64)
    database_url = _database_url(var_dir)
    check_workers(workers, redis_url=redis_url, database_url=database_url)
    if production:
        check_production(database_url=database_url)
    trusted = _env("TRUSTED_PROXIES", "127.0.0.1,::1") or ""
    loopback = host in {"0.0.0.0", "::"}  # noqa: S104  (we only test for the wildcard)
    default_api = f"http://{'127.0.0.1' if loopback else host}:{port}/api/v1/cba"
    banking_api_url = _url("BANKING_API_URL", default_api, {"http", "https"})
    assert banking_api_url is not None
    default_receiver = f"http://{'127.0.0.1' if loopback else host}:{port}/webhooks/cba"
    console_webhook_url = _url("CONSOLE_WEBHOOK_URL", default_receiver, {"http", "https"})
    assert console_webhook_url is not None
    key_path = Path(_env("JWT_PRIVATE_KEY_PATH") or str(var_dir / "keys" / "jwt_private.pem"))
    return Settings(
        server=ServerSettings(
            host=host, port=port, var_dir=var_dir, production=production, workers=workers
        ),
        database=DatabaseSettings(
            url=database_url,
            pool_size=_int("DATABASE_POOL_SIZE", 10, minimum=1, maximum=200),
            echo=_bool("DATABASE_ECHO", False),
        ),
        redis=RedisSettings(
            url=redis_url,
            timeout_seconds=_float("REDIS_TIMEOUT_SECONDS", 2.0, minimum=0.05, maximum=60),
        ),
        auth=AuthSettings(
            private_key_path=key_path,
            issuer="cba-platform",
            audience="cba-api",
            access_ttl_seconds=_int("ACCESS_TOKEN_TTL_SECONDS", 86400, minimum=60),
            refresh_ttl_seconds=_int("REFRESH_TOKEN_TTL_SECONDS", 7 * 86400, minimum=60),
            leeway_seconds=_int("JWT_LEEWAY_SECONDS", 60, minimum=0, maximum=60),
            lockout_threshold=_int("LOGIN_LOCKOUT_THRESHOLD", 5, minimum=1),
            lockout_seconds=_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1),
            session_absolute_ttl_seconds=_int(
                "SESSION_ABSOLUTE_TTL_SECONDS", 86400, minimum=60, maximum=30 * 86400
            ),
        ),
        rate_limit=RateLimitSettings(
            per_ip_per_minute=_int("RATE_LIMIT_PER_IP", 3000, minimum=1),
            per_credential_per_minute=_int("RATE_LIMIT_PER_CREDENTIAL", 1200, minimum=1),
            failed_logins_per_ip=_int("RATE_LIMIT_FAILED_LOGINS", 50, minimum=1),
            failed_login_window_seconds=900,
            trusted_proxies=frozenset(p.strip() for p in trusted.split(",") if p.strip()),
        ),
        console=ConsoleSettings(
            banking_api_url=banking_api_url.rstrip("/"),
            banking_tenant_id=_env("BANKING_TENANT_ID", "demo_bank") or "demo_bank",
            session_idle_seconds=_int("SESSION_IDLE_SECONDS", 900, minimum=30),
            session_absolute_seconds=_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=60),
            secret_key=_secret("CONSOLE_SECRET_KEY", var_dir),
            # At most 100: the sandbox subscription keeps it sealed in a 200-character column.
            webhook_secret=_secret("CONSOLE_WEBHOOK_SECRET", var_dir, maximum=100),
            client_timeout_seconds=_int("BANKING_API_TIMEOUT_SECONDS", 15, minimum=1),
            live_heartbeat_seconds=_int("LIVE_HEARTBEAT_SECONDS", 15, minimum=1, maximum=300),
            public_url=_url("CONSOLE_PUBLIC_URL", None, {"http", "https"}),
        ),
        webhooks=WebhookSettings(
            console_url=console_webhook_url,
            require_https=_bool("WEBHOOK_REQUIRE_HTTPS", production),
            allowed_targets=_webhook_targets(console_webhook_url),
            secrets_key=_secret("WEBHOOK_SECRETS_KEY", var_dir),
            timeout_seconds=_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1, maximum=60),
            backoff_base_seconds=_float("WEBHOOK_BACKOFF_BASE_SECONDS", 10.0, minimum=0.01),
            backoff_max_seconds=_float(
                "WEBHOOK_BACKOFF_MAX_SECONDS", 86400.0, minimum=0.01, maximum=86400
            ),
            max_attempts=_int("WEBHOOK_MAX_ATTEMPTS", 15, minimum=1, maximum=100),
            batch_size=_int("WEBHOOK_DELIVERY_BATCH", 64, minimum=1, maximum=500),
            endpoint_concurrency=_int("WEBHOOK_ENDPOINT_CONCURRENCY", 16, minimum=1, maximum=500),
            lease_margin_seconds=_float(
                "WEBHOOK_LEASE_MARGIN_SECONDS", 60.0, minimum=1.0, maximum=3600
            ),
        ),
        worker=WorkerSettings(
            delivery_poll_seconds=_float(
                "WORKER_DELIVERY_POLL_SECONDS", 1.0, minimum=0.05, maximum=60
            ),
            seal_interval_seconds=_float("WORKER_SEAL_INTERVAL_SECONDS", 10.0, minimum=0.1),
            purge_interval_seconds=_float("WORKER_PURGE_INTERVAL_SECONDS", 60.0, minimum=1),
            standing_interval_seconds=_float("WORKER_STANDING_INTERVAL_SECONDS", 60.0, minimum=1),
            seal_records_per_seal=_int("AUDIT_SEAL_RECORDS", 1000, minimum=1, maximum=100_000),
            rollup_interval_seconds=_float("WORKER_ROLLUP_INTERVAL_SECONDS", 10.0, minimum=0.1),
            rollup_postings_per_run=_int(
                "GL_ROLLUP_POSTINGS_PER_RUN", 50_000, minimum=1, maximum=10_000_000
            ),
        ),
        logging=LoggingSettings(
            format=_choice("LOG_FORMAT", "json" if production else "console", {"json", "console"}),
            level=_choice("LOG_LEVEL", "info", {"debug", "info", "warning", "error"}),
        ),
        sandbox_password=_env("SANDBOX_PASSWORD", "Sandbox#2026") or "Sandbox#2026",
        identity=_identity_settings(var_dir),
    )


def _identity_settings(var_dir: Path) -> IdentitySettings:
    return IdentitySettings(
        secrets_key=_secret("IDENTITY_SECRETS_KEY", var_dir),
        challenge_seconds=_int("MFA_CHALLENGE_SECONDS", 300, minimum=30, maximum=1800),
        challenge_attempts=_int("MFA_CHALLENGE_ATTEMPTS", 5, minimum=1, maximum=20),
        provider_timeout_seconds=_float(
            "IDENTITY_PROVIDER_TIMEOUT_SECONDS", 10.0, minimum=0.5, maximum=60
        ),
        provider_cache_seconds=_int("IDENTITY_PROVIDER_CACHE_SECONDS", 3600, minimum=0),
        id_token_leeway_seconds=_int("ID_TOKEN_LEEWAY_SECONDS", 60, minimum=0, maximum=300),
        totp_issuer=_env("TOTP_ISSUER", "Branchdesk") or "Branchdesk",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return load_settings()


def reload_settings() -> Settings:
    """Forget the cached settings (tests change the environment between apps)."""
    get_settings.cache_clear()
    return get_settings()
