"""Redis servers of a test's own, for fault injection: stopped, hung, flushed, restarted, filled,
failed over. Each runs on a free port in the test's temporary directory and is stopped by PID.

Missing binaries skip the test with the reason, except under ``CI=true``, where they fail it
(``.ci/run`` installs redis-server and redis-sentinel).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from .servers import BOOT_TIMEOUT_SECONDS, free_port, stop

SERVICE = "otcauth-test"


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        reason = f"{name} is not installed (Debian: apt-get install {name})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true the storage fault tests must run")
        pytest.skip(reason)
    return found


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
        s.settimeout(1)
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


def wait_until(condition: Any, what: str, timeout: float = BOOT_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s")
        time.sleep(0.05)


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000, so at most 55535) is free too."""
    for _ in range(100):
        port = random.randint(20_000, 55_535)
        with contextlib.ExitStack() as probes:
            try:
                for candidate in (port, port + 10_000):
                    probe = probes.enter_context(socket.socket(socket.AF_INET,
                                                               socket.SOCK_STREAM))
                    probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return port
    pytest.fail("no free pair of ports for a cluster node")


class RedisServer:
    """One redis-server (or redis-sentinel) process on a port of its own, restartable."""

    def __init__(self, directory: Path, *, args: Sequence[str] = (), program: str = "redis-server",
                 config: str | None = None, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.directory = directory / f"{program}-{self.port}"
        self.directory.mkdir(parents=True)
        self.program = binary(program)
        self.args = list(args)
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.program]
        if self.config is not None:  # sentinel: a config file it may rewrite
            conf = self.directory / "sentinel.conf"
            if not conf.exists():
                conf.write_text(self.config.format(port=self.port, dir=self.directory))
            command.append(str(conf))
        else:
            command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                        str(self.directory), "--save", "", "--appendonly", "no", *self.args]
        with (self.directory / "log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed command line
                command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: answers(self.port), f"{self.program} did not answer on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.resume()  # a stopped process cannot act on SIGTERM
            stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections; nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> Any:
        import redis  # noqa: PLC0415 - the redis extra

        return redis.Redis(port=self.port, socket_timeout=5)


@contextlib.contextmanager
def redis_server(directory: Path, *args: str) -> Iterator[RedisServer]:
    server = RedisServer(directory, args=args)
    try:
        yield server
    finally:
        server.stop()


SENTINEL_CONFIG = """port {{port}}
bind 127.0.0.1
dir {{dir}}
sentinel monitor {service} 127.0.0.1 {master} 2
sentinel down-after-milliseconds {service} 1000
sentinel failover-timeout {service} 5000
sentinel parallel-syncs {service} 1
"""


@contextlib.contextmanager
def sentinel_group(directory: Path, sentinels: int = 3) -> Iterator[tuple[RedisServer,
                                                                           RedisServer,
                                                                           list[RedisServer]]]:
    """A master, its replica, and ``sentinels`` sentinels watching them (quorum 2)."""
    started: list[RedisServer] = []
    try:
        # Replicas sync at once (the default waits 5 s for more replicas to share the sync).
        fast_sync = ["--repl-diskless-sync-delay", "0"]
        master = RedisServer(directory, args=fast_sync)
        started.append(master)
        replica = RedisServer(directory, args=[*fast_sync, "--replicaof", "127.0.0.1",
                                               str(master.port)])
        started.append(replica)
        wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up",
                   "the replica did not sync")
        config = SENTINEL_CONFIG.format(service=SERVICE, master=master.port)
        watchers = []
        for _ in range(sentinels):
            watcher = RedisServer(directory, program="redis-sentinel", config=config)
            started.append(watcher)
            watchers.append(watcher)
        yield master, replica, watchers
    finally:
        for server in reversed(started):
            server.stop()


def sentinel_uri(watchers: Sequence[RedisServer]) -> str:
    return ("redis+sentinel://" + ",".join(f"127.0.0.1:{w.port}" for w in watchers)
            + f"/{SERVICE}")


@contextlib.contextmanager
def redis_cluster(directory: Path, nodes: int = 3) -> Iterator[list[RedisServer]]:
    """``nodes`` masters sharing the 16384 slots, made by ``redis-cli --cluster create``."""
    started: list[RedisServer] = []
    try:
        for _ in range(nodes):
            started.append(RedisServer(directory, port=free_cluster_port(), args=[
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000"]))
        subprocess.run(  # noqa: S603 - fixed command line
            [binary("redis-cli"), "--cluster", "create",
             *(f"127.0.0.1:{node.port}" for node in started), "--cluster-yes"],
            check=True, capture_output=True, timeout=30)
        wait_until(lambda: all(node.client().cluster("info")["cluster_state"] == "ok"
                               for node in started), "the cluster did not come up")
        yield started
    finally:
        for server in started:
            server.stop()
