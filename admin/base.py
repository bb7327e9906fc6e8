"""What every console view shares: staff-only access, CSRF-protected forms, the audit actor, clinic time."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, redirect, request, url_for
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from carebook import audit, calendar_limits, timefmt
from carebook.clock import utcnow
from models import Role

#: The audit log's name for the staff console.
SOURCE = "admin"


class StaffOnlyMixin:
    """Flask-Admin's own access hooks, agreeing with carebook.access's before_request check.

    carebook.access already refuses everyone but staff on every admin blueprint; this
    second check keeps Flask-Admin itself closed (menus, and any view it renders) if
    that wiring ever changes.
    """

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role is Role.STAFF

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        current_app.logger.warning("refused admin view %s to user %s", name, current_user.id)
        from carebook.access import refuse

        refuse("not_staff")


class StaffModelView(StaffOnlyMixin, ModelView):
    """A Flask-Admin list over one model, with the console's defaults.

    Forms are Flask-WTF forms, so each carries the CSRF token that CSRFProtect checks
    (Flask-Admin's delete and action forms are built from this class too). Nothing is
    hard-deleted from the console; views that write override create/update and call
    the services.
    """

    form_base_class = FlaskForm
    named_filter_urls = True  # readable, linkable filter URLs (the dashboard links to them)
    can_delete = False
    can_view_details = False
    can_set_page_size = True
    page_size = 50
    list_template = "admin/model/staff_list.html"
    create_template = "admin/model/staff_create.html"
    edit_template = "admin/model/staff_edit.html"


def actor() -> audit.Actor:
    """The signed-in staff member, acting through the console."""
    return audit.Actor(current_user._get_current_object(), SOURCE)


def clinic_zone() -> ZoneInfo:
    return current_app.config["CLINIC"].timezone


def today() -> date:
    """Today's date at the clinic."""
    return utcnow().astimezone(clinic_zone()).date()


def local_datetime(instant: datetime | None) -> str:
    return timefmt.format_datetime(instant, clinic_zone()) if instant is not None else ""


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD day that pages can shift by weeks (carebook/calendar_limits.py); None otherwise."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and calendar_limits.day_in_span(day) else None


def parse_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def link(url: str, text: str, css_class: str = "") -> Markup:
    """An <a> element; ``text`` is escaped, so user data is safe in it."""
    if css_class:
        return Markup('<a href="{}" class="{}">{}</a>').format(url, css_class, text)
    return Markup('<a href="{}">{}</a>').format(url, text)


def format_local_datetime(view, context, model, name) -> str:
    return local_datetime(getattr(model, name))
