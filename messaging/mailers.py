"""Handing an email to SES, an SMTP server or a folder of .eml files.

The reminder function sends reminders through SES; the web app sends confirmations and
account emails through SES, SMTP or the folder. Every email of the system leaves
through one of these three doors.
"""
from __future__ import annotations

import os
import smtplib
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery, or raise."""


class SesMailer:
    """SES v2 ``SendEmail`` with raw content (the only form that carries attachments).

    No ``Destination``: SES then takes the recipients from the message's own headers,
    so what is sent and where it goes cannot disagree. ``client`` is a boto3 ``sesv2``
    client made by the caller, so that this package needs no boto3 of its own.
    """

    def __init__(self, client: Any):
        self.client = client

    def send(self, message: EmailMessage) -> str | None:
        """Returns SES's message id (kept in the delivery records)."""
        response = self.client.send_email(FromEmailAddress=str(message["From"]),
                                          Content={"Raw": {"Data": message.as_bytes()}})
        return response.get("MessageId") if isinstance(response, dict) else None


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
