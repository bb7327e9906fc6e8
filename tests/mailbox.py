"""The emails the app sent, as their recipients get them: the relay sends what requests queued (as
the worker does after their responses), and the local backend leaves each in the mail folder."""
from __future__ import annotations

import email
import re
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit


def sent(app, to: str | None = None) -> list[Message]:
    """Every email sent so far (to ``to`` only, if given), oldest first, once the relay has run."""
    from reminders.relay import relay_once
    from reminders.state import get_state

    relay_once(app)
    folder = Path(get_state(app).settings.mail_folder)
    if not folder.exists():
        return []
    messages = [email.message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]
    return [message for message in messages if to is None or message["To"] == to]


def text(message: Message) -> str:
    part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def link(message: Message, path: str) -> str:
    """The link in the email's text that leads to ``path``."""
    return re.search(rf"(http\S+{re.escape(path)}\S*)", text(message)).group(1)


def path_of(url: str) -> str:
    """The path and query of ``url``, for a test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def finish_registration(app, client, address: str):
    """Follow the registration link emailed to ``address`` and confirm: the answer to that confirmation."""
    [message] = [message for message in sent(app, address) if message["X-Carebook-Email"] == "registration"]
    landing = client.get(path_of(link(message, "/register/confirm")))
    assert landing.status_code == 302, landing.status_code
    return client.submit("/register/confirm")
