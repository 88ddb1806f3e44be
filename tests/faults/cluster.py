"""A throwaway PostgreSQL cluster, Redis server and core processes for the fault suites.

Nothing here touches the shared services on 5432 / 6379: every fault suite starts its own
cluster (Debian's PostgreSQL binaries, run as the ``postgres`` user when we are root) and
its own ``redis-server`` on free ports, in a temporary folder, and removes both when done,
even when the test fails (``close()`` from ``finally`` and from ``atexit``). Every wait has
a timeout.

    with FaultStack(core_workers=2) as stack:      # PG + Redis + migrated, seeded database
        stack.pg.terminate_backends()              # the core's connections die
        stack.pg.restart()                         # the server restarts (fast shutdown)
        stack.redis.restart()                      # Redis restarts, empty
        stack.redis.make_unreachable(3.0)          # Redis stops answering for 3 s (SIGSTOP)
        stack.core.kill_worker()                   # kill -9 of one core process
        stack.core.wait_ready()                    # ... restarted by uvicorn's supervisor

The core runs as ``python -m app core --workers N``: uvicorn's own supervisor (0.30+)
checks its worker processes every half second and starts a new one in place of one that
died (``kill -9`` included); :class:`Supervised` does the same for a single command (the
worker), as systemd's ``Restart=always`` would.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("FAULTS_REDIS_SERVER", "redis-server")
HEALTH = "/api/v1/cba/health"


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_binaries() -> None:
    """Fail (never skip: a skipped fault suite proves nothing) when a throwaway cluster
    cannot start here, saying why."""
    reason = missing_binaries()
    if reason is not None:
        pytest.fail(f"the fault suite needs its own PostgreSQL and Redis: {reason}")


def missing_binaries() -> str | None:
    """Why a throwaway cluster cannot start here, or ``None``."""
    for name in ("initdb", "pg_ctl", "postgres", "psql"):
        if not (PG_BIN / name).exists():
            return f"PostgreSQL binaries not found ({PG_BIN / name}); set FAULTS_PG_BIN"
    if shutil.which(REDIS_SERVER) is None:
        return f"{REDIS_SERVER} not found on PATH; set FAULTS_REDIS_SERVER"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the cluster as"
    return None


def _wait(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``check`` until true; seconds it took. Raises ``TimeoutError`` after ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            if check():
                return time.monotonic() - started
        except Exception:  # any failure of the probe means "not yet"
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _kill_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``timeout``; a stopped group is resumed."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGCONT)
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    # Children that outlived the leader (uvicorn's workers) go with the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class PostgresCluster:
    """A PostgreSQL cluster of its own: ``initdb`` in a temporary folder, a free port.

    Args:
        settings: Extra ``postgresql.conf`` lines (``{"archive_mode": "on", ...}``).
        base_dir: Where to make the temporary folder (default: the system's).
    """

    def __init__(
        self, settings: Mapping[str, str] | None = None, base_dir: Path | None = None
    ) -> None:
        self.port = free_port()
        self.settings = dict(settings or {})
        self._base_dir = base_dir
        self.root: Path | None = None
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self.restarts = 0

    # -- commands as the cluster's owner

    def run(
        self, *argv: str | Path, timeout: float = 120.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """A PostgreSQL binary (``initdb``, ``pg_ctl``, ``pg_basebackup``…) as ``postgres``."""
        command = [str(PG_BIN / str(argv[0])), *map(str, argv[1:])]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=self.root or "/",
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def owned_dir(self, name: str) -> Path:
        """A folder under the cluster's temporary root that the ``postgres`` user owns."""
        assert self.root is not None, "start() first"
        path = self.root / name
        path.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
        return path

    # -- life cycle

    def start(self) -> Self:
        """``initdb`` (first time), then start the server and wait until it accepts."""
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="branchdesk-faults-pg-", dir=self._base_dir))
            self.root.chmod(0o755)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self.data_dir = self.root / "data"
            self.log_path = self.root / "postgres.log"
            _REGISTRY.add(self)
            self.run(
                "initdb",
                "-D",
                self.data_dir,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            )
            conf = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
                "max_connections": "200",
                "fsync": "off",  # a throwaway cluster: crash safety of the OS is not tested
                "full_page_writes": "off",
                "synchronous_commit": "off",
                "shared_buffers": "64MB",
                **self.settings,
            }
            lines = "".join(f"{key} = {value}\n" for key, value in conf.items())
            with (self.data_dir / "postgresql.conf").open("a") as file:  # stays postgres's
                file.write("\n# the fault suite's throwaway cluster\n" + lines)
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        assert self.data_dir is not None and self.log_path is not None
        self.run("pg_ctl", "-D", self.data_dir, "-l", self.log_path, "-w", "-t", "60", "start")
        _wait(self.ready, 30, "postgres")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop`` (``fast``: connections are cut, transactions roll back)."""
        if self.data_dir is None or not (self.data_dir / "postmaster.pid").exists():
            return
        self.run("pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> float:
        """Stop the server, stay down ``down_for`` seconds, start it; seconds it took."""
        started = time.monotonic()
        self.stop(mode)
        time.sleep(down_for)
        self._pg_ctl_start()
        self.restarts += 1
        return time.monotonic() - started

    def make_unreachable(self, seconds: float) -> float:
        """The database is gone for ``seconds`` (stopped, then started again)."""
        return self.restart("fast", down_for=seconds)

    def close(self) -> None:
        """Stop at once and remove every file (safe to call twice)."""
        _REGISTRY.discard(self)
        if self.data_dir is not None:
            with contextlib.suppress(Exception):
                self.stop("immediate")
            pid_file = self.data_dir / "postmaster.pid"
            if pid_file.exists():  # pg_ctl could not stop it: the postmaster goes by its pid
                with contextlib.suppress(Exception):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root = self.data_dir = None

    # -- SQL

    def url(self, database: str = "branchdesk") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres", timeout: float = 30.0) -> str:
        """Run SQL with ``psql`` over TCP; its unaligned, tuples-only output."""
        result = subprocess.run(
            [
                *(str(PG_BIN / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database),
                *("-c", sql),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()

    def ready(self) -> bool:
        return self.psql("SELECT 1", timeout=10) == "1"

    def create_database(self, name: str = "branchdesk") -> str:
        """``CREATE DATABASE name``; its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def terminate_backends(self, database: str | None = "branchdesk") -> int:
        """``pg_terminate_backend`` of every client connection (to ``database``, or all but
        ours); how many were terminated."""
        where = "pid <> pg_backend_pid() AND backend_type = 'client backend'"
        if database is not None:
            where += f" AND datname = '{database}'"
        sql = f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {where}"
        out = self.psql(sql)
        return int(out or 0)

    def connections(self, database: str = "branchdesk") -> int:
        return int(
            self.psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'") or 0
        )


