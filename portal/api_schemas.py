"""The JSON API's request and response shapes, as pydantic models.

These models are the single definition of the API's data: the views validate
request bodies and query strings with them and serialise every response through
them, and :mod:`portal.openapi` generates the document's ``components/schemas``
from them, so the published description cannot drift from what the API does.

Request models are strict (no silent coercion of ``"5"`` into ``5`` or of a
number into a date), reject unknown fields, and mirror the database columns'
length limits. Instants go out as ISO 8601 UTC with a ``Z`` suffix.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from carebook.passwords import MAX_LENGTH as PASSWORD_MAX, MIN_LENGTH as PASSWORD_MIN
from models import AppointmentStatus, Audience, Role

#: Largest id a path or body may name (the columns are 32-bit integers).
MAX_ID = 2**31 - 1
EMAIL_MAX = 254
FULL_NAME_MAX = 120
PHONE_MAX = 32
REASON_MAX = 500
SPECIALTY_MAX = 80
PHONE_PATTERN = r"^\+?[0-9 ()\-]{6,32}$"
#: A phone number as people type it; checked with libphonenumber (carebook/phones.py), beyond what a pattern says.
PHONE_FORMAT = {"format": "phone"}
#: How a patient wants to hear from the clinic (models.ContactPreference).
ContactChoice = Literal["email", "sms", "both"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --------------------------------------------------------------------------- field types


def _parse_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (pydantic alone would also take Unix timestamps)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError("Use a date in the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("This is not a real calendar date.") from None


def _parse_instant(value: Any) -> Any:
    """An ISO 8601 date-time that states its UTC offset; returned in UTC."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("Use an ISO 8601 date-time such as 2026-06-02T08:00:00Z.") from None
    else:
        raise ValueError("Use an ISO 8601 date-time string such as 2026-06-02T08:00:00Z.")
    if instant.utcoffset() is None:
        raise ValueError("Include the UTC offset (for example Z or +01:00): a time without one is ambiguous.")
    try:
        return instant.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError("This time is out of range.") from None


def _check_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def format_instant(value: datetime) -> str:
    if value.tzinfo is not timezone.utc:  # the slot engine's instants already are: skip the conversion
        value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="seconds")[:-6] + "Z"


#: A calendar date, ``YYYY-MM-DD``.
IsoDate = Annotated[date, BeforeValidator(_parse_date)]
#: An aware instant on the way in (any offset, converted to UTC).
InstantIn = Annotated[datetime, BeforeValidator(_parse_instant),
                      WithJsonSchema({"type": "string", "format": "date-time",
                                      "description": "ISO 8601 with a UTC offset, e.g. 2026-06-02T08:00:00Z"})]
#: An instant on the way out: always UTC, always ``...Z``.
Instant = Annotated[datetime, PlainSerializer(format_instant, return_type=str),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "description": "ISO 8601 in UTC, e.g. 2026-06-02T08:00:00Z"})]
Email = Annotated[str, StringConstraints(min_length=3, max_length=EMAIL_MAX), AfterValidator(_check_email),
                  WithJsonSchema({"type": "string", "format": "email", "minLength": 3, "maxLength": EMAIL_MAX})]
