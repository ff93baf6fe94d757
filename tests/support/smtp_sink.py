"""A real SMTP server on 127.0.0.1 (aiosmtpd, in its own thread) that keeps every mail it gets.

    with SmtpSink() as sink:          # or SmtpSink(credentials=("user", "secret"))
        ...settings with LEADBOT_SMTP_PORT=sink.port...
        mail = await sink.next_mail()  # waits in a worker thread, with a deadline

Mails are handed over through a thread-safe queue: the server thread puts, the test takes.
"""

from __future__ import annotations

import asyncio
import queue
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None  # the SMTP AUTH user, when the client authenticated

    def part(self, content_type: str) -> str:
        body = self.message.get_body(preferencelist=(content_type.split("/")[1],))
        assert body is not None and body.get_content_type() == content_type, f"no {content_type} part"
        content = body.get_content()  # type: ignore[attr-defined]
        assert isinstance(content, str)
        return content.replace("\r\n", "\n")  # SMTP carries CRLF line ends


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpSink:
    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self._mails: queue.Queue[ReceivedMail] = queue.Queue()
        self._credentials = credentials
        options: dict[str, Any] = {}
        if credentials is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()

    def _authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        message = BytesParser(policy=default_policy).parsebytes(
            raw if isinstance(raw, bytes) else raw.encode()
        )
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self._mails.put(ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos), message, login))
        return "250 Message accepted for delivery"

    async def next_mail(self, within: float = 5.0) -> ReceivedMail:
        """The next mail received; queue.Empty when none came `within` seconds."""
        return await asyncio.to_thread(self._mails.get, True, within)

    def received_nothing_more(self) -> bool:
        return self._mails.empty()
