"""Wiring the web layer: blueprints, access control, error pages, template helpers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from carebook import access, timefmt
from carebook.booking import BookingService
from carebook.slot_cache import SlotCache


def booking_service() -> BookingService:
    """The booking service bound to this request's session and the clinic's settings."""
    from flask import current_app

    from carebook.extensions import db

    return BookingService(db.session, current_app.config["CLINIC"].timezone,
                          current_app.config["BOOKING_POLICY"], cache=current_app.extensions.get("slot_cache"))


def init_app(app: Flask) -> None:
    from admin import init_admin
    from carebook import security
    from portal import account, api, auth, doctor, health, patient

    # First: loads the signed-in user (ending a timed-out session) before the access check reads it.
    security.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(doctor.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    init_admin(app)

    if app.config["SLOT_CACHE_SECONDS"]:
        app.extensions["slot_cache"] = SlotCache(max_age=app.config["SLOT_CACHE_SECONDS"])
    app.before_request(access.enforce_declared_access)
    _register_error_handlers(app)
    _register_template_helpers(app)


def _wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _error(status: int, code: str, message: str):
    if _wants_json():
        return jsonify(error={"code": code, "message": message}), status
    return render_template("error.html", status=status, message=message), status


def _register_error_handlers(app: Flask) -> None:
    messages = {
        400: ("bad_request", "The request could not be understood."),
        401: ("unauthenticated", "Please log in first."),
        403: ("forbidden", "You do not have access to this page."),
        404: ("not_found", "We could not find that page."),
        405: ("method_not_allowed", "That action is not allowed here."),
        413: ("too_large", "The request is too large."),
        429: ("too_many_requests", "Too many attempts. Please wait a few minutes and try again."),
        500: ("server_error", "Something went wrong on our side. Please try again."),
    }
    for status, (code, message) in messages.items():
        app.register_error_handler(status, lambda error, s=status, c=code, m=message: _error(s, c, m))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _error(400, "csrf_failed", "Your form expired or was sent from elsewhere. Please try again.")


def _register_template_helpers(app: Flask) -> None:
    tz = app.config["CLINIC"].timezone
    app.jinja_env.filters["local_datetime"] = lambda instant: timefmt.format_datetime(instant, tz)
    app.jinja_env.filters["local_time"] = lambda instant: timefmt.format_time(instant, tz)
    app.jinja_env.filters["local_date"] = lambda instant: timefmt.format_date(instant.astimezone(tz).date())
    app.jinja_env.filters["short_date"] = timefmt.format_date
    app.jinja_env.filters["long_date"] = timefmt.format_long_date

    @app.context_processor
    def clinic_context():
        return {"clinic": app.config["CLINIC"], "timezone_name": tz.key}
