"""GSM-7 and segments, and the two doors an SMS leaves by (SNS in moto, a folder)."""
from __future__ import annotations

import pytest
from moto import mock_aws

from messaging import sms
from messaging.sms import FolderSmsSender, SnsSmsSender, read_sms_file
from tests.reminders.aws_stack import REGION, SESSION, use_fake_credentials


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch, tmp_path):
    use_fake_credentials(monkeypatch, tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("€" * 80, 1), ("€" * 81, 2),           # extension characters cost two septets
    ("é" * 160, 1),                          # é is in GSM-7's basic set
    ("ő" * 70, 1), ("ő" * 71, 2), ("ő" * 134, 2), ("ő" * 135, 3),  # ő is not: UCS-2
])
def test_segments_follow_the_encoding(text, expected):
    assert sms.segments(text) == expected


@pytest.mark.parametrize(("name", "spelt"), [
    ("Łukasz Wałęsa", "Lukasz Walesa"), ("Zoë Brontë", "Zoe Bronte"), ("Dvořák", "Dvorak"),
    ("Þóra Ægisdóttir", "Thora Ægisdottir"), ("José Müller", "José Müller"), ("O’Brien – GP", "O'Brien - GP"),
])
def test_latin_names_are_spelt_in_gsm7(name, spelt):
    assert sms.to_gsm7(name) == spelt and sms.is_gsm7(spelt)


def test_a_name_in_another_script_is_kept_and_makes_the_text_ucs2():
    assert sms.to_gsm7("Дмитрий") == "Дмитрий"
    assert sms.encoding("Hello Дмитрий") == "UCS-2"


def test_the_folder_sender_writes_one_file_per_sms(tmp_path):
    sender = FolderSmsSender(tmp_path / "sms", sender_id="Clinic")
    sender.send("+447700900123", "First")
    sender.send("+447700900124", "Second")
    files = sorted((tmp_path / "sms").glob("*.txt"))
    assert sorted(read_sms_file(path)["text"] for path in files) == ["First", "Second"]
    assert {read_sms_file(path)["from"] for path in files} == {"Clinic"}


def test_sns_publishes_a_transactional_sms_with_the_sender_id():
    with mock_aws():
        client = SESSION.client("sns", region_name=REGION)
        sender = SnsSmsSender(client, sender_id="Riverside", origination_number="+447700900001")
        message_id = sender.send("+447700900123", "Reminder: Tue 2 Jun, 10:00 BST")
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        assert sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages[message_id] == (
            "+447700900123", "Reminder: Tue 2 Jun, 10:00 BST")
    attributes = sender.attributes()
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    assert attributes["AWS.SNS.SMS.SenderID"]["StringValue"] == "Riverside"
    assert attributes["AWS.MM.SMS.OriginationNumber"]["StringValue"] == "+447700900001"


def test_sns_says_whether_a_number_opted_out():
    # moto 5.2.5 answers CheckIfPhoneNumberIsOptedOut with "yes" for numbers ending in 99.
    with mock_aws():
        sender = SnsSmsSender(SESSION.client("sns", region_name=REGION))
        assert (sender.is_opted_out("+447700900199"), sender.is_opted_out("+447700900123")) == (True, False)
