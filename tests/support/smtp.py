"""A real SMTP server for the notification tests (aiosmtpd), in the test's event loop on a
port the OS picks. It stands in for the external mail relay, which cannot exist here."""

from __future__ import annotations

import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[str, Inbox]]:
    """Yields the `ULTUDY_SMTP_URL` of a running server and what it received."""
    import asyncio

    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="localhost"), host="127.0.0.1", port=0
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        server.close()
        await server.wait_closed()


def closed_port_url() -> str:
    """An SMTP URL nobody answers on (a port the OS gave us and we closed again)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"smtp://127.0.0.1:{port}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made with the system's openssl."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@asynccontextmanager
async def secure_smtp_server(
    directory: Path, *, implicit_tls: bool, user: str, password: str
) -> AsyncIterator[tuple[str, Inbox, Path]]:
    """A server that takes mail only after TLS (STARTTLS, or TLS from the first byte) and
    AUTH with `user`/`password`; yields its URL (credentials included), the inbox and the
    CA file that verifies it."""
    import asyncio

    cert, key = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def check(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> Any:
        ok = data.login.decode() == user and data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    inbox = Inbox()
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        # With TLS from the first byte aiosmtpd does not see the TLS (it knows STARTTLS
        # only), so it must not require TLS for AUTH, and warns about that: it is there.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SMTP(
                inbox,
                hostname="localhost",
                tls_context=None if implicit_tls else context,
                require_starttls=not implicit_tls,
                auth_required=True,
                authenticator=check,
                auth_require_tls=not implicit_tls,
            )

    server = await loop.create_server(
        protocol,
        host="127.0.0.1",
        port=0,
        ssl=context if implicit_tls else None,
    )
    port = server.sockets[0].getsockname()[1]
    scheme = "smtps" if implicit_tls else "smtp"
    try:
        yield f"{scheme}://{user}:{password}@127.0.0.1:{port}", inbox, cert
    finally:
        server.close()
        await server.wait_closed()
