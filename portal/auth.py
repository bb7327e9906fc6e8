"""Sign-in, sign-out and patient registration: one login page for every role."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from carebook import accounts, audit, throttling
from carebook.access import allow, public
from carebook.extensions import db, limiter
from models import Role, User
from portal.forms import LoginForm, RegisterForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {Role.PATIENT: "patient.doctors", Role.DOCTOR: "doctor.schedule", Role.STAFF: "admin.index"}


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


def sign_in(user: User) -> None:
    """Start a fresh session for ``user``: nothing from before the login survives."""
    session.clear()
    user_session = accounts.start_session(db.session, user)
    user.login_session_id = user_session.id
    login_user(user)


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(throttling.LOGIN_PER_ADDRESS, methods=["POST"])
@limiter.limit(throttling.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, methods=["POST"],
               key_func=throttling.account_and_address, deduct_when=throttling.failed_login)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            # Same words whether the email exists or not.
            form.password.errors.append("Email or password is not right.")
        else:
            sign_in(user)
            db.session.commit()
            return redirect(safe_next(form.next.data) or home_url(user))
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" or not form.errors else 400


@bp.route("/logout", methods=["POST"])
@allow(*Role)
def logout():
    user_session = g.get("user_session")
    if user_session is not None:
        accounts.end_session(user_session)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(throttling.REGISTRATIONS_PER_ADDRESS, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            patient = accounts.register_patient(
                db.session, audit.Actor(None, "portal"), email=form.email.data, password=form.password.data,
                full_name=form.full_name.data, date_of_birth=form.date_of_birth.data, phone=form.phone.data)
        except accounts.AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(error.message)
        else:
            sign_in(patient.user)
            db.session.commit()
            current_app.logger.info("patient %s registered", patient.id)
            flash("Welcome! Your account is ready. Choose a doctor to book an appointment.", "success")
            return redirect(url_for("patient.doctors"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 400
