"""The three ways out for an email: SES (see test_handler), SMTP and a folder of .eml files."""
from __future__ import annotations

import socketserver
import threading

import pytest

from messaging.mailers import FolderMailer, SmtpMailer
from messaging.message import Attachment, build_message
from tests.reminders.aws_stack import parse_raw


class TinySmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept messages and keep them (no AUTH, no TLS)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages: list[tuple[str, list[str], bytes]] = []


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 tiny ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 tiny")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append((sender, recipients, data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server():
    server = TinySmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def a_message():
    return build_message(sender="Test Clinic <appointments@clinic.test>", recipient="pat@example.test",
                         subject="Your appointment", text="Hello Pat", html="<p>Hello Pat</p>",
                         attachments=[Attachment("appointment.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                                                 "text", "calendar", {"method": "PUBLISH"})])


def test_smtp_mailer_delivers_to_the_recipient(smtp_server):
    SmtpMailer(host="127.0.0.1", port=smtp_server.server_address[1]).send(a_message())
    [(sender, recipients, data)] = smtp_server.messages
    assert (sender, recipients) == ("appointments@clinic.test", ["pat@example.test"])
    assert parse_raw(data)["Subject"] == "Your appointment"


def test_smtp_failure_raises_for_the_caller_to_retry():
    with pytest.raises(OSError):
        SmtpMailer(host="127.0.0.1", port=1, timeout=2).send(a_message())


def test_folder_mailer_leaves_no_temporary_files(tmp_path):
    FolderMailer(tmp_path).send(a_message())
    assert [path.suffix for path in tmp_path.iterdir()] == [".eml"]
