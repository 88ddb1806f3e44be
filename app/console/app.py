"""The staff console: Litestar + Jinja + htmx, talking to the core only through app.client.

``create_app`` wires, top to bottom: the process's resources (banking client, database,
session and token stores), server-side sessions, CSRF, templates, the htmx request class,
the app-wide guard (session timeouts, then the route's permission), the error pages, the
security headers on every answer and ``Server-Timing`` (the console's own time) on each.
"""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.console.accounts.routes import accounts_router
from app.console.admin.routes import admin_router
from app.console.approvals.live import approvals_badge, badge_forgetter
from app.console.approvals.routes import approvals_router
from app.console.assets import ASSET_CACHE, AssetUrls
from app.console.audit.routes import audit_router
from app.console.auth.routes import auth_router
from app.console.auth.session import (
    ConsoleSessionConfig,
    cookie_is_secure,
    csrf_cookie_name,
    session_cookie_name,
    session_guard,
)
from app.console.customers.routes import customers_router
from app.console.errors import EXCEPTION_HANDLERS, unknown_page
from app.console.formatting import (
    break_at_dots,
    count,
    long_date,
    money,
    short_date,
    with_article,
)
from app.console.home.routes import home
from app.console.journals.routes import journals_router
from app.console.live.receiver import receive_webhook
from app.console.live.routes import live_events
from app.console.periods.routes import periods_router
from app.console.permissions import ROLE_LABELS, route_permission
from app.console.reports.routes import reports_router
from app.console.security import make_security_headers_hook
from app.console.shell import shell_context
from app.console.standing.routes import standing_router
from app.console.state import ConsoleState
from app.console.teller.routes import teller_router
from app.console.timing import ServerTimingMiddleware, add_server_timing
from app.console.transfers.routes import transfers_router
from app.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

# The one exemption from CSRF: the core's webhooks prove themselves by signature.
CSRF_EXEMPT = ["^/webhooks/cba$"]


def template_environment(*, auto_reload: bool = True) -> Environment:
    """Jinja with autoescape on for every template (user text is never marked safe).

    With ``auto_reload`` off (production), each template is compiled once per process and
    never looked at on disk again; on a developer's machine an edited template shows at
    the next request.
    """
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
        cache_size=-1,  # every template stays compiled (there are fewer than 200)
    )
    environment.filters["money"] = money
    environment.filters["count"] = count
    environment.filters["long_date"] = long_date
    environment.filters["short_date"] = short_date
    environment.filters["with_article"] = with_article
    environment.filters["break_at_dots"] = break_at_dots
    environment.globals["role_labels"] = ROLE_LABELS
    environment.globals["asset"] = AssetUrls(STATIC_DIR)
    return environment


def _check_route_permissions(app: Litestar) -> None:
    """Fail at start-up if a console route forgot to declare its permission."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.opt.get("static"):
                route_permission(handler)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the console app for ``settings`` (read from the environment by default)."""
    settings = settings or get_settings()
    console = ConsoleState.build(settings)
    secure = cookie_is_secure(settings.server.host, settings.server.production)

    sessions = ConsoleSessionConfig(
        key=session_cookie_name(secure),
        # The store keeps a session this long after its last write (which may be the sign-in
        # itself: last_seen moves in steps), so that a session past its limits is still
        # there to say why it ended; the guard enforces the idle and absolute limits exactly
        # from the session's own clock.
        max_age=settings.console.session_absolute_seconds + settings.console.session_idle_seconds,
        secure=secure,
        httponly=True,
        samesite="lax",
        store="sessions",
        exclude=["^/static/"],
    )
    csrf = CSRFConfig(
        secret=settings.console.secret_key,
        cookie_name=csrf_cookie_name(secure),
        cookie_secure=secure,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrftoken",
        exclude=CSRF_EXEMPT,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={"static": True, "public": True, "exclude_from_csrf": True},
        cache_control=ASSET_CACHE,
        include_in_schema=False,
        name="static",
    )

    console.live.add_listener(badge_forgetter(console.live))

    async def start_live_updates() -> None:
        await console.live.start()
        console.live.end_streams_on_signal()

    async def close_resources() -> None:
        await console.close()

    app = Litestar(
        route_handlers=[
            home,
            auth_router,
            customers_router,
            accounts_router,
            teller_router,
            transfers_router,
            approvals_router,
            approvals_badge,
            audit_router,
            live_events,
            receive_webhook,
            journals_router,
            standing_router,
            periods_router,
            reports_router,
            admin_router,
            static,
            unknown_page,
        ],
        # Outermost: Server-Timing covers the session load, CSRF, guards and error pages.
        middleware=[ServerTimingMiddleware(), sessions.middleware],
        stores={"sessions": console.session_store},
        csrf_config=csrf,
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(
                template_environment(auto_reload=not settings.server.production)
            )
        ),
        plugins=[HTMXPlugin()],
        guards=[session_guard],
        before_request=shell_context,
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[
            make_security_headers_hook(hsts=settings.server.production),
            add_server_timing,
        ],
        on_startup=[start_live_updates],
        on_shutdown=[close_resources],
        openapi_config=None,
        debug=False,
        state=_state(console),
    )
    _check_route_permissions(app)
    return app


def _state(console: ConsoleState) -> Any:
    from litestar.datastructures import State

    return State({"console": console})
