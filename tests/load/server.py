"""``python -m app core`` (or ``run``) as a subprocess, for the load suite and the benchmarks.

Same contract as :class:`tests.live_server.LiveServer` (which always starts ``run``):
the server inherits the environment plus ``env``, so prepare its database first.
"""

import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping

import httpx

from tests.live_server import HEALTH_PATH, ROOT, LiveServer


class CoreServer(LiveServer):
    """A ``branchdesk`` server command (``core`` by default) on a free port of 127.0.0.1."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        command: str = "core",
    ) -> None:
        super().__init__(env, startup_timeout)
        self.command = command

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> "CoreServer":
        self._log = tempfile.NamedTemporaryFile(prefix="branchdesk-load-", suffix=".log")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "app", self.command],
            cwd=ROOT,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self.output()}")
            try:
                if httpx.get(self.base_url + HEALTH_PATH, timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer in time:\n{self.output()}")
