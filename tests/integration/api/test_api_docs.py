"""Security review (issue 10), finding 11: the API reference page runs only our own code.

The page (``/schema/swagger``) loaded Swagger UI from a CDN without Subresource Integrity
and started it with an inline script: whoever served those files ran script on the bank's
origin. It must load its files from the core itself (which runs alone in production),
under a Content-Security-Policy that allows no other origin and no inline script.
"""

import re
from html.parser import HTMLParser

PAGE = "/schema/swagger"


class PageParts(HTMLParser):
    """The URLs a page loads and the inline scripts it carries."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False
        self._script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "data-spec-url"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if any(name.startswith("on") for name, _ in attrs):
            self.inline_scripts.append(f"<{tag}> event handler")
        if tag == "script":
            self._in_script = True
            self._script_text = ""
            if not values.get("src"):
                self.inline_scripts.append("<script> without src")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
            if self._script_text.strip():
                self.inline_scripts.append(self._script_text.strip()[:80])


def policy(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


async def test_the_api_reference_loads_only_the_cores_own_files(api):
    page = await api.get(PAGE)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # No other origin anywhere in the page (http://, https:// or protocol-relative).
    assert not re.search(r"(?:https?:)?//[A-Za-z0-9.-]+", page.text), "an external URL"
    parts = PageParts()
    parts.feed(page.text)
    assert not parts.inline_scripts, parts.inline_scripts

    csp = page.headers.get("content-security-policy")
    assert csp, "no Content-Security-Policy on the API reference"
    directives = policy(csp)
    scripts = directives.get("script-src") or directives.get("default-src")
    assert scripts == ["'self'"], csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    for directive in ("style-src", "connect-src", "img-src"):
        sources = directives.get(directive) or directives.get("default-src") or []
        assert all(s in {"'self'", "data:"} for s in sources), (directive, csp)
    assert directives.get("frame-ancestors") == ["'none'"]

    # Everything the page names loads, from the core alone (no console, no /static).
    loads = [url for url in parts.urls if url != "data:,"]
    assert len(loads) >= 4, loads  # the stylesheet, Swagger UI, its start-up, the schema
    for url in loads:
        assert url.startswith("/api/v1/cba/schema/"), url
        answer = await api.get(url.removeprefix("/api/v1/cba"))
        assert answer.status_code == 200, url
        assert answer.content, url
    types = {url.split("?")[0].rsplit("/", 1)[-1]: None for url in loads}
    assert {"swagger-ui.css", "swagger-ui-bundle.js", "api-docs.js", "openapi.json"} <= set(types)


async def test_the_page_serves_its_own_files_and_nothing_else(api):
    css = await api.get("/schema/swagger/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    script = await api.get("/schema/swagger/api-docs.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    for probe in ("/schema/swagger/LICENSE", "/schema/swagger/README.md"):
        assert (await api.get(probe)).status_code == 404, probe
    # A climb out of the folder is resolved by the chain's first stage (canonical paths)
    # to a path outside /schema, which needs a token: refused either way, nothing served.
    climb = await api.get("/schema/swagger/..%2F..%2Fapp%2Fsettings.py")
    assert climb.status_code in {401, 404}
    assert b"ImproperlyConfigured" not in climb.content
