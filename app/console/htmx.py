"""One URL returns a page or a fragment, decided here (NetBox's ``htmx_partial``).

A plain request (or an htmx-boosted navigation) gets the whole page. An htmx request that
targets part of a page gets only the named block of the same template, so the fragment can
never drift from the page it belongs to. Every answer says ``Vary: HX-Request`` so caches
keep the two apart.
"""

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from jinja2 import Environment
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.template.base import csrf_token

from app.console.auth.session import current_session
from app.console.permissions import NAV_ITEMS, can, nav_sections
from app.console.security import request_id

VARY = {"Vary": "HX-Request"}

# What a template reads, by name. Jinja looks each name up in a mapping, and a page's names
# differ from page to page; the values in it are the typed view models and client models.
Context: TypeAlias = dict[str, Any]


def header_true(request: Request[Any, Any, Any], name: str) -> bool:
    return request.headers.get(name, "").lower() == "true"


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """Whether htmx sent ``request`` (boosted or not)."""
    return header_true(request, "HX-Request")


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """Whether to answer with a fragment: htmx asked, and not for a whole page."""
    return (
        is_htmx(request)
        and not header_true(request, "HX-Boosted")
        and not header_true(request, "HX-History-Restore-Request")
    )


def nav_area(path: str) -> str | None:
    """The navigation item whose area ``path`` is in: the item with that path, or the one
    whose path is the longest parent of it (``/admin/staff/…`` → ``/admin``). "Home" is
    only ``/`` itself, never a parent of every page."""
    if path == "/":
        return "/"
    found: str | None = None
    for item in NAV_ITEMS:
        if item.path == "/":
            continue
        inside = path == item.path or path.startswith(f"{item.path}/")
        if inside and (found is None or len(item.path) > len(found)):
            found = item.path
    return found


def base_context(request: Request[Any, Any, Any]) -> Context:
    """What every console template may use: the user, their navigation, the CSRF token."""
    signed_in = current_session(request)
    return {
        "request": request,
        "signed_in": signed_in,
        "user": signed_in.user if signed_in else None,
        "tenant_ref": signed_in.tenant if signed_in else None,
        "nav": nav_sections(signed_in),
        "can": lambda permission: can(signed_in, permission),
        "csrf_token": csrf_token({"request": request}),
        "request_id": request_id(request.scope),
        "current_path": request.url.path,
        # The navigation item marked current: the page's own, or its area's (a sub-page).
        "nav_area": nav_area(request.url.path),
        # Counts beside navigation items (the approvals queue), set once per page by the
        # app's before_request hook.
        "nav_badges": request.state.get("nav_badges") or {},
        # The bank (its business date) for the top bar, set once per page by the same hook;
        # a page that read it itself passes it as ``tenant``.
        "shell_tenant": request.state.get("shell_tenant"),
    }


def _environment(request: Request[Any, Any, Any]) -> Environment:
    engine = request.app.template_engine
    environment: Environment = engine.engine  # type: ignore[union-attr]
    return environment


def render(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = "content",
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    """Render ``template_name`` as a page, or only its ``block`` for an htmx fragment request.

    Args:
        request: The console request.
        template_name: A template under ``templates/``.
        context: The page's own values (added to :func:`base_context`).
        block: The block that is the fragment; ``None`` when the page has none.
        status_code: The HTTP status.
        headers: Extra response headers.
    """
    template = _environment(request).get_template(template_name)
    values = {**base_context(request), **(context or {})}
    fragment = block is not None and wants_fragment(request) and block in template.blocks
    values["is_fragment"] = fragment
    if fragment:
        assert block is not None
        body = "".join(template.blocks[block](template.new_context(values)))
    else:
        body = template.render(values)
    return Response(
        body,
        media_type=MediaType.HTML,
        status_code=status_code,
        headers={**VARY, **(headers or {})},
    )


def render_fragments(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any],
    blocks: Sequence[str],
    *,
    status_code: int = 200,
) -> Response[str]:
    """Several named blocks of one template as one htmx answer.

    The first block is the fragment for the request's target; the others are rendered with
    ``oob`` true, so each marks its root element ``hx-swap-oob`` and htmx puts it in place
    by its ID (totals beside a table, a count beside a heading).
    """
    template = _environment(request).get_template(template_name)
    values = {**base_context(request), **context, "is_fragment": True}
    parts: list[str] = []
    for position, block in enumerate(blocks):
        block_values = {**values, "oob": position > 0}
        parts.append("".join(template.blocks[block](template.new_context(block_values))))
    return Response(
        "\n".join(parts),
        media_type=MediaType.HTML,
        status_code=status_code,
        headers=dict(VARY),
    )
