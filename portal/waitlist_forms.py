"""Forms of the patient's waitlist pages (and the staff console's, which reuses the choices)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import DataRequired, InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from carebook.waitlist.queries import WEEKDAY_NAMES
from models.waitlist import PARTS_OF_DAY

WEEKDAY_CHOICES = [SelectChoice(str(1 << index), name) for index, name in enumerate(
    ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))]
PART_CHOICES = [SelectChoice(str(1 << index), f"{name} ({span})") for index, (name, span) in enumerate(
    zip(PARTS_OF_DAY, ("before 12:00", "12:00 to 17:00", "from 17:00")))]
NOTICE_CHOICES = [SelectChoice("0", "I can come at short notice"), SelectChoice("180", "At least 3 hours' notice"),
                  SelectChoice("1440", "At least a day's notice"), SelectChoice("2880", "At least two days' notice"),
                  SelectChoice("10080", "At least a week's notice")]


class CheckboxesField(SelectMultipleField):
    """Several boxes to tick; the value is the sum of the ticked bits."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    @property
    def bits(self) -> int:
        return sum(int(value) for value in self.data or () if value.isdigit())


class WhenForm(FlaskForm):
    """Days of the week, parts of the day and notice: what every wish has."""

    weekdays = CheckboxesField("Days of the week", choices=WEEKDAY_CHOICES,
                               validators=[DataRequired(message="Choose at least one day of the week.")])
    times_of_day = CheckboxesField("Times of day", choices=PART_CHOICES,
                                   validators=[DataRequired(message="Choose at least one part of the day.")])
    min_notice_minutes = SelectField("How soon can you come?", choices=NOTICE_CHOICES, default="0",
                                     validators=[InputRequired()])


class JoinForm(WhenForm):
    scope = RadioField("Which doctor", choices=[SelectChoice("doctor", "This doctor"), SelectChoice("specialty", "Any doctor")],
                       default="doctor", validators=[InputRequired()])
    appointment_type = SelectField("Kind of appointment", choices=[], validate_choice=True)
    earliest_date = DateField("From", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])
    latest_date = DateField("Until", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])


class EarlierForm(WhenForm):
    """"An earlier time than this appointment": the same doctor and kind, any day before it."""


__all__ = ["EarlierForm", "JoinForm", "WEEKDAY_NAMES"]
