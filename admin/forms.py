"""Forms of the staff console. Limits mirror the columns they fill; every form carries a CSRF token."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from carebook.passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from models import AppointmentStatus

try:  # WTForms 3.3 wants SelectChoice objects; older 3.x takes (value, label) pairs.
    from wtforms.fields.choices import SelectChoice as _SelectChoice
except ImportError:  # pragma: no cover
    _SelectChoice = None


def choice(value: str, label: str):
    return _SelectChoice(value, label) if _SelectChoice is not None else (value, label)


PHONE = Regexp(r"^\+?[0-9 ()\-]{6,32}$", message="Use digits, spaces, brackets or dashes.")


def _strong_password(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


# -- people -------------------------------------------------------------------------------

class DoctorEditForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email (their login)", validators=[DataRequired(), Email(check_deliverability=False),
                                                          Length(max=254)])
    specialty = StringField("Specialty", validators=[DataRequired(), Length(max=80)])
    appointment_minutes = IntegerField(
        "Appointment length (minutes)", default=15, validators=[InputRequired(), NumberRange(min=5, max=240)],
        description="Between 5 and 240. Booked appointments keep their length; new slots use this one.")
    buffer_minutes = IntegerField("Buffer between appointments (minutes)", default=0,
                                  validators=[InputRequired(), NumberRange(min=0, max=120)])


class DoctorCreateForm(DoctorEditForm):
    password = PasswordField(
        "Initial password", validators=[DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH), _strong_password],
        description=f"At least {MIN_LENGTH} characters; very common passwords are refused. "
                    "Give it to the doctor in person.")


class PatientForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       description="Confirmations and reminders go here. No password is needed for a phone booking.")
    phone = StringField("Phone", validators=[DataRequired(), Length(max=32), PHONE])
    date_of_birth = DateField("Date of birth", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])


class DeactivateDoctorForm(FlaskForm):
    disable_login = BooleanField("Also disable their login (signs them out everywhere)", default=True)


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token, for buttons that change state."""


class EraseForm(FlaskForm):
    """Erasing a patient cannot be undone: staff type the patient's name to confirm (checked by the view)."""

    confirm_name = StringField("Type the patient's full name to confirm",
                               validators=[DataRequired(message="Type the patient's full name."), Length(max=120)])


# -- appointments -------------------------------------------------------------------------

class SlotForm(FlaskForm):
    """A time for an appointment: one of the doctor's free slots, or a confirmed time outside their hours.

    ``start_at`` is the ISO 8601 instant of a slot shown as a radio button. A time
    outside hours is a wall-clock time on the chosen day in the clinic's time zone;
    it needs the explicit confirmation and a reason, which goes into the audit log.
    """

    day = HiddenField()
    start_at = StringField("Free time", validators=[Optional(), Length(max=64)])
    outside_time = TimeField("Time outside the doctor's hours", validators=[Optional()],
                             description="Only when none of the free times will do (HH:MM, clinic time).")
    confirm_outside = BooleanField("I confirm this time is outside the doctor's normal availability")
    outside_reason = TextAreaField("Why outside hours (recorded in the audit log)",
                                   validators=[Optional(), Length(max=300)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        chose_slot = bool((self.start_at.data or "").strip())
        chose_outside = self.outside_time.data is not None
        if chose_slot and chose_outside:
            self.start_at.errors.append("Choose either a free time or a time outside hours, not both.")
            return False
        if chose_outside:
            if not self.confirm_outside.data:
                self.confirm_outside.errors.append("Tick to confirm booking outside the doctor's hours.")
                valid = False
            if not (self.outside_reason.data or "").strip():
                self.outside_reason.errors.append("Give the reason for booking outside hours.")
                valid = False
        elif not chose_slot and not self.outside_time.errors:
            if self.confirm_outside.data or (self.outside_reason.data or "").strip():
                self.outside_time.errors.append("Enter the time outside hours.")
            else:
                self.start_at.errors.append("Choose a time.")
            valid = False
        return valid

    @property
    def is_outside_hours(self) -> bool:
        return self.outside_time.data is not None

    def chosen_start(self, day: date, tz: ZoneInfo) -> datetime | None:
        """The UTC instant chosen (after validate()), or None with an error on the field at fault."""
        if self.is_outside_hours:
            return _local_instant(day, self.outside_time.data, tz, self.outside_time)
        try:
            instant = datetime.fromisoformat(self.start_at.data.strip())
        except ValueError:
            instant = None
        if instant is None or instant.utcoffset() is None:
            self.start_at.errors.append("Choose one of the times shown.")
            return None
        try:
            return instant.astimezone(timezone.utc)
        except OverflowError:  # past either end of the calendar in UTC
            self.start_at.errors.append("Choose one of the times shown.")
            return None

    @property
    def time_field(self):
        """The field that holds the chosen time, where a conflict is reported."""
        return self.outside_time if self.is_outside_hours else self.start_at


def _local_instant(day: date, wall: time, tz: ZoneInfo, field) -> datetime | None:
    local = datetime.combine(day, wall, tz)
    instant = local.astimezone(timezone.utc)
    # A wall time in the spring-forward gap does not exist; say so rather than book another hour.
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        field.errors.append("That time does not exist on this day (the clocks change). Choose another.")
        return None
    return instant


class BookForm(SlotForm):
    patient_id = HiddenField(validators=[DataRequired()])
    doctor_id = HiddenField(validators=[DataRequired()])
    reason = TextAreaField("Reason for visit (optional)", validators=[Optional(), Length(max=500)])


class RescheduleForm(SlotForm):
    move_reason = TextAreaField("Reason for moving (kept in the audit log)", validators=[
        DataRequired(message="Give the reason for moving."), Length(max=500)])


class ClearAttentionForm(FlaskForm):
    attention_note = TextAreaField("What was done (e.g. patient called, keeps the time)", validators=[
        DataRequired(message="Say what was done."), Length(max=500)])


class CancelForm(FlaskForm):
    cancel_reason = TextAreaField("Reason for cancelling (the patient is told it)", validators=[
        DataRequired(message="Give the reason for cancelling."), Length(max=500)])


class OutcomeForm(FlaskForm):
    outcome = SelectField("Outcome", choices=[choice(AppointmentStatus.COMPLETED.value, "Completed"),
                                              choice(AppointmentStatus.NO_SHOW.value, "No-show")],
                          validators=[DataRequired()])


class ExportForm(FlaskForm):
    """A GET form (no CSRF: it changes nothing) choosing the appointments to export."""

    class Meta:
        csrf = False

    start = DateField("From", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])
    end = DateField("To (inclusive)", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])
    doctor_id = SelectField("Doctor", choices=[], validate_choice=False, default="")

    def validate_end(self, field) -> None:
        if self.start.data and field.data:
            if field.data < self.start.data:
                raise ValidationError("The end date must not be before the start date.")
            if (field.data - self.start.data).days > 366:
                raise ValidationError("Export at most one year at a time.")

