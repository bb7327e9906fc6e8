"""The staff console, on Flask-Admin. Only staff reach any view under /admin."""
from __future__ import annotations

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user

from models import Role


class StaffOnlyMixin:
    """Flask-Admin's own access hooks, agreeing with carebook.access's before_request check."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.role is Role.STAFF

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        current_app.logger.warning("refused admin view %s to user %s", name, current_user.id)
        abort(403)


class StaffIndexView(StaffOnlyMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/index.html")


def init_admin(app: Flask) -> Admin:
    admin = Admin(app, name=app.config["CLINIC"].name + " · Staff", url="/admin",
                  index_view=StaffIndexView(url="/admin"), theme=Bootstrap4Theme(swatch="default"))
    # carebook.access treats every view registered here as staff-only.
    return admin
