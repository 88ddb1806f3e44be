"""Run the one-process server (``python -m app run``) as a subprocess for tests.

The server inherits the test environment (``DATABASE_URL``, ``REDIS_URL``,
``BRANCHDESK_VAR_DIR``, rate limits), so prepare the database first with
``tests.support.prepare_database(settings)``.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

ROOT = Path(__file__).resolve().parents[1]
HEALTH_PATH = "/api/v1/cba/health"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# What answers 200 once each command's server is up (the console alone has no API).
HEALTH_PATHS = {"run": HEALTH_PATH, "core": HEALTH_PATH, "console": "/login"}


class LiveServer:
    """``python -m app <command>`` on a free port of 127.0.0.1, stopped on exit.

    Args:
        env: Extra environment variables for the server (on top of ``os.environ``).
        startup_timeout: Seconds to wait for the server's health check.
        command: ``run`` (core + console in one process), ``core`` or ``console``.
        banking_api_url: The core a ``console`` process talks to (its ``BANKING_API_URL``).
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        command: str = "run",
        banking_api_url: str | None = None,
    ) -> None:
        self.command = command
        self.health_path = HEALTH_PATHS.get(command, HEALTH_PATH)
        self.killed = False
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        self.api_url = f"{self.base_url}/api/v1/cba"
        self._env = {
            **os.environ,
            "HOST": self.host,
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        # The console inside the server calls its own process over loopback; a console on
        # its own calls the core it is given.
        self._env.pop("BANKING_API_URL", None)
        if banking_api_url is not None:
            self._env["BANKING_API_URL"] = banking_api_url
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Self:
        """Start the server and wait until it answers its health check."""
        self._log = tempfile.NamedTemporaryFile(prefix=f"branchdesk-{self.command}-", suffix=".log")
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
                if httpx.get(self.base_url + self.health_path, timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer in time:\n{self.output()}")

    def output(self) -> str:
        """What the server printed so far."""
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s; ``killed`` says which)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.killed = True
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
