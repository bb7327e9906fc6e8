"""Text messages: the GSM-7 alphabet, segment counting, and the doors an SMS leaves by.

Standard library only, like the rest of :mod:`messaging`: the reminder function's zip
carries it, and the SNS sender is given its boto3 client by its caller.

Length. An SMS of at most 160 GSM-7 characters (septets; a character of the extension
table such as ``€`` or ``[`` costs two) is one segment; longer ones are split into
segments of 153. A message with any character outside GSM-7 is sent as UCS-2: 70
characters in one segment, 67 per segment beyond. :func:`to_gsm7` transliterates what it
can (``ł`` -> ``l``, ``ő`` -> ``o``, curly quotes -> straight ones) so that Latin names stay in
GSM-7; a name in another script (Cyrillic, Greek capitals aside, Arabic, Chinese...) is
kept as it is and the message goes as UCS-2, in more segments (see docs/reminders.md).
"""
from __future__ import annotations

import os
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

#: The GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: The extension table: two septets each (an escape, then the character).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
#: Letters that Unicode does not decompose into a GSM-7 letter and an accent.
TRANSLITERATIONS = {
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th", "œ": "oe", "Œ": "OE",
    "ı": "i", "ŀ": "l", "Ŀ": "L", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ĸ": "k",
    "‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...",
    "\u00a0": " ", "\u202f": " ", "·": ".", "•": "-",
}
SINGLE_SEGMENT = {"GSM-7": 160, "UCS-2": 70}
MULTI_SEGMENT = {"GSM-7": 153, "UCS-2": 67}


def is_gsm7(text: str) -> bool:
    return all(character in GSM7_BASIC or character in GSM7_EXTENDED for character in text)


def to_gsm7(text: str) -> str:
    """``text`` with every character GSM-7 lacks replaced by its nearest GSM-7 spelling, where there is one.

    Characters with no Latin spelling (another script) are kept: the message then goes as UCS-2.
    """
    out = []
    for character in text:
        if character in GSM7_BASIC or character in GSM7_EXTENDED:
            out.append(character)
        elif character in TRANSLITERATIONS:
            out.append(TRANSLITERATIONS[character])
        else:
            base = "".join(part for part in unicodedata.normalize("NFKD", character)
                           if not unicodedata.combining(part))
            # "é" is in GSM-7 as it is; "ő" decomposes to "o" + an accent GSM-7 lacks.
            out.append(base if base and is_gsm7(base) else character)
    return "".join(out)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def length(text: str) -> int:
    """Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return sum(2 if character in GSM7_EXTENDED else 1 for character in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS segments the text is sent in."""
    kind, size = encoding(text), length(text)
    if size <= SINGLE_SEGMENT[kind]:
        return 1
    per_segment = MULTI_SEGMENT[kind]
    return -(-size // per_segment)


def fits_one_segment(text: str) -> bool:
    return segments(text) == 1


# -- senders ---------------------------------------------------------------------------------


class SmsSender(Protocol):
    def is_opted_out(self, phone: str) -> bool:
        """True if the number asked to receive no more SMS (replied STOP)."""

    def send(self, phone: str, text: str) -> str | None:
        """Hand one SMS over for delivery and return the provider's message id, or raise."""


class SnsSmsSender:
    """Amazon SNS ``Publish`` to a phone number, as a transactional message.

    ``client`` is a boto3 ``sns`` client made by the caller. The sender ID (alphanumeric, where
    the destination country allows one) and the origination number (a number the account
    owns) are sent when set; the destination country decides which one is used.
    """

    def __init__(self, client: Any, sender_id: str = "", origination_number: str = ""):
        self.client = client
        self.sender_id = sender_id
        self.origination_number = origination_number

    def attributes(self) -> dict[str, dict[str, str]]:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        if self.origination_number:
            attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String",
                                                          "StringValue": self.origination_number}
        return attributes

    def is_opted_out(self, phone: str) -> bool:
        return bool(self.client.check_if_phone_number_is_opted_out(phoneNumber=phone).get("isOptedOut"))

    def send(self, phone: str, text: str) -> str | None:
        response = self.client.publish(PhoneNumber=phone, Message=text, MessageAttributes=self.attributes())
        return response.get("MessageId")


@dataclass
class FolderSmsSender:
    """One ``.txt`` file per SMS, for development (the embedded mode's ``instance/sms/``).

    ``opted_out`` stands in for SNS's opted-out list (tests).
    """

    folder: Path
    sender_id: str = ""
    opted_out: frozenset[str] = frozenset()

    def is_opted_out(self, phone: str) -> bool:
        return phone in self.opted_out

    def send(self, phone: str, text: str) -> str | None:
        folder = Path(self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex[:12]
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        content = (f"To: {phone}\nFrom: {self.sender_id or '-'}\nType: Transactional\n"
                   f"Encoding: {encoding(text)}, {segments(text)} segment(s)\n\n{text}\n")
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(content)
            os.replace(temporary, folder / f"{stamp}-{message_id}.txt")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return f"local-{message_id}"


def read_sms_file(path: Path) -> dict[str, str]:
    """A file written by :class:`FolderSmsSender`, as ``{"to", "from", "text"}`` (tests, people)."""
    head, _, body = Path(path).read_text(encoding="utf-8").partition("\n\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    return {"to": fields["To"], "from": fields["From"], "text": body.rstrip("\n")}