# Passwords are taken exactly as typed: no stripping of spaces.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=PASSWORD_MIN,
                                            max_length=PASSWORD_MAX)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _check_text(value: Any) -> Any:
    """Text the database can store: no NUL characters, no lone UTF-16 surrogates (JSON allows both)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("Must not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("Must be valid Unicode text.") from None
    return value


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def storable_text(cls, value: Any) -> Any:
        return _check_text(value)


class QueryModel(BaseModel):
    # Query strings are always text, and unknown parameters are ignored as usual on the web.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def storable_text(cls, value: Any) -> Any:
        return _check_text(value)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --------------------------------------------------------------------------- requests


class RegisterRequest(RequestModel):
    """A new patient account."""

    full_name: Annotated[str, Field(min_length=1, max_length=FULL_NAME_MAX)]
    email: Email
    date_of_birth: IsoDate
    phone: Annotated[str, Field(min_length=6, max_length=PHONE_MAX, pattern=PHONE_PATTERN,
                                json_schema_extra=PHONE_FORMAT, description=(
        "A mobile or landline number; without a country code it is read in the clinic's region. Stored "
        "and returned in E.164 (+447700900123); a number that is not valid is refused (422, fields.phone)."))]
    password: Password


class ContactRequest(RequestModel):
    """Change my phone number and/or how the clinic reaches me; omitted fields stay as they are."""

    phone: Annotated[str | None, Field(min_length=6, max_length=PHONE_MAX, pattern=PHONE_PATTERN,
                                       json_schema_extra=PHONE_FORMAT, description=(
        "Read in the clinic's region when it has no country code; stored in E.164."))] = None
    contact_preference: Annotated[ContactChoice | None, Field(description=(
        "email, sms or both. Without an email address only sms is accepted."))] = None


class LoginRequest(RequestModel):
    email: Annotated[str, Field(min_length=1, max_length=EMAIL_MAX)]
    password: Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=PASSWORD_MAX)]
    code: Annotated[str | None, Field(max_length=40, description=(
        "For an account with two-factor authentication (every staff and doctor account): the code from "
        "the authenticator app, or a recovery code."))] = None


TypeIdIn = Annotated[Id | None, Field(description=(
    "An appointment type the doctor offers (GET /api/appointment-types). Left out: the doctor's default type."))]


class BookingRequest(RequestModel):
    doctor_id: Id
    start_at: InstantIn
    reason: Annotated[str, Field(max_length=REASON_MAX)] = ""
    type_id: TypeIdIn = None


class CancelRequest(RequestModel):
    reason: Annotated[str, Field(max_length=REASON_MAX)] = ""


class RescheduleRequest(RequestModel):
    start_at: InstantIn
    type_id: Annotated[Id | None, Field(description=(
        "Another type the doctor offers, to change the appointment's type. Left out: it keeps its type."))] = None


class DoctorsQuery(QueryModel):
    specialty: Annotated[str, Field(max_length=SPECIALTY_MAX,
                                    description="Only doctors of this specialty (exact match).")] = ""
    type_id: Annotated[int | None, Field(strict=False, ge=1, le=MAX_ID, description=(
        "Only doctors who offer this appointment type, with their length and first free time for it."))] = None


class SlotsQuery(QueryModel):
    from_: Annotated[IsoDate | None, Field(alias="from", description=(
        "First clinic-local day (default: the first bookable day)."))] = None
    to: Annotated[IsoDate | None, Field(description=(
        "Last clinic-local day, inclusive (default: from + 13 days). At most 62 days in all."))] = None
    # A query string is text: the number is read from it (strict mode would refuse "3").
    type_id: Annotated[int | None, Field(strict=False, ge=1, le=MAX_ID, description=(
        "Slots for this appointment type, its length and buffer (default: the doctor's default type)."))] = None


# --------------------------------------------------------------------------- responses


class CsrfTokenResponse(ResponseModel):
    csrf_token: str


class UserOut(ResponseModel):
    id: int
    email: str
    full_name: str
    role: Role


class ContactOut(ResponseModel):
    email: str | None = Field(description="None for a patient registered by the clinic without email.")
    phone: str = Field(description="E.164, e.g. +447700900123 (an old number that could not be read: as typed).")
    phone_display: str = Field(description="The number as people write it: national in the clinic's country, "
                                           "else international.")
    contact_preference: ContactChoice


class RegistrationAccepted(ResponseModel):
    """The same answer for every address: whether it already has an account is told only in the email."""

    status: Literal["check_your_email"]
    message: str = Field(description="What to tell the person: follow the link in the email to finish.")


class SessionResponse(ResponseModel):
    user: UserOut
    csrf_token: str = Field(description="A new token: signing in starts a new session.")


class DoctorOut(ResponseModel):
    id: int
    name: str
    specialty: str
    appointment_minutes: int
    next_available: Instant | None = Field(description="The first bookable slot, or null if none is free.")


class DoctorList(RootModel[list[DoctorOut]]):
    pass


class SlotOut(ResponseModel):
    start_at: Instant
    end_at: Instant


class SlotList(ResponseModel):
    doctor_id: int
    type_id: int | None = Field(description="The type asked for; null: the doctor's default type.")
    timezone: str = Field(description="The clinic's IANA time zone; query dates are days there.")
    slots: list[SlotOut]


class AppointmentDoctor(ResponseModel):
    id: int
    name: str
    specialty: str


class AppointmentTypeRef(ResponseModel):
    id: int
    name: str
    colour: str


class AppointmentOut(ResponseModel):
    id: int
    doctor: AppointmentDoctor
    type: AppointmentTypeRef
    start_at: Instant
    end_at: Instant
    status: AppointmentStatus
    reason: str
    can_change_until: Instant | None = Field(description=(
        "Until when the patient may cancel or move it online; null unless it is booked."))


class AppointmentList(RootModel[list[AppointmentOut]]):
    pass


class TypeOffer(ResponseModel):
    doctor_id: int
    duration_minutes: int = Field(description="How long this doctor's appointment of this type lasts.")
    is_default: bool = Field(description="The type booked with this doctor when a booking names none.")


class AppointmentTypeOut(ResponseModel):
    id: int
    name: str
    description: str
    duration_minutes: int
    buffer_minutes: int
    colour: str
    audience: Audience = Field(description=(
        "anyone; new_patients: not for patients with a past completed appointment with the doctor; "
        "returning_patients: only for them."))
    doctors: list[TypeOffer] = Field(description="The active doctors who offer it.")


class AppointmentTypeList(RootModel[list[AppointmentTypeOut]]):
    pass


class AppointmentResponse(ResponseModel):
    appointment: AppointmentOut


class ErrorBody(ResponseModel):
    code: str = Field(description="Stable, for programs: e.g. invalid_request, slot_taken.")
    message: str = Field(description="For people.")
    fields: dict[str, list[str]] | None = Field(default=None, description="Per-field problems (422).")
    slots: list[SlotOut] | None = Field(default=None, description=(
        "On a booking conflict (409): the doctor's free slots that day, as they are now."))


class ErrorResponse(ResponseModel):
    error: ErrorBody


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    RegisterRequest, LoginRequest, BookingRequest, CancelRequest, RescheduleRequest, ContactRequest,
)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    CsrfTokenResponse, RegistrationAccepted, SessionResponse, DoctorList, SlotList,
    AppointmentList, AppointmentResponse, ErrorResponse, ContactOut, AppointmentTypeList,
)
