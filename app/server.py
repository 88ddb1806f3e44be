"""The one-process app: the core at /api/v1/cba and the console at /."""

import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from litestar import Litestar

from app.core.errors import API_PREFIX
from app.logging_setup import configure_logging
from app.settings import Settings, get_settings

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]


class Server:
    """Routes by path prefix: two independent apps that share nothing but the contract."""

    def __init__(self, core: Litestar, console: Litestar, *, with_worker: bool = True) -> None:
        self.core = core
        self.console = console
        self.with_worker = with_worker

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            await self.core(scope, receive, send)  # type: ignore[arg-type]
        else:
            await self.console(scope, receive, send)  # type: ignore[arg-type]

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        from app.worker import in_process_worker

        started = False
        try:
            async with self.core.lifespan(), self.console.lifespan():
                if self.with_worker:
                    # The embedded default runs the worker beside the web apps (one process).
                    services = self.core.state.services
                    async with in_process_worker(services.db, services.settings):
                        await send({"type": "lifespan.startup.complete"})
                        started = True
                        message = await receive()
                else:
                    await send({"type": "lifespan.startup.complete"})
                    started = True
                    message = await receive()
        except BaseException:
            # Said, not only raised: uvicorn takes an app whose start-up just raises for one
            # without lifespan support, and serves it anyway (a refused production start,
            # for one, must stop the server).
            failed = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": failed, "message": traceback.format_exc()})
            raise
        await send({"type": "lifespan.shutdown.complete"})


def create_server(settings: Settings | None = None) -> Server:
    from app.console.app import create_app as create_console
    from app.core.app import create_app as create_core

    settings = settings or get_settings()
    return Server(create_core(settings), create_console(settings))


# -- what `branchdesk run | core | console` hand to uvicorn: each process (uvicorn's workers
# included) sets its logging up before it builds its app; tests build apps directly and keep
# structlog's defaults.


def _process_settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.logging)
    return settings


def embedded_process() -> Server:
    return create_server(_process_settings())


def core_process() -> Litestar:
    from app.core.app import create_app

    return create_app(_process_settings())


def console_process() -> Litestar:
    from app.console.app import create_app

    return create_app(_process_settings())
