"""Forms of the console's appointment types: the type itself, and a doctor's offer of it.

Limits mirror the service's (carebook/appointment_types.py), which checks them again.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from admin.forms import choice
from carebook.appointment_types import COLOUR_CHOICES, DESCRIPTION_MAX, NAME_MAX
from models import Audience
from models.appointment_types import BUFFER_MINUTES, DEFAULT_COLOUR, DURATION_MINUTES

AUDIENCE_CHOICES = [(Audience.ANYONE.value, "Anyone"), (Audience.NEW_PATIENTS.value, "New patients only"),
                    (Audience.RETURNING_PATIENTS.value, "Returning patients only")]
BOOKING_CHOICES = [("online", "Patients may book it online"), ("staff", "Staff only (booked at the desk)")]


def _length(label: str, limits: tuple[int, int], **kwargs):
    low, high = limits
    return IntegerField(label, validators=[*kwargs.pop("validators", [InputRequired(message="Enter a number.")]),
                                           NumberRange(min=low, max=high,
                                                       message=f"Between {low} and {high} minutes.")], **kwargs)


class AppointmentTypeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the type a name."), Length(max=NAME_MAX)])
    description = TextAreaField("Description for patients", validators=[Optional(), Length(max=DESCRIPTION_MAX)],
                                description="What patients read before they choose it.")
    duration_minutes = _length("Length (minutes)", DURATION_MINUTES)
    buffer_minutes = _length("Buffer after it (minutes)", BUFFER_MINUTES, default=0,
                             description="Time kept free after each appointment of this type.")
    colour = SelectField("Colour on calendars", choices=[choice(value, name) for value, name in COLOUR_CHOICES],
                         default=DEFAULT_COLOUR, description="Shown with the type's name, never instead of it.")
    booking = SelectField("Who books it", choices=[choice(value, label) for value, label in BOOKING_CHOICES],
                          default="online")
    audience = SelectField("For which patients", choices=[choice(value, label) for value, label in AUDIENCE_CHOICES],
                           default=Audience.ANYONE.value,
                           description="A patient with a past completed appointment with the doctor is returning.")

    def values(self) -> dict:
        """The service's keyword arguments."""
        return {"name": self.name.data, "description": self.description.data or "",
                "duration_minutes": self.duration_minutes.data, "buffer_minutes": self.buffer_minutes.data,
                "colour": self.colour.data, "bookable_online": self.booking.data == "online",
                "audience": self.audience.data}


class OfferForm(FlaskForm):
    """A doctor offers the type (or changes how): their own length, and whether they may change it themselves."""

    doctor_id = SelectField("Doctor", coerce=int, choices=[], validate_choice=False)
    duration_minutes = _length("Their own length (minutes, optional)", DURATION_MINUTES, validators=[Optional()],
                               description="Leave empty for the type's length.")
    doctor_may_change_duration = BooleanField("The doctor may change their own length")
