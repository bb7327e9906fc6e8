"""Forms of the doctor's calendar pages. They parse input; the rules live in carebook.availability."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, FieldList, Form, FormField, HiddenField, IntegerField, RadioField, SelectChoice,
                     StringField, TextAreaField, TimeField)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from carebook.availability import TIME_OFF_NOTE_LENGTH, WEEKDAY_NAMES

#: Range rows shown per weekday (or per one-off date). Empty rows are ignored.
RANGES_PER_DAY = 4
WEEKDAY_FIELDS = tuple(name.lower() for name in WEEKDAY_NAMES)
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]  # browsers send seconds when a step below a minute is set
DATE_REQUIRED = "Enter a date as YYYY-MM-DD."


class TimeRangeForm(Form):
    """One working range; both ends or neither."""

    start = TimeField("From", format=TIME_FORMATS, validators=[Optional()])
    end = TimeField("To", format=TIME_FORMATS, validators=[Optional()])


def _ranges_field() -> FieldList:
    return FieldList(FormField(TimeRangeForm), min_entries=RANGES_PER_DAY, max_entries=RANGES_PER_DAY)


class RangesMixin:
    """Collects the filled-in range rows of FieldLists and flags half-filled ones."""

    @staticmethod
    def filled_ranges(ranges: FieldList) -> list[tuple[int, tuple]]:
        """(row number, (start, end)) of each complete row; half-filled rows get an error."""
        filled = []
        for number, entry in enumerate(ranges.entries):
            start, end = entry.form.start, entry.form.end
            if start.errors or end.errors:
                continue
            if start.data is not None and end.data is not None:
                filled.append((number, (start.data, end.data)))
            elif start.data is not None:
                end.errors = [*end.errors, "Enter when this range ends."]
            elif end.data is not None:
                start.errors = [*start.errors, "Enter when this range starts."]
        return filled

    @staticmethod
    def has_range_errors(ranges: FieldList) -> bool:
        return any(entry.form.start.errors or entry.form.end.errors for entry in ranges.entries)


class WeeklyHoursForm(FlaskForm, RangesMixin):
    valid_from = DateField("Applies from", validators=[InputRequired(message=DATE_REQUIRED)],
                           description="The first day of the new hours. Earlier days keep the hours they had.")
    monday = _ranges_field()
    tuesday = _ranges_field()
    wednesday = _ranges_field()
    thursday = _ranges_field()
    friday = _ranges_field()
    saturday = _ranges_field()
    sunday = _ranges_field()

    def weekdays(self):
        """(weekday number, name, FieldList) for Monday..Sunday."""
        return [(number, WEEKDAY_NAMES[number], self[name]) for number, name in enumerate(WEEKDAY_FIELDS)]


class AppointmentLengthForm(FlaskForm):
    appointment_minutes = IntegerField("Appointment length (minutes)",
                                       validators=[InputRequired(message="Enter a number of minutes.")],
                                       description="For example 10, 15, 20, 30 or 60.")
    buffer_minutes = IntegerField("Buffer after each appointment (minutes)",
                                  validators=[InputRequired(message="Enter a number of minutes (0 for none).")],
                                  description="Free time kept after each appointment; 0 for none.")


class OneOffForm(FlaskForm, RangesMixin):
    on_date = DateField("Date", validators=[InputRequired(message=DATE_REQUIRED)])
    kind = RadioField("What changes", default="hours", choices=[
        SelectChoice("hours", "Different hours: work only the hours below"),
        SelectChoice("extra", "Extra hours: the hours below on top of the usual ones"),
        SelectChoice("closed", "Closed all day"),
    ], validators=[InputRequired(message="Choose what changes.")])
    ranges = _ranges_field()


class TimeOffForm(FlaskForm):
    start_date = DateField("First day", validators=[InputRequired(message=DATE_REQUIRED)])
    end_date = DateField("Last day", validators=[Optional()],
                         description="Leave empty for a single day.")
    start_time = TimeField("From (time, optional)", format=TIME_FORMATS, validators=[Optional()],
                           description="For part of a day: when the time off starts on the first day.")
    end_time = TimeField("Until (time, optional)", format=TIME_FORMATS, validators=[Optional()],
                         description="When it ends on the last day. Empty: the end of the day.")
    note = StringField("Note (optional)", validators=[Optional(), Length(max=TIME_OFF_NOTE_LENGTH)],
                       description="Seen by you and the clinic's staff, never by patients.")


class ConfirmChangeForm(FlaskForm):
    """Carries a pending change (signed) and the choice made about the appointments it affects."""

    change = HiddenField(validators=[DataRequired()])
    choice = StringField(validators=[AnyOf(["keep", "cancel"])])
    reason = TextAreaField("Reason for cancelling (each patient is told it)", validators=[Optional(), Length(max=500)],
                           default="The doctor is no longer available at this time.")
    # Cancelling many appointments at once is asked for twice: the choice, and this box ticked.
    confirm_cancel = BooleanField("Yes, cancel the appointments listed above")


class OutcomeForm(FlaskForm):
    outcome = StringField(validators=[AnyOf(["completed", "no_show"])])


class OwnLengthForm(FlaskForm):
    """A doctor's own length for a type they offer; empty: the type's length (checked by the service too)."""

    duration_minutes = IntegerField("Your length (minutes)", validators=[
        Optional(), NumberRange(min=5, max=240, message="Between 5 and 240 minutes.")],
        description="Leave empty to use the clinic's length for this type.")
