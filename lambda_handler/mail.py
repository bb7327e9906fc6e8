"""Building a MIME email and handing it to SES, an SMTP server or a folder of .eml files.

The web app's relay uses the same classes for confirmations, so every email of the
system leaves through one of these three doors.
"""
from __future__ import annotations

import os
import smtplib
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Iterable, Protocol


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


def build_message(*, sender: str, recipient: str, subject: str, text: str, html: str,
                  attachments: Iterable[Attachment] = (), headers: dict[str, str] | None = None
                  ) -> EmailMessage:
    """A multipart/alternative email (plain text first, then HTML), mixed if there are attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        message.add_attachment(attachment.content, maintype=attachment.maintype, subtype=attachment.subtype,
                               filename=attachment.filename, params=attachment.params)
    return message


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip("> ") or "localhost"


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery, or raise."""


class SesMailer:
    """SES v2 ``SendEmail`` with raw content (the only form that carries attachments).

    No ``Destination``: SES then takes the recipients from the message's own headers,
    so what is sent and where it goes cannot disagree.
    """

    def __init__(self, client: Any):
        self.client = client

    def send(self, message: EmailMessage) -> None:
        self.client.send_email(FromEmailAddress=str(message["From"]),
                               Content={"Raw": {"Data": message.as_bytes()}})


@dataclass
class SmtpMailer:
    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 15.0

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls()
            if self.username:
                server.login(self.username, self.password)
            server.send_message(message)


@dataclass
class FolderMailer:
    """One ``.eml`` file per message, for development: open them with any mail program."""

    folder: Path

    def send(self, message: EmailMessage) -> None:
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        final = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        # Written under another name first, so a reader never sees half a message.
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(message.as_bytes())
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
