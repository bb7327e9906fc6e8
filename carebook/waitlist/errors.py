"""Why a waitlist request cannot be carried out. Each has a message a patient or staff member can act on."""
from __future__ import annotations


class WaitlistError(Exception):
    code = "waitlist_error"
    message = "This cannot be done."
    #: The form field at fault, if one is.
    field: str | None = None

    def __init__(self, message: str | None = None, field: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.field = field or self.field


class InvalidRequest(WaitlistError):
    """What the patient asked for is not a possible wish (a range in the past, no weekday...)."""
    code = "invalid_request"


class AlreadyWaiting(WaitlistError):
    code, message = "already_waiting", "You are already on the waitlist for an earlier time than this appointment."


class EntryEnded(WaitlistError):
    code, message = "entry_ended", "This waitlist entry has already ended."


class OfferEnded(WaitlistError):
    """The offer can no longer be claimed: its window passed, or it was taken or withdrawn."""
    code, message = "offer_ended", "This offer has ended."


class SlotNotFree(WaitlistError):
    """Staff offered a time by hand that is not one of the doctor's free slots now."""
    code, message = "slot_not_free", "That time is not free for this doctor any more."
