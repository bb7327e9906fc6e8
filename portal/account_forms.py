"""Forms of the second sign-in step, password reset and the account page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from carebook.passwords import MAX_LENGTH, MIN_LENGTH

try:  # WTForms 3.3 wants SelectChoice objects; older 3.x takes (value, label) pairs.
    from wtforms.fields.choices import SelectChoice as _SelectChoice
except ImportError:  # pragma: no cover
    _SelectChoice = None


def _choice(value: str, label: str):
    return _SelectChoice(value, label) if _SelectChoice is not None else (value, label)

NEW_PASSWORD_HELP = (f"At least {MIN_LENGTH} characters. Long passphrases are welcome; "
                     "very common passwords are refused.")


def _new_password(label: str = "New password") -> PasswordField:
    return PasswordField(label, validators=[DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH)],
                         description=NEW_PASSWORD_HELP)


def _current_password() -> PasswordField:
    return PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class CodeForm(FlaskForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField("Code", validators=[DataRequired(message="Enter the code."), Length(max=40)],
                       description="The 6-digit code from your authenticator app, or one of your recovery codes.")


class EnrolForm(FlaskForm):
    code = StringField("Code from the app", validators=[DataRequired(message="Enter the code."), Length(max=12)],
                       description="After adding the key, enter the 6-digit code the app shows.")


class ForgotPasswordForm(FlaskForm):
    # Only a plausibility check: the address is looked up as typed, and accounts that staff
    # created may hold addresses a strict syntax check would refuse.
    email = EmailField("Email", validators=[DataRequired(), Length(max=254),
                                            Regexp(r"^[^@\s]+@[^@\s]+$", message="Enter an email address.")])


class ResetPasswordForm(FlaskForm):
    password = _new_password()
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(), Length(max=MAX_LENGTH), EqualTo("password", message="The two passwords differ.")])


class ChangePasswordForm(FlaskForm):
    current_password = _current_password()
    password = _new_password()
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(), Length(max=MAX_LENGTH), EqualTo("password", message="The two passwords differ.")])


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    current_password = _current_password()


class PasswordConfirmForm(FlaskForm):
    """A sensitive change that needs nothing but the current password (turn 2FA off, new recovery codes)."""

    current_password = _current_password()


class ContactForm(FlaskForm):
    """A patient's phone number and how they want to hear from the clinic."""

    phone = StringField("Mobile phone", validators=[DataRequired(message="Enter a phone number."), Length(max=32)],
                        description="Without a country code it is read as a number of the clinic's country.")
    contact_preference = RadioField(
        "How should the clinic contact you?",
        choices=[_choice("email", "By email"), _choice("sms", "By text message (SMS)"),
                 _choice("both", "By email and text message")],
        validators=[DataRequired(message="Choose how the clinic should contact you.")])
    current_password = _current_password()


class AcceptInvitationForm(FlaskForm):
    """Opening a staff invitation: a password, and an email address for a patient who has none."""

    email = EmailField("Email (you will log in with it)", validators=[
        Optional(), Email(check_deliverability=False), Length(max=254)])
    password = _new_password("Password")
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(), Length(max=MAX_LENGTH), EqualTo("password", message="The two passwords differ.")])
