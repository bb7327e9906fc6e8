"""Forms of the portal. Limits here mirror the columns they fill."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from carebook.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    next = HiddenField()


class RegisterForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    date_of_birth = DateField("Date of birth", validators=[DataRequired(message="Enter a date as YYYY-MM-DD.")])
    phone = StringField("Phone", validators=[
        DataRequired(), Length(max=32),
        Regexp(r"^\+?[0-9 ()\-]{6,32}$", message="Use digits, spaces, brackets or dashes."),
    ])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)],
        description=f"At least {MIN_LENGTH} characters. Long passphrases are welcome; very common passwords are refused.",
    )


class BookingForm(FlaskForm):
    """Book (or move to) the slot starting at ``start_at``, an ISO 8601 UTC instant from the slot list."""

    start_at = StringField("Time", validators=[DataRequired(message="Choose a time.")])
    reason = TextAreaField("Reason for visit (optional)", validators=[Optional(), Length(max=500)])


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""
