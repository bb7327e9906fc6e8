"""Phone numbers are read in the clinic's region, stored in E.164 and shown as people write them."""
from __future__ import annotations

import pytest

from carebook import phones
from carebook.phones import PhoneError


@pytest.mark.parametrize("typed", ["07700 900123", "07700900123", "+44 7700 900123", "(07700) 900-123",
                                   "+447700900123", " 07700 900123 "])
def test_a_number_is_stored_in_e164_however_it_is_written(typed):
    assert phones.parse(typed, "GB") == "+447700900123"


def test_a_number_without_country_code_is_read_in_the_clinic_region():
    assert phones.parse("06 12 34 56 78", "FR") == "+33612345678"
    assert phones.parse("020 7946 0018", "GB") == "+442079460018"


def test_a_number_with_a_country_code_keeps_its_country():
    assert phones.parse("+33 6 12 34 56 78", "GB") == "+33612345678"


@pytest.mark.parametrize("typed, message", [
    ("", "Enter a phone number"),
    ("call me", "Use digits"),
    ("=1+2", "Use digits"),
    ("0" * 40, "Use digits"),
    ("123", "not a valid phone number for GB"),
    ("020 7946 001", "not a valid phone number for GB"),
    ("+33 6 12", "not a valid phone number for FR"),
])
def test_a_bad_number_gets_a_clear_message(typed, message):
    with pytest.raises(PhoneError, match=message):
        phones.parse(typed, "GB")


def test_numbers_are_shown_nationally_in_the_clinic_region_and_internationally_otherwise():
    assert phones.display("+442079460018", "GB") == "020 7946 0018"
    assert phones.display("+33612345678", "GB") == "+33 6 12 34 56 78"
    assert phones.display("+442079460018", "FR") == "+44 20 7946 0018"


def test_a_number_kept_as_typed_is_shown_as_typed():
    assert phones.display("ring the ward", "GB") == "ring the ward"
    assert phones.display(None, "GB") == ""


def test_mobiles_are_told_from_landlines():
    assert phones.is_mobile("+447700900123")  # Ofcom's drama range: a fictional mobile
    assert phones.is_mobile("+447400123456")
    assert not phones.is_mobile("+442079460018")
    assert not phones.is_mobile("07700 900123")  # not E.164: kept as typed


def test_the_region_of_a_time_zone_comes_from_zone_tab(tmp_path):
    (tmp_path / "zone.tab").write_text("# comment\nIE\t+5320-00615\tEurope/Dublin\n")
    assert phones.region_of_timezone("Europe/Dublin", (str(tmp_path),)) == "IE"
    assert phones.region_of_timezone("Europe/Paris", (str(tmp_path),)) is None
    assert phones.region_of_timezone("Europe/Dublin", (str(tmp_path / "missing"),)) is None
