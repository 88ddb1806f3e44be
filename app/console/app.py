"""Placeholder: replaced by the console build."""

from litestar import Litestar, get

from app.settings import Settings, get_settings


@get("/")
async def home() -> str:
    return "console"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    return Litestar(route_handlers=[home])
