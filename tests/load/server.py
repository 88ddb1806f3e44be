"""``python -m app core`` (or ``run``) as a subprocess, for the load suite and the benchmarks.

Same contract as :class:`tests.live_server.LiveServer` (which starts ``run`` by default):
the server inherits the environment plus ``env``, so prepare its database first.
"""

from collections.abc import Mapping

from tests.live_server import LiveServer


class CoreServer(LiveServer):
    """A ``branchdesk`` server command (``core`` by default) on a free port of 127.0.0.1."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        command: str = "core",
    ) -> None:
        super().__init__(env, startup_timeout, command)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None
