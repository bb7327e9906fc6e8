"""The text messages (SMS) of reminders and notices, kept to one segment where possible.

What an SMS says: when (local date and time with the zone label), the doctor, the clinic,
a link to manage the appointment and the clinic's phone. A waitlist offer says the same of the
freed time, until when it is offered first to this patient, and the offer's short claim link. Never the reason for the visit,
never the type of appointment (a type such as "Smear test" or "Vasectomy consultation" is a
health detail, and an SMS is read on lock screens and shared phones), never the patient's
name (it adds nothing and costs characters).

The length rule (docs/reminders.md): every name is first spelt in GSM-7 where it can be
(:func:`messaging.sms.to_gsm7`: "Łukasz" -> "Lukasz"). If the text is longer than one
segment (160 GSM-7 characters), the doctor's first names become initials ("Dr D. Doctor"),
then go ("Dr Doctor"), then the doctor's and the clinic's names are cut (at a word where
possible) to share what room is left. Time, link and phone are never cut. A name that
GSM-7 cannot spell (another script) makes the message UCS-2: the same steps then aim at
three UCS-2 segments (201 characters), since one (70) cannot hold a link and a phone.
"""
from __future__ import annotations

from string import Template

from lambda_handler.payload import ReminderPayload
from messaging import sms

TEMPLATES = {
    "reminder": Template("Reminder: $when with $doctor, $clinic. Change/cancel: $link or call $phone"),
    "confirmation": Template("Booked: $when with $doctor, $clinic. Change/cancel: $link or call $phone"),
    "updated": Template("Moved to $when with $doctor, $clinic. Change/cancel: $link or call $phone"),
    "cancellation": Template("Cancelled: $when with $doctor, $clinic. Details: $link or call $phone"),
}
INVITATION = Template("$clinic: manage your appointments online. Choose a password by $expires: $link "
                      "Questions? Call $phone")
#: A freed slot offered from the waitlist: the offer holds nothing, the first patient to claim it gets it.
WAITLIST_OFFER = Template("Free: $when with $doctor, $clinic. First to claim by $expires gets it: $link "
                          "or call $phone")
#: What the length rule aims at, per encoding: one GSM-7 segment, or three UCS-2 ones.
TARGET = {"GSM-7": 160, "UCS-2": 3 * 67}
#: A name is never cut shorter than this (a cut name must still say whose it is).
MIN_NAME = 8
TITLES = ("dr", "dr.", "prof", "prof.", "mr", "mrs", "ms", "mx", "miss")


def render_sms(payload: ReminderPayload) -> str:
    """The SMS for a reminder or a notice (its ``event``), shortened by the length rule."""
    phone = sms.to_gsm7(payload.clinic.phone)
    clinic = sms.to_gsm7(payload.clinic.name)
    if payload.event == "invitation":
        return _fit(lambda doctor, clinic_name: INVITATION.substitute(
            clinic=clinic_name, expires=sms.to_gsm7(payload.expires_text), link=payload.invitation_url, phone=phone),
            "", clinic)
    if payload.event == "waitlist_offer":
        when, expires = sms.to_gsm7(payload.short_time_text), sms.to_gsm7(payload.expires_text)
        return _fit(lambda doctor, clinic_name: WAITLIST_OFFER.substitute(
            when=when, doctor=doctor, clinic=clinic_name, expires=expires, link=payload.manage_url, phone=phone),
            sms.to_gsm7(payload.doctor_name), clinic)
    template = TEMPLATES[payload.event]
    when = sms.to_gsm7(payload.short_time_text)
    return _fit(lambda doctor, clinic_name: template.substitute(
        when=when, doctor=doctor, clinic=clinic_name, link=payload.manage_url, phone=phone),
        sms.to_gsm7(payload.doctor_name), clinic)


def _fit(build, doctor: str, clinic: str) -> str:
    for doctor_variant in _doctor_variants(doctor):
        text = build(doctor_variant, clinic)
        if _fits(text):
            return text
    shortest = _doctor_variants(doctor)[-1]
    target = TARGET[sms.encoding(build(shortest, clinic))]
    room = target - sms.length(build("", ""))
    if room < 2 * MIN_NAME:
        # Time, link and phone alone take (nearly) everything: more segments, with short names.
        return build(_cut(shortest, MIN_NAME), _cut(clinic, MIN_NAME * 2))
    doctor_room = min(sms.length(shortest), max(room // 2, room - sms.length(clinic)))
    doctor_text = _cut(shortest, doctor_room)
    return build(doctor_text, _cut(clinic, room - sms.length(doctor_text)))


def _fits(text: str) -> bool:
    return sms.length(text) <= TARGET[sms.encoding(text)]


def _doctor_variants(name: str) -> list[str]:
    """The full name, then first names as initials, then title and surname: "Dr Dana Doctor",
    "Dr D. Doctor", "Dr Doctor"."""
    words = name.split()
    if len(words) < 2:
        return [name]
    title = [words[0]] if words[0].lower() in TITLES else []
    given, surname = words[len(title):-1], words[-1]
    if not given:
        return [name]
    initials = " ".join([*title, *(f"{word[0]}." for word in given), surname])
    short = " ".join([*title, surname])
    return [name, initials, short]


def _cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters (GSM-7 septets), at a word where that keeps most of it."""
    if sms.length(text) <= room:
        return text
    cut = ""
    for character in text:
        if sms.length(cut + character) > room:
            break
        cut += character
    at_word = cut.rsplit(" ", 1)[0] if " " in cut else cut
    if len(at_word) >= max(MIN_NAME, len(cut) * 2 // 3):
        cut = at_word
    return cut.rstrip(" ,.-&")
