"""Signing in (password, then a second factor where one is needed), signing out, registration
(confirmed by emailed link), password reset.

Signing in takes one or two steps. The password step either signs the user in
(a patient without two-factor) or leaves a *pending* sign-in in the session
cookie: who, since when, and a fingerprint of the password hash. Nobody is signed
in while it is pending, so every protected page still sends the browser to log
in; only the code step (or, for staff and doctors who have none yet, the
enrolment step) can finish it, within ``PENDING_LOGIN_MINUTES``.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from markupsafe import Markup

from carebook import accounts, auth_events, invitations, registration, reset, throttling, totp, two_factor
from carebook.access import allow, public
from carebook.clock import utcnow
from carebook.extensions import db, limiter
from models import Role, User
from portal import known_devices, sign_in
from portal.account_forms import AcceptInvitationForm, CodeForm, EnrolForm, ForgotPasswordForm, ResetPasswordForm
from portal.forms import ConfirmForm, LoginForm, RegisterForm
from reminders import account_mail

bp = Blueprint("auth", __name__)
SOURCE = "portal"

HOME_BY_ROLE = {Role.PATIENT: "patient.doctors", Role.DOCTOR: "doctor.schedule", Role.STAFF: "admin.index"}
PENDING_LOGIN_MINUTES = 10
RESET_TOKEN_KEY = "reset_token"
INVITATION_TOKEN_KEY = "invitation_token"
REGISTRATION_TOKEN_KEY = "registration_token"
_breach = throttling.audit_breach


def home_url(user: User) -> str:
    return url_for(HOME_BY_ROLE[user.role])


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, scheme or a protocol-relative URL."""
    if not target:
        return None
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# --------------------------------------------------------------------------- the pending second step


def _password_fingerprint(user: User) -> str:
    # A password change since the first step makes the pending sign-in worthless.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def start_second_step(user: User, next_url: str | None) -> None:
    session.clear()
    session[throttling.PENDING_LOGIN_KEY] = {"user_id": user.id, "at": utcnow().isoformat(),
                                             "fingerprint": _password_fingerprint(user),
                                             "next": safe_next(next_url) or ""}


def pending_login() -> tuple[User | None, str | None]:
    """The user whose password was accepted moments ago, and where they were going; (None, None) if none."""
    pending = session.get(throttling.PENDING_LOGIN_KEY)
    if not isinstance(pending, dict):
        return None, None
    try:
        started = datetime.fromisoformat(pending["at"])
        user = db.session.get(User, int(pending["user_id"]))
    except (KeyError, TypeError, ValueError):
        user, started = None, None
    if (user is None or started is None or not user.is_active
            or utcnow() - started > timedelta(minutes=PENDING_LOGIN_MINUTES)
            or pending.get("fingerprint") != _password_fingerprint(user)):
        session.pop(throttling.PENDING_LOGIN_KEY, None)
        return None, None
    return user, pending.get("next") or None


def _start_again():
    flash("Please log in again: the sign-in took too long or was interrupted.", "info")
    return redirect(url_for("auth.login"))


