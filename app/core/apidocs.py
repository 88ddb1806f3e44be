"""The API reference page (Swagger UI), served by the core from its own origin only.

Litestar's Swagger plugin loads Swagger UI from a CDN (no Subresource Integrity) and starts
it with an inline script, so whoever serves the CDN's files runs script on the bank's
origin, and no Content-Security-Policy could forbid inline script. Here the page is our
own: the vendored files of ``static/vendor/swagger-ui/`` and a small start-up script
(``static/js/api-docs.js``) come from the core itself, and the schema router answers
under a policy that allows scripts, styles and fetches from this origin only. The core
serves them itself because it runs alone in production (the console's ``/static`` is not
there).
"""

import hashlib
import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.datastructures import ResponseHeader
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.response import File

from app.core.errors import API_PREFIX

ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = ROOT / "static" / "vendor" / "swagger-ui"
SCHEMA_PATH = f"{API_PREFIX}/schema"
PAGE_PATH = "/swagger"
ASSET_PATH = f"{SCHEMA_PATH}{PAGE_PATH}"

# The files the page may load, by the name in their URL: nothing else is served.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (VENDOR_DIR / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (VENDOR_DIR / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "api-docs.js": (ROOT / "static" / "js" / "api-docs.js", "text/javascript; charset=utf-8"),
}

# Scripts and styles from this origin only, and no inline script. ``data:`` images: Swagger
# UI's stylesheet draws its icons as data-URI SVGs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The URL carries a fingerprint of the content, so a new file is a new URL.
ASSET_CACHE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=len(ASSETS))
def fingerprint(name: str) -> str:
    """The first 12 hex digits of the asset's SHA-256."""
    return hashlib.sha256(ASSETS[name][0].read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"{ASSET_PATH}/{name}?v={fingerprint(name)}"


@get(f"{PAGE_PATH}/{{asset:str}}", sync_to_thread=False, include_in_schema=False)
def api_reference_asset(asset: str) -> File:
    """One of the page's own files (a fixed list; never a path from the URL)."""
    found = ASSETS.get(asset)
    if found is None:
        raise NotFoundException(f"no file {asset!r} here")
    path, media_type = found
    return File(
        path,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": ASSET_CACHE},
    )


class ApiReferencePlugin(OpenAPIRenderPlugin):
    """``/schema/swagger``: Swagger UI on the core's own files, reading ``openapi.json``."""

    def __init__(self) -> None:
        super().__init__(path=PAGE_PATH, media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec_url = html.escape(f"{SCHEMA_PATH}/openapi.json")
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{asset_url("swagger-ui.css")}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec_url}"></div>
<script src="{asset_url("swagger-ui-bundle.js")}"></script>
<script src="{asset_url("api-docs.js")}"></script>
</body>
</html>
"""
        return page.encode()

    def receive_router(self, router: Router) -> None:
        router.register(api_reference_asset)


def schema_router() -> Router:
    """The router of ``/schema``: every answer under it carries the page's policy."""
    return Router(
        path=SCHEMA_PATH,
        route_handlers=[],
        include_in_schema=False,
        response_headers=[
            ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY)
        ],
    )
