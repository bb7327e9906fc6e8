"""The signed-in user's own account: password, email address, two-factor authentication; a patient's data.

Every change asks for the current password first (a session left open on a shared
computer is not enough), and failures of that check are throttled per account.
Changing the password ends every session of the account; this browser gets a new one.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from carebook import accounts, audit, auth_events, throttling, two_factor, unit_of_work
from carebook.access import allow
from carebook.clock import utcnow
from carebook.patient_data import export
from carebook.extensions import db, limiter
from models import Role, User
from portal import sign_in
from portal.account_forms import ChangeEmailForm, ChangePasswordForm, EnrolForm, PasswordConfirmForm
from portal.auth import confirmed_enrolment, enrolment_context, form_status
from reminders import account_mail

bp = Blueprint("account", __name__, url_prefix="/account")
SOURCE = "portal"

# One counter for every form that asks for the current password.
_current_password_throttle = limiter.shared_limit(
    throttling.CURRENT_PASSWORD_FAILURES_PER_ACCOUNT, scope="current-password", methods=["POST"],
    key_func=throttling.signed_in_account, deduct_when=throttling.failed_login, on_breach=throttling.audit_breach)


def _user() -> User:
    return current_user._get_current_object()


def _actor() -> audit.Actor:
    return audit.Actor(_user(), SOURCE)


def _wrong_current_password(form, error: accounts.AccountError) -> None:
    db.session.rollback()
    auth_events.record_refusal(db.session, auth_events.CURRENT_PASSWORD_FAILED, _user(), source=SOURCE, actor=_user())
    form.current_password.errors.append(error.message)


@bp.route("/")
@allow(*Role)
def overview():
    user = _user()
    return _overview(user)


def _overview(user: User, status: int = 200, **forms):
    codes_left = two_factor.recovery_codes_left(db.session, user) if user.two_factor_enabled else None
    forms.setdefault("disable_form", PasswordConfirmForm(formdata=None, prefix="disable"))
    forms.setdefault("renew_form", PasswordConfirmForm(formdata=None, prefix="renew"))
    return render_template("account/overview.html", user=user, required=two_factor.is_required(user),
                           codes_left=codes_left, **forms), status


@bp.route("/password", methods=["GET", "POST"])
@allow(*Role)
@_current_password_throttle
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = _user()
        try:
            accounts.change_password(db.session, _actor(), user, form.current_password.data, form.password.data)
        except accounts.AccountError as error:
            if error.field == "current_password":
                _wrong_current_password(form, error)
            else:
                db.session.rollback()
                form.password.errors.append(error.message)
        else:
            sign_in.start_session(user)  # every session ended, this one too: carry on in a new one
            flash("Your password is changed. You were signed out on every other device.", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/password.html", form=form), form_status(form)


@bp.route("/email", methods=["GET", "POST"])
@allow(*Role)
@_current_password_throttle
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        user = _user()
        try:
            previous = accounts.change_email(db.session, _actor(), user, form.current_password.data, form.email.data)
        except accounts.AccountError as error:
            if error.field == "current_password":
                _wrong_current_password(form, error)
            else:
                db.session.rollback()
                form.email.errors.append(error.message)
        else:
            app = current_app._get_current_object()
            unit_of_work.after_commit(lambda: account_mail.send_email_changed(app, user, previous))
            flash(f"Your email address is now {user.email}. Use it to log in from now on.", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/email.html", form=form), form_status(form)


@bp.route("/two-factor/enable", methods=["GET", "POST"])
@allow(*Role)
@limiter.limit(throttling.CODE_FAILURES_PER_ACCOUNT_AND_ADDRESS, methods=["POST"],
               key_func=throttling.signed_in_account, deduct_when=throttling.failed_login,
               on_breach=throttling.audit_breach)
def enable_two_factor():
    user = _user()
    if user.two_factor_enabled:
        flash("Two-factor authentication is already on.", "info")
        return redirect(url_for("account.overview"))
    secret = two_factor.begin_enrolment(user)
    form = EnrolForm()
    codes = confirmed_enrolment(user, form)
    if codes is not None:
        flash("Two-factor authentication is on.", "success")
        return render_template("account/recovery_codes.html", codes=codes, continue_url=url_for("account.overview"))
    # The secret shown is kept (committed with this answer) until a code confirms it.
    return render_template("account/enable_two_factor.html", form=form,
                           **enrolment_context(user, secret)), form_status(form)


@bp.route("/two-factor/disable", methods=["POST"])
@allow(*Role)
@_current_password_throttle
def disable_two_factor():
    user = _user()
    form = PasswordConfirmForm(prefix="disable")
    if two_factor.is_required(user):
        flash("Two-factor authentication is required for your role and cannot be turned off.", "danger")
        return redirect(url_for("account.overview"))
    if not user.two_factor_enabled:
        flash("Two-factor authentication is already off.", "info")
        return redirect(url_for("account.overview"))
    if form.validate_on_submit():
        try:
            accounts.check_current_password(user, form.current_password.data)
        except accounts.AccountError as error:
            _wrong_current_password(form, error)
        else:
            two_factor.disable(db.session, user, source=SOURCE, actor=user)
            flash("Two-factor authentication is off.", "success")
            return redirect(url_for("account.overview"))
    return _overview(user, 400, disable_form=form)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@allow(*Role)
@_current_password_throttle
def renew_recovery_codes():
    user = _user()
    form = PasswordConfirmForm(prefix="renew")
    if form.validate_on_submit():
        try:
            accounts.check_current_password(user, form.current_password.data)
            codes = two_factor.renew_recovery_codes(db.session, user, source=SOURCE)
        except accounts.AccountError as error:
            _wrong_current_password(form, error)
        except two_factor.TwoFactorError as error:
            flash(error.message, "danger")
            return redirect(url_for("account.overview"))
        else:
            return render_template("account/recovery_codes.html", codes=codes,
                                   continue_url=url_for("account.overview"))
    return _overview(user, 400, renew_form=form)


# -- a patient's data (GDPR Art. 15, HIPAA right of access) ------------------------------------------


def _patient_data(export_format: str) -> export.PatientData:
    """Everything held about the signed-in patient; the copy is audited."""
    patient = _user().patient
    data = export.collect(db.session, patient, clinic=current_app.config["CLINIC"], now=utcnow())
    export.record_export(db.session, _actor(), patient, export_format)
    return data


@bp.route("/data")
@allow(Role.PATIENT)
def data():
    return render_template("account/data.html", data=_patient_data("html"))


@bp.route("/data.json")
@allow(Role.PATIENT)
def data_json():
    data = _patient_data("json")
    body = json.dumps(data.as_json(), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="my-data-{data.generated_at:%Y-%m-%d}.json"'})
