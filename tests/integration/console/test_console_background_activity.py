"""Security review (issue 10), finding 8: what a page does by itself is not activity.

A page left open keeps its live stream and re-asks for the approvals badge (and the other
live blocks) whenever the stream says the queue changed. None of that is the staff member
at the keyboard: an unattended officer's session must still idle out. Only what a person
does (a click, a form, a boosted navigation) moves ``last_seen``.
"""

import asyncio
import json
import time
from html.parser import HTMLParser
from typing import Any

from console_helpers import asgi_client, session_cookie, sign_in

from app.console.auth.session import last_seen_step
from app.console.state import console_state


class LiveRefreshes(HTMLParser):
    """The requests a page makes by itself: each element that a live signal (``sse:…``)
    triggers, with the headers htmx would send (its own ``hx-headers`` over its
    ancestors')."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        inherited: dict[str, str] = {}
        for _, headers in self.stack:
            inherited.update(headers)
        own = json.loads(values["hx-headers"]) if "hx-headers" in values else {}
        headers = {**inherited, **own}
        if tag not in {"br", "hr", "img", "input", "link", "meta", "source", "wbr"}:
            self.stack.append((tag, own))
        if values.get("hx-trigger", "").startswith("sse:") and values.get("hx-get"):
            sent = {"HX-Request": "true", **headers}
            if values.get("id"):
                sent["HX-Trigger"] = values["id"]
            self.found.append((values["hx-get"], sent))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return


def live_refreshes(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = LiveRefreshes()
    parser.feed(html)
    return parser.found


async def stored_last_seen(app: Any, session_id: str) -> float | None:
    raw = await console_state(app).session_store.get(session_id)
    return None if raw is None else float(json.loads(raw)["last_seen"])


async def rewind_last_seen(app: Any, session_id: str, seconds: float) -> None:
    """Move the stored ``last_seen`` ``seconds`` into the past (time passing, quickly)."""
    store = console_state(app).session_store
    raw = await store.get(session_id)
    assert raw is not None
    data = json.loads(raw)
    data["last_seen"] = float(data["last_seen"]) - seconds
    await store.set(session_id, json.dumps(data).encode(), expires_in=3600)


async def test_an_unattended_session_idles_out_despite_its_live_page(console_app):
    idle = 2
    app = console_app(session_idle_seconds=idle)
    async with asgi_client(app) as officer:
        assert (await sign_in(officer, "officer@demo.bank")).status_code == 303
        home = await officer.get("/")
        queue = await officer.get("/approvals")
        assert home.status_code == queue.status_code == 200
        refreshes = live_refreshes(home.text) + live_refreshes(queue.text)
        paths = {path for path, _ in refreshes}
        # The badge, Home's approvals figure and the queue's sections.
        assert {"/approvals/badge", "/", "/approvals"} <= paths, paths

        # The page's live stream stays open (it answers once it ends).
        stream = asyncio.create_task(officer.get("/live/events", headers={"HX-Request": "true"}))
        try:
            # The officer walks away; the queue keeps changing, so every live block keeps
            # re-asking, for twice the idle limit.
            redirects: set[str] = set()
            deadline = time.monotonic() + 2 * idle + 0.5
            while time.monotonic() < deadline:
                for path, headers in refreshes:
                    answer = await officer.get(path, headers=headers)
                    redirects.add(answer.headers.get("hx-redirect") or "")
                await asyncio.sleep(0.3)
            # The page's own requests found the session idle, and said so.
            expired = [r for r in redirects if r.startswith("/login?expired=1")]
            assert expired, "background requests kept the session alive"
            # Back at the desk: the session is over.
            back = await officer.get("/")
            assert back.status_code == 303
            assert back.headers["location"].startswith("/login")
            # And the stream said so and ended by itself.
            ended = await asyncio.wait_for(stream, timeout=10)
            assert "event: session-ended" in ended.text
        finally:
            stream.cancel()


async def test_a_background_refresh_leaves_last_seen_and_a_click_moves_it(console_app):
    app = console_app(session_idle_seconds=60)
    async with asgi_client(app) as officer:
        session_id = session_cookie(await sign_in(officer, "officer@demo.bank"))
        assert session_id
        home = await officer.get("/")
        signed_in_at = await stored_last_seen(app, session_id)
        assert signed_in_at is not None
        await asyncio.sleep(0.05)
        for path, headers in live_refreshes(home.text):
            answer = await officer.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.status_code)
        assert await stored_last_seen(app, session_id) == signed_in_at

        # last_seen moves in steps (issue 11: a click does not rewrite the session each
        # time): as if the officer had been away for a step and a bit.
        await rewind_last_seen(app, session_id, last_seen_step(console_state(app)) + 0.5)
        earlier = await stored_last_seen(app, session_id)
        assert earlier is not None
        for path, headers in live_refreshes(home.text):
            assert (await officer.get(path, headers=headers)).status_code == 200
        assert await stored_last_seen(app, session_id) == earlier

        # An attacker-chosen header can only make a request *not* count; a person's boosted
        # navigation (no such header) counts.
        clicked = await officer.get(
            "/approvals", headers={"HX-Request": "true", "HX-Boosted": "true"}
        )
        assert clicked.status_code == 200
        moved = await stored_last_seen(app, session_id)
        assert moved is not None and moved > earlier


async def test_clicks_within_a_step_leave_the_stored_session_alone(console_app):
    app = console_app(session_idle_seconds=60)
    async with asgi_client(app) as officer:
        session_id = session_cookie(await sign_in(officer, "officer@demo.bank"))
        assert session_id
        store = console_state(app).session_store
        stored = await store.get(session_id)
        # Within the step (3 s for a 60 s idle limit): the page is served, nothing written.
        page = await officer.get("/approvals")
        assert page.status_code == 200
        assert not [c for c in page.headers.get_list("set-cookie") if "bd_session" in c]
        assert await store.get(session_id) == stored
        # A step later, the next click moves last_seen once (and sets the cookie again).
        await rewind_last_seen(app, session_id, last_seen_step(console_state(app)) + 0.5)
        rewound = await stored_last_seen(app, session_id)
        assert rewound is not None
        page = await officer.get("/approvals")
        assert page.status_code == 200
        moved = await stored_last_seen(app, session_id)
        assert moved is not None and moved > rewound
        assert [c for c in page.headers.get_list("set-cookie") if "bd_session" in c]


async def test_the_live_stream_alone_is_not_activity(console_app):
    app = console_app(session_idle_seconds=60)
    async with asgi_client(app) as officer:
        session_id = session_cookie(await sign_in(officer, "officer@demo.bank"))
        assert session_id
        signed_in_at = await stored_last_seen(app, session_id)
        await asyncio.sleep(0.05)
        stream = asyncio.create_task(officer.get("/live/events"))
        try:
            # The stream opens and its headers go out (that is when a session is written).
            await asyncio.sleep(0.5)
            assert await stored_last_seen(app, session_id) == signed_in_at
        finally:
            stream.cancel()
