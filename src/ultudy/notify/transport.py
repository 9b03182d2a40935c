"""Where an email goes: an SMTP server (`ULTUDY_SMTP_URL`), or with none configured the
outbox, a directory of `.eml` files in the data dir that the dev page `/outbox` shows."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ultudy.config import Settings
from ultudy.db.types import utcnow
from ultudy.errors import ConfigError

SMTP_PORTS = {"smtp": 587, "smtps": 465}


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return Smtp.from_url(
            settings.smtp_url,
            timeout_s=settings.smtp_timeout_s,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )
    return Outbox(outbox_dir(settings))


@dataclass(frozen=True)
class Outbox:
    directory: Path

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message.as_bytes())

    def _write(self, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(data)
        os.replace(partial, self.directory / name)  # a reader never sees half a message


@dataclass(frozen=True, kw_only=True)
class Smtp:
    """smtp://user:password@host:587 upgrades with STARTTLS when the server offers it
    (`?starttls=required` insists on it); smtps://…:465 speaks TLS from the start."""

    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None
    timeout_s: float
    ca_file: str | None = None  # None: the system's CAs

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float, ca_file: str | None = None) -> Smtp:
        parts = urlsplit(url)
        if parts.scheme not in SMTP_PORTS or not parts.hostname:
            raise ConfigError("ULTUDY_SMTP_URL must look like smtp://user:pw@host:587 or smtps://…")
        required = "starttls=required" in parts.query
        return cls(
            hostname=parts.hostname,
            port=parts.port or SMTP_PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls=True if required else None,  # None: when the server offers it
            timeout_s=timeout_s,
            ca_file=ca_file,
        )

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout_s,
            cert_bundle=self.ca_file,
        )
