"""What every page and answer of the web layer shares: error pages and template helpers.

The blueprints themselves are wired in by the composition root (carebook/app.py).
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from carebook import auth_events, timefmt
from carebook.access import request_source
from carebook.extensions import db


def init_app(app: Flask) -> None:
    _register_error_handlers(app)
    _register_template_helpers(app)


def _wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None):
    if _wants_json():
        return jsonify(error={"code": code, "message": message}), status, headers or []
    return render_template("error.html", status=status, message=message), status, headers or []


def _headers_of(error: Exception) -> list[tuple[str, str]]:
    """The headers the HTTP error carries besides its body's type: ``Allow`` on a 405 (RFC 9110),
    ``Retry-After`` where one was set, ``WWW-Authenticate``..."""
    if not isinstance(error, HTTPException):
        return []
    return [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]


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
        app.register_error_handler(status, lambda error, s=status, c=code, m=message: _error(s, c, m,
                                                                                          _headers_of(error)))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        user = current_user._get_current_object() if current_user.is_authenticated else None
        auth_events.record_refusal(db.session, auth_events.CSRF_REFUSED, user, actor=user, method=request.method,
                                   source=request_source(), reason=error.description)
        return _error(400, "csrf_failed", "Your form expired or was sent from elsewhere. Please try again.")


def _register_template_helpers(app: Flask) -> None:
    tz = app.config["CLINIC"].timezone
    app.jinja_env.filters["local_datetime"] = lambda instant: timefmt.format_datetime(instant, tz)
    app.jinja_env.filters["local_time"] = lambda instant: timefmt.format_time(instant, tz)
    app.jinja_env.filters["zoned_datetime"] = lambda instant: timefmt.format_datetime(instant, tz, zoned=True)
    app.jinja_env.filters["zoned_time"] = lambda instant: timefmt.format_time(instant, tz, zoned=True)
    app.jinja_env.filters["local_date"] = lambda instant: timefmt.format_date(instant.astimezone(tz).date())
    app.jinja_env.filters["short_date"] = timefmt.format_date
    app.jinja_env.filters["long_date"] = timefmt.format_long_date

    @app.context_processor
    def clinic_context():
        return {"clinic": app.config["CLINIC"], "timezone_name": tz.key}