def qr_code_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (no script, no request to anyone)."""
    import segno

    return Markup(segno.make(uri, error="m").svg_inline(scale=4, border=4, title="QR code for your authenticator app"))


def grouped_secret(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def form_status(form) -> int:
    """400 for a posted form with errors, else 200."""
    return 200 if request.method == "GET" or not form.errors else 400


def confirmed_enrolment(user: User, form) -> list[str] | None:
    """The new recovery codes once the posted code confirms two-factor set-up; None (errors on the form) if not."""
    if not form.validate_on_submit():
        return None
    try:
        return two_factor.confirm_enrolment(db.session, user, form.code.data, source=SOURCE)
    except two_factor.TwoFactorError as error:
        form.code.errors.append(error.message)
        return None


def enrolment_context(user: User, secret: str) -> dict:
    uri = totp.provisioning_uri(secret, user.email, current_app.config["CLINIC"].name)
    return {"secret": grouped_secret(secret), "otpauth_uri": uri, "qr_code": qr_code_svg(uri)}


# --------------------------------------------------------------------------- routes


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(throttling.LOGIN_PER_ADDRESS, methods=["POST"], on_breach=_breach)
@limiter.limit(throttling.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, methods=["POST"],
               key_func=throttling.account_and_address, deduct_when=throttling.failed_login, on_breach=_breach)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = sign_in.check_password(form.email.data, form.password.data, source=SOURCE)
        except sign_in.TooManyAttempts as refused:
            form.password.errors.append(refused.message)
            return render_template("auth/login.html", form=form), 429, refused.headers
        if user is None:
            # Same words whether the email exists or not.
            form.password.errors.append("Email or password is not right.")
        elif sign_in.needs_second_factor(user):
            start_second_step(user, form.next.data)
            auth_events.record(db.session, auth_events.PASSWORD_ACCEPTED, user, source=SOURCE)
            return redirect(url_for("auth.second_factor" if user.two_factor_enabled else "auth.enrol"))
        else:
            sign_in.finish(user, "password", source=SOURCE)
            return redirect(safe_next(form.next.data) or home_url(user))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(throttling.CODE_PER_ADDRESS, methods=["POST"], on_breach=_breach)
@limiter.limit(throttling.CODE_FAILURES_PER_ACCOUNT_AND_ADDRESS, methods=["POST"],
               key_func=throttling.pending_account_and_address, deduct_when=throttling.failed_login,
               on_breach=_breach)
def second_factor():
    """Second step: a code from the authenticator app, or a recovery code.

    Wrong codes are also counted per account whichever the door (portal/sign_in.py).
    """
    user, next_url = pending_login()
    if user is None:
        return _start_again()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            verified = sign_in.check_code(user, form.code.data, source=SOURCE)
        except sign_in.TooManyAttempts as refused:
            form.code.errors.append(refused.message)
            return render_template("auth/code.html", form=form, user=user), 429, refused.headers
        if verified is not None:
            sign_in.finish(user, verified.method, source=SOURCE)
            if verified.method == "recovery_code":
                flash(f"You signed in with a recovery code; {verified.recovery_codes_left} left. "
                      "Make new ones on your account page if you are running out.", "warning")
            return redirect(safe_next(next_url) or home_url(user))
        if sign_in.code_already_used(user, form.code.data):
            form.code.errors.append("That code has already been used. Wait for the next code in your app "
                                    "(a new one every 30 seconds), or use a recovery code you have not used yet.")
        else:
            form.code.errors.append("That code is not right. Enter the current code from your app, "
                                    "or a recovery code you have not used yet.")
    return render_template("auth/code.html", form=form, user=user), form_status(form)


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit(throttling.CODE_PER_ADDRESS, methods=["POST"], on_breach=_breach)
@limiter.limit(throttling.CODE_FAILURES_PER_ACCOUNT_AND_ADDRESS, methods=["POST"],
               key_func=throttling.pending_account_and_address, deduct_when=throttling.failed_login,
               on_breach=_breach)
def enrol():
    """Staff and doctors without two-factor set it up here, before anything else."""
    user, next_url = pending_login()
    if user is None:
        return _start_again()
    if user.two_factor_enabled:
        return redirect(url_for("auth.second_factor"))
    secret = two_factor.begin_enrolment(user)
    form = EnrolForm()
    codes = confirmed_enrolment(user, form)
    if codes is not None:
        sign_in.finish(user, "enrolment", source=SOURCE)
        flash("Two-factor authentication is on.", "success")
        return render_template("account/recovery_codes.html", codes=codes,
                               continue_url=safe_next(next_url) or home_url(user))
    # The secret shown is kept (committed with this answer) until a code confirms it.
    return render_template("auth/enrol.html", form=form, required=two_factor.is_required(user),
                           **enrolment_context(user, secret)), form_status(form)


@bp.route("/logout", methods=["POST"])
@allow(*Role)
def logout():
    sign_in.sign_out(source=SOURCE)
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(throttling.REGISTRATIONS_PER_ADDRESS, methods=["POST"], on_breach=_breach)
@limiter.limit(throttling.REGISTRATIONS_PER_EMAIL, methods=["POST"], key_func=throttling.email_registering,
               on_breach=_breach)
def register():
    """Ask for an account. The answer is the same whether or not the address has one: the email
    that follows says which (carebook/registration.py)."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            pending = registration.request_registration(
                db.session, email=form.email.data, password=form.password.data, full_name=form.full_name.data,
                date_of_birth=form.date_of_birth.data, phone=form.phone.data, source=SOURCE)
        except accounts.AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(error.message)
        else:
            account_mail.queue_registration_email(db.session, pending)
            return render_template("auth/register_sent.html", hours=_link_hours())
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 400


def _token_out_of_the_address_bar(key: str):
    """An emailed link's ``?token=...`` goes into the session, and the page is shown again without it:
    out of the address bar, the history and any Referer before the page is even shown. None if none came."""
    token = request.args.get("token")
    if token is None:
        return None
    session[key] = token[:128]
    return redirect(url_for(request.endpoint))


