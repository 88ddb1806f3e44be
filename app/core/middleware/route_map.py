"""Which (method, path) pairs the API answers, for stages of the chain that run before
Litestar's router: a write to a path or method the API lacks must meet the router's
404/405 (with its ``Allow`` header), not the idempotency stage's checks of its body or key.
"""

import re
from collections.abc import Iterable

from litestar import Litestar
from litestar.routes import HTTPRoute

from app.core.middleware._asgi import Scope, Send

_PARAM = re.compile(r"\{[^}]+\}")


class RouteMap:
    """Static paths by dict; paths with parameters by one regex each (few, and only
    consulted for a write that carries an Idempotency-Key or a body)."""

    def __init__(self, routes: Iterable[tuple[str, Iterable[str]]]) -> None:
        self.static: dict[str, set[str]] = {}
        self.patterns: list[tuple[re.Pattern[str], set[str]]] = []
        for path, methods in routes:
            upper = {m.upper() for m in methods}
            if "{" in path:
                pattern = (
                    "^"
                    + _PARAM.sub("[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
                    + "$"
                )
                self.patterns.append((re.compile(pattern), upper))
            else:
                self.static.setdefault(path, set()).update(upper)

    @classmethod
    def of(cls, app: Litestar) -> "RouteMap":
        return cls(
            (route.path, route.methods) for route in app.routes if isinstance(route, HTTPRoute)
        )

    def allows(self, method: str, path: str) -> bool:
        methods = self.static.get(path)
        if methods is not None:
            return method in methods
        return any(method in ms for pattern, ms in self.patterns if pattern.match(path))

    def methods(self, path: str) -> set[str]:
        """Every method the API answers at ``path`` (empty: no such path)."""
        if path in self.static:  # a static path wins over a parameter, as in the router
            return set(self.static[path])
        found: set[str] = set()
        for pattern, methods in self.patterns:
            if pattern.match(path):
                found |= methods
        return found

    async def answer_options(self, scope: Scope, send: Send) -> bool:
        """``OPTIONS``: 204 with every method of the path in ``Allow``. Litestar answers it
        per route object, and a path's GET and POST may live on two of them (one router
        each), so its own answer would name half. False: no such path (the router's 404).
        """
        methods = self.methods(scope["path"])
        if not methods:
            return False
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", allow.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True