class RedisServer:
    """A ``redis-server`` of its own on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.restarts = 0
        self._paused = threading.Lock()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="branchdesk-faults-redis-"))
            self._log = (self.root / "redis.log").open("ab")
            _REGISTRY.add(self)
        self._process = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.root)),
                *("--protected-mode", "no"),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait(self.ping, 20, "redis-server")
        return self

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self._process is not None:
            _kill_group(self._process)
            self._process = None

    def restart(self, down_for: float = 0.0) -> float:
        """Stop (its data is gone: no persistence), stay down, start on the same port."""
        started = time.monotonic()
        self.stop()
        time.sleep(down_for)
        # The port was ours a moment ago; TIME_WAIT does not stop a listener (SO_REUSEADDR).
        self.start()
        self.restarts += 1
        return time.monotonic() - started

    def make_unreachable(self, seconds: float) -> float:
        """Redis accepts connections but answers nothing for ``seconds`` (SIGSTOP, SIGCONT):
        the worst kind of outage for a client without timeouts."""
        assert self._process is not None
        with self._paused:
            os.kill(self._process.pid, signal.SIGSTOP)
            try:
                time.sleep(seconds)
            finally:
                os.kill(self._process.pid, signal.SIGCONT)
        return seconds

    def close(self) -> None:
        _REGISTRY.discard(self)
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


class CoreProcesses:
    """``python -m app core --workers N`` on a free port: N core processes, one socket.

    uvicorn's supervisor (the parent) restarts a worker that dies; :meth:`kill_worker`
    kills one with SIGKILL and :meth:`wait_ready` waits for the replacement.
    """

    def __init__(
        self, env: Mapping[str, str], workers: int = 2, startup_timeout: float = 60.0
    ) -> None:
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.base_url + "/api/v1/cba"
        self._env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.kills = 0
        self._killed: set[int] = set()  # until reaped, a killed worker still shows as a child

    def start(self) -> Self:
        self._log = tempfile.NamedTemporaryFile(prefix="branchdesk-faults-core-", suffix=".log")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "app", "core", "--workers", str(self.workers)],
            cwd=ROOT,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # one process group: stop() takes the workers along
        )
        _REGISTRY.add(self)
        self.wait_ready(self._startup_timeout)
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def worker_pids(self) -> list[int]:
        """The live worker processes (children of uvicorn's parent that serve requests)."""
        if self._process is None or self._process.poll() is not None:
            return []
        pids: list[int] = []
        for task in Path(f"/proc/{self._process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in (task / "children").read_text().split()]
        workers = []
        for pid in pids:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                stat = Path(f"/proc/{pid}/stat").read_text()
                dead = stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"} or pid in self._killed
                if b"spawn_main" in cmdline and not dead:
                    workers.append(pid)
        return sorted(workers)

    def healthy(self) -> bool:
        return httpx.get(self.base_url + HEALTH, timeout=2.0).status_code == 200

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until all N workers run and the API answers its health check; seconds."""
        assert self._process is not None

        def ready() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise_exit()
            return len(self.worker_pids()) >= self.workers and self.healthy()

        def raise_exit() -> None:
            raise RuntimeError(f"the core's supervisor exited:\n{self.output()[-4000:]}")

        try:
            return _wait(ready, timeout, "core processes", interval=0.1)
        except TimeoutError:
            if self._process.poll() is not None:
                raise_exit()
            raise

    def kill_worker(self, pick: Callable[[Sequence[int]], int] | None = None) -> int:
        """``kill -9`` of one core worker (``pick`` chooses among the pids); its pid."""
        pids = self.worker_pids()
        if not pids:
            raise RuntimeError("no core worker to kill")
        pid = pick(pids) if pick is not None else pids[0]
        os.kill(pid, signal.SIGKILL)
        self._killed.add(pid)
        self.kills += 1
        return pid

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        _REGISTRY.discard(self)
        if self._process is not None:
            _kill_group(self._process, timeout=15)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    close = stop


class Supervised:
    """One command kept running, as systemd's ``Restart=always`` would: when it exits (or
    is killed) it is started again after ``restart_delay`` seconds, until :meth:`stop`."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        restart_delay: float = 0.2,
        name: str = "supervised",
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.restart_delay = restart_delay
        self.name = name
        self.starts = 0
        self.kills = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._log = tempfile.NamedTemporaryFile(prefix=f"branchdesk-faults-{name}-", suffix=".log")

    def start(self) -> Self:
        _REGISTRY.add(self)
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name=f"{self.name}-sup", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.starts += 1

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            process = self._process
            if process is not None and process.poll() is not None:
                # Its children (if any) go too: the unit's whole cgroup, in systemd's words.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                if self._stop.wait(self.restart_delay):
                    return
                self._spawn()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def kill(self) -> int | None:
        """``kill -9`` of the running process (the watcher starts a new one); its pid."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                self.kills += 1
        return pid

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        _REGISTRY.discard(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._process is not None:
                _kill_group(self._process)

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            self._log.close()


class FaultStack:
    """PostgreSQL + Redis of their own, a migrated and seeded database, and (optionally)
    the core processes on them. Everything is removed on exit, on failure too.

    Args:
        core_workers: Core processes to start (0: none; start them with :meth:`start_core`).
        env: Extra environment for every process this stack starts.
        pg_settings: Extra ``postgresql.conf`` lines (WAL archiving for a backup drill…).
    """

    def __init__(
        self,
        core_workers: int = 2,
        env: Mapping[str, str] | None = None,
        pg_settings: Mapping[str, str] | None = None,
    ) -> None:
        self.core_workers = core_workers
        self.pg = PostgresCluster(pg_settings)
        self.redis = RedisServer()
        self.core: CoreProcesses | None = None
        self.var_dir = Path(tempfile.mkdtemp(prefix="branchdesk-faults-var-"))
        self._extra_env = dict(env or {})
        self._closers: list[Callable[[], None]] = []
        self.database = "branchdesk"

    @property
    def env(self) -> dict[str, str]:
        """The environment of every process on this stack (the suite's own, overridden)."""
        return {
            **os.environ,
            "DATABASE_URL": self.pg.url(self.database),
            "REDIS_URL": self.redis.url(0),
            "BRANCHDESK_VAR_DIR": str(self.var_dir),
            "RATE_LIMIT_PER_IP": "100000000",
            "RATE_LIMIT_PER_CREDENTIAL": "100000000",
            "RATE_LIMIT_FAILED_LOGINS": "1000000",
            "WEBHOOK_ALLOWED_TARGETS": "http://127.0.0.1:*",
            "CONSOLE_WEBHOOK_URL": "http://127.0.0.1:9/webhooks/cba",
            "PYTHONPATH": str(ROOT),
            **self._extra_env,
        }

    def branchdesk(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """``python -m app <args>`` on this stack (``db upgrade``, ``ledger verify``…)."""
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> Self:
        try:
            self.pg.start()
            self.pg.create_database(self.database)
            self.redis.start()
            for step in (("db", "upgrade"), ("seed", "demo")):
                done = self.branchdesk(*step)
                if done.returncode != 0:
                    raise RuntimeError(f"branchdesk {' '.join(step)}:\n{done.stdout}{done.stderr}")
            if self.core_workers:
                self.start_core(self.core_workers)
        except BaseException:
            self.close()
            raise
        return self

    def start_core(self, workers: int = 2, env: Mapping[str, str] | None = None) -> CoreProcesses:
        self.core = CoreProcesses({**self.env, **(env or {})}, workers=workers).start()
        self._closers.append(self.core.stop)
        return self.core

    def supervise(self, *args: str, name: str = "worker") -> Supervised:
        """``python -m app <args>`` kept running (e.g. ``worker``)."""
        process = Supervised([sys.executable, "-m", "app", *args], self.env, name=name).start()
        self._closers.append(process.close)
        return process

    def close(self) -> None:
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()
        self.redis.close()
        self.pg.close()
        shutil.rmtree(self.var_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Registry:
    """What is still running at interpreter exit gets closed (a test killed by Ctrl-C)."""

    def __init__(self) -> None:
        self._items: list[PostgresCluster | RedisServer | CoreProcesses | Supervised] = []
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def add(self, item: PostgresCluster | RedisServer | CoreProcesses | Supervised) -> None:
        with self._lock:
            if item not in self._items:
                self._items.append(item)

    def discard(self, item: object) -> None:
        with self._lock:
            if item in self._items:
                self._items.remove(item)

    def close_all(self) -> None:
        with self._lock:
            items = list(reversed(self._items))
        for item in items:
            with contextlib.suppress(Exception):
                item.close()


_REGISTRY = _Registry()