def _link_hours() -> int:
    return int(registration.LINK_LIFETIME.total_seconds() // 3600)


@bp.route("/register/confirm", methods=["GET", "POST"])
@public
@limiter.limit(throttling.RESET_USES_PER_ADDRESS, on_breach=_breach)
def confirm_registration():
    """Finish a registration with the emailed link (``?token=...``, moved into the session at once)."""
    moved = _token_out_of_the_address_bar(REGISTRATION_TOKEN_KEY)
    if moved is not None:
        return moved
    pending = registration.valid_request(db.session, session.get(REGISTRATION_TOKEN_KEY))
    if pending is None:
        session.pop(REGISTRATION_TOKEN_KEY, None)
        return render_template("auth/register_invalid.html"), 400
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            patient = registration.complete_registration(db.session, pending, source=SOURCE)
        except accounts.AccountError:
            # The address got an account since (another link of this mailbox): its owner may know.
            db.session.rollback()
            session.pop(REGISTRATION_TOKEN_KEY, None)
            flash("This email address has an account already: log in, or choose a new password "
                  "if you do not remember it.", "info")
            return redirect(url_for("auth.login"))
        sign_in.finish(patient.user, "registration", source=SOURCE)
        current_app.logger.info("patient %s registered", patient.id)
        flash("Welcome! Your account is ready. Choose a doctor to book an appointment.", "success")
        return redirect(url_for("patient.doctors"))
    return render_template("auth/register_confirm.html", form=form, registration=pending), form_status(form)


# --------------------------------------------------------------------------- password reset


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(throttling.RESET_REQUESTS_PER_ADDRESS, methods=["POST"], on_breach=_breach)
@limiter.limit(throttling.RESET_REQUESTS_PER_ACCOUNT, methods=["POST"], key_func=throttling.email_asked_for,
               on_breach=_breach)
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    lifetime = current_app.config["PASSWORD_RESET_LIFETIME"]
    if form.validate_on_submit():
        user_id = reset.request_reset(db.session, form.email.data, source=SOURCE)
        # Queued either way and sent after the response: the answer takes as long with an account as without.
        account_mail.queue_password_reset(db.session, user_id)
        return render_template("auth/reset_sent.html", minutes=int(lifetime.total_seconds() // 60))
    status = 200 if request.method == "GET" else 400
    return render_template("auth/forgot.html", form=form), status


@bp.route("/password/reset", methods=["GET", "POST"])
@public
@limiter.limit(throttling.RESET_USES_PER_ADDRESS, on_breach=_breach)
def reset_password():
    """Choose a new password with the emailed link (``?token=...``, moved into the session at once)."""
    moved = _token_out_of_the_address_bar(RESET_TOKEN_KEY)
    if moved is not None:
        return moved
    row = reset.valid_token(db.session, session.get(RESET_TOKEN_KEY))
    if row is None:
        session.pop(RESET_TOKEN_KEY, None)
        return render_template("auth/reset_invalid.html"), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset.complete_reset(db.session, row, form.password.data, source=SOURCE)
        except accounts.AccountError as error:
            db.session.rollback()
            form.password.errors.append(error.message)
        else:
            # The emailed link proved the mailbox: this device signs in even while guessing elsewhere
            # holds other devices back (portal/known_devices.py).
            known_devices.remember(throttling.account_key(row.user.email))
            logout_user()
            session.clear()
            flash("Your new password is set. Log in with it now.", "success")
            return redirect(url_for("auth.login"))
    status = 200 if request.method == "GET" else 400
    return render_template("auth/reset.html", form=form, email=row.user.email), status


# --------------------------------------------------------------------------- staff invitations


@bp.route("/invitation", methods=["GET", "POST"])
@public
@limiter.limit(throttling.RESET_USES_PER_ADDRESS, on_breach=_breach)
def accept_invitation():
    """A patient registered by staff chooses a password (and adds an email) with their single-use link."""
    moved = _token_out_of_the_address_bar(INVITATION_TOKEN_KEY)
    if moved is not None:
        return moved
    row = invitations.valid_invitation(db.session, session.get(INVITATION_TOKEN_KEY))
    if row is None:
        session.pop(INVITATION_TOKEN_KEY, None)
        return render_template("auth/invitation_invalid.html"), 400
    user = row.user
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            invitations.accept(db.session, row, email=form.email.data, password=form.password.data, source=SOURCE)
        except accounts.AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors.append(error.message)
        else:
            logout_user()
            session.clear()
            flash(f"Your password is set. Log in with {user.email} and your new password.", "success")
            return redirect(url_for("auth.login"))
    status = 200 if request.method == "GET" else 400
    return render_template("auth/invitation.html", form=form, user=user), status
