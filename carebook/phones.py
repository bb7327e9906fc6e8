"""Phone numbers: parsed and checked with ``phonenumbers`` (Google's libphonenumber), stored in E.164.

A number typed without a country code ("07700 900123") is read in the clinic's region,
``CLINIC_PHONE_REGION`` (default: the country of ``CLINIC_TIMEZONE``, else GB). Stored
numbers are E.164 ("+447700900123"), the form SMS gateways take; people see them in the
national format when they are in the clinic's country ("07700 900123") and in the
international one otherwise ("+33 6 12 34 56 78"). A stored value that is not E.164 (an
old number the migration could not read, flagged for staff) is shown as it was typed.
"""
from __future__ import annotations

import re
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

#: The region used when nothing better is known.
FALLBACK_REGION = "GB"
#: Longer than any phone number written with spaces and brackets: refused before parsing.
MAX_TYPED_LENGTH = 32
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: What a person may type: digits, spaces, brackets, dots, dashes and a leading +.
TYPED = re.compile(r"^\+?[0-9 ().\-/]+$")
MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
#: Ofcom keeps 07700 900000-900999 for drama and testing: no subscriber ever has one. libphonenumber
#: calls them invalid, but they are what the demo, the tests and moto's opted-out list use, so they
#: are taken as (fictional) mobiles.
FICTIONAL_MOBILES = re.compile(r"^\+447700900[0-9]{3}$")


class PhoneError(ValueError):
    """A phone number that cannot be used; ``message`` is meant for the person who typed it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def is_region(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS


def region_of_timezone(zone_key: str, zone_tab_dirs: tuple[str, ...] | None = None) -> str | None:
    """The ISO country of an IANA zone from the system's ``zone.tab`` (None if unknown)."""
    if zone_tab_dirs is None:
        import zoneinfo

        zone_tab_dirs = tuple(zoneinfo.TZPATH)
    for directory in zone_tab_dirs:
        path = Path(directory) / "zone.tab"
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("#"):
                continue
            columns = line.split("\t")
            if len(columns) >= 3 and columns[2] == zone_key:
                return columns[0] if is_region(columns[0]) else None
        return None
    return None


def example(region: str) -> str:
    """A number as a person of ``region`` would type it, for help texts and error messages."""
    number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if number else "+44 7700 900123"


def parse(text: str | None, region: str) -> str:
    """The E.164 form of a typed number, or PhoneError saying what is wrong."""
    typed = (text or "").strip()
    if not typed:
        raise PhoneError("Enter a phone number.")
    if len(typed) > MAX_TYPED_LENGTH or not TYPED.match(typed):
        raise PhoneError("Use digits, spaces, brackets or dashes, with + before a country code.")
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        raise PhoneError(f"This is not a phone number. Write it like {example(region)}, "
                         "or with its country code (+44 ...).") from None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not (phonenumbers.is_valid_number(number) or FICTIONAL_MOBILES.match(e164)):
        raise PhoneError(f"This is not a valid phone number for {_country_of(number, region)}. Check the "
                         "digits, or add the country code (+...) if it is from another country.")
    return e164


def _country_of(number, region: str) -> str:
    code = phonenumbers.region_code_for_country_code(number.country_code)
    return code if code and code != "ZZ" else region


def is_e164(value: str | None) -> bool:
    return bool(value) and bool(E164.match(value))


def is_mobile(value: str | None) -> bool:
    """Whether a stored number can take SMS (a mobile, or a number type that may be one)."""
    if not is_e164(value):
        return False
    if FICTIONAL_MOBILES.match(value):
        return True
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:  # pragma: no cover - E164 above
        return False
    return phonenumbers.number_type(number) in MOBILE_TYPES


def display(value: str | None, region: str) -> str:
    """A stored number as people read it: national in the clinic's region, else international."""
    if not value:
        return ""
    if not is_e164(value):
        return value  # kept as typed (an old number flagged for staff)
    try:
        number = phonenumbers.parse(value, None)
    except NumberParseException:
        return value
    number_region = (phonenumbers.region_code_for_number(number)
                     or phonenumbers.region_code_for_country_code(number.country_code))
    same_region = number_region == region
    return phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if same_region else PhoneNumberFormat.INTERNATIONAL)


def try_parse(text: str | None, region: str) -> str | None:
    """The E.164 form, or None where the text is not a valid number (the data migration's rule)."""
    try:
        return parse(text, region)
    except PhoneError:
        return None
