"""The audit log, read-only: who did what to which appointment, availability or account, when, and from where."""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_admin.contrib.sqla.filters import FilterEqual, FilterLike, IntEqualFilter
from sqlalchemy import select

from admin.base import StaffModelView, format_local_datetime, link, local_datetime
from admin.filters import LazyOptions, local_date_filters
from carebook.audit import SOURCES
from carebook.extensions import db
from models import AuditEntry

SOURCE_LABELS = {"portal": "Portal", "api": "API", "admin": "Staff console", "cli": "Command line",
                 "system": "System"}


def entity_type_options() -> list[tuple[str, str]]:
    kinds = db.session.scalars(select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)).all()
    return [(kind, kind) for kind in kinds]


def _readable(value):
    """Instants recorded in UTC (ISO 8601) shown in clinic time, like every other time on the page."""
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and "T" in value:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.utcoffset() is not None:
            return local_datetime(instant)
    return value


def format_details(view, context, model: AuditEntry, name) -> str:
    """The details as plain "key: value" text (escaped by the template like any other text)."""
    return "; ".join(f"{key}: {_readable(value)}" for key, value in sorted((model.details or {}).items()))


#: Where a record of each kind is shown in the console.
_RECORD_PAGES = {"appointment": ("appointments.manage", "appointment_id"), "doctor": ("doctors.profile", "doctor_id"),
                 "patient": ("patients.history", "patient_id")}


def format_record_id(view, context, model: AuditEntry, name):
    if model.entity_id is None:
        return ""
    page = _RECORD_PAGES.get(model.entity_type)
    if page is None:
        return str(model.entity_id)
    endpoint, argument = page
    return link(url_for(endpoint, **{argument: model.entity_id}), str(model.entity_id))


class AuditView(StaffModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_list = ["at", "actor", "source", "action", "entity_type", "entity_id", "details"]
    column_details_list = column_list
    column_labels = {"at": "When", "actor": "Who", "source": "Through", "action": "Action",
                     "entity_type": "Record", "entity_id": "Record id", "details": "Details"}
    column_sortable_list = ["at", "source", "action", "entity_type", ("actor", "actor.full_name")]
    column_default_sort = [("at", True), ("id", True)]
    column_searchable_list = ["action", "actor.full_name", "actor.email"]
    column_filters = [
        FilterEqual(AuditEntry.source, "Through", options=[(s, SOURCE_LABELS.get(s, s)) for s in SOURCES]),
        FilterEqual(AuditEntry.entity_type, "Record", options=LazyOptions(entity_type_options)),
        IntEqualFilter(AuditEntry.entity_id, "Record id"),
        FilterLike(AuditEntry.action, "Action"),
        FilterLike("actor.full_name", "Who"),
        *local_date_filters(AuditEntry.at, "When"),
    ]
    column_formatters = {
        "at": format_local_datetime,
        "actor": lambda view, context, model, name: model.actor.full_name if model.actor else "System",
        "source": lambda view, context, model, name: SOURCE_LABELS.get(model.source, model.source),
        "entity_id": format_record_id,
        "details": format_details,
    }
    column_formatters_detail = column_formatters

    def search_placeholder(self) -> str:
        return "Action or who (name, email)"

    def get_empty_list_message(self) -> str:
        return "No audit entries match."
