"""Issue 11: the embedded Valkey requires a password, random per data dir, kept in a file
only its owner can read, and every process of ours on that data dir finds it."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ultudy.embedded import EmbeddedValkey, resolve_redis_url


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path / "data")
    server.start()
    yield server
    server.stop()


def test_a_client_without_the_password_is_refused(broker: EmbeddedValkey) -> None:
    anonymous = redis.Redis(host="127.0.0.1", port=broker.port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.set("k", "v")
    anonymous.close()
    wrong = redis.Redis(host="127.0.0.1", port=broker.port, password="not-the-password")
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    wrong.close()
    client = redis.Redis.from_url(broker.url)
    assert client.ping()
    client.close()


def test_the_password_file_is_private_and_not_on_the_command_line(
    broker: EmbeddedValkey,
) -> None:
    password = broker.password_file.read_text()
    assert stat.S_IMODE(broker.password_file.stat().st_mode) == 0o600
    assert len(password) >= 32
    assert password in broker.url
    assert broker._proc is not None
    cmdline = Path(f"/proc/{broker._proc.pid}/cmdline").read_bytes()
    assert password.encode() not in cmdline  # any local user can read a command line


def test_another_process_on_the_data_dir_finds_the_server_and_its_password(
    broker: EmbeddedValkey, tmp_path: Path
) -> None:
    url, started = resolve_redis_url(None, tmp_path / "data")
    assert started is None  # shares the running server
    assert url == broker.url
    client = redis.Redis.from_url(url)
    assert client.ping()
    client.close()


def test_a_data_dir_from_before_passwords_gets_one_and_keeps_its_data(tmp_path: Path) -> None:
    old = EmbeddedValkey(tmp_path / "data")
    old.start()
    client = redis.Redis.from_url(old.url)
    client.set("queued", "job")
    client.close()
    old.stop()
    old.password_file.unlink()  # as a data dir made before this change

    server = EmbeddedValkey(tmp_path / "data")
    server.start()
    try:
        assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
        client = redis.Redis.from_url(server.url)
        assert client.get("queued") == b"job"  # the append-only file is still read
        client.close()
    finally:
        server.stop()


def test_a_password_file_others_can_read_is_made_private(tmp_path: Path) -> None:
    first = EmbeddedValkey(tmp_path / "data")
    first.start()
    first.stop()
    first.password_file.chmod(0o644)
    again = EmbeddedValkey(tmp_path / "data")
    again.start()
    try:
        assert stat.S_IMODE(again.password_file.stat().st_mode) == 0o600
        assert redis.Redis.from_url(again.url).ping()
    finally:
        again.stop()
