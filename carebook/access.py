"""Who may use which route.

Every view declares its audience with :func:`allow` (or :func:`public`). A
``before_request`` hook enforces the declaration, and refuses routes that declare
nothing, so a forgotten decorator fails closed. The route-by-role test reads the
same declarations. Object-level checks (is this *your* appointment?) stay in the views.
"""
from __future__ import annotations

from typing import Callable, NoReturn

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from models import Role

ANONYMOUS = "anonymous"
_ATTRIBUTE = "_allowed_roles"
# Endpoints that Flask and Flask-Admin register themselves.
_BUILTIN_PUBLIC = {"static"}


def allow(*roles: Role) -> Callable:
    """Only signed-in users with one of ``roles`` may use the decorated view."""
    def decorate(view: Callable) -> Callable:
        setattr(view, _ATTRIBUTE, frozenset(roles))
        return view
    return decorate


def public(view: Callable) -> Callable:
    """Anyone, signed in or not, may use the decorated view."""
    setattr(view, _ATTRIBUTE, frozenset({ANONYMOUS, *Role}))
    return view


def allowed_roles(app: Flask, endpoint: str) -> frozenset | None:
    """The audience declared for ``endpoint``; None if it declared nothing."""
    if endpoint in _BUILTIN_PUBLIC or endpoint.endswith(".static"):
        return frozenset({ANONYMOUS, *Role})
    view = app.view_functions.get(endpoint)
    declared = getattr(view, _ATTRIBUTE, None)
    if declared is None and getattr(view, "view_class", None) is not None:
        declared = getattr(view.view_class, _ATTRIBUTE, None)
    if declared is None and _is_admin_endpoint(app, endpoint):
        return frozenset({Role.STAFF})
    return declared


def _is_admin_endpoint(app: Flask, endpoint: str) -> bool:
    blueprint = endpoint.rpartition(".")[0]
    return any(blueprint == view.endpoint for admin in app.extensions.get("admin", []) for view in admin._views)


def refuse_anonymous_api_calls() -> None:
    """before_request hook, ahead of the CSRF check: an API call to a signed-in operation without a
    sign-in is answered 401, as the API description says, rather than "CSRF token missing" (the
    token belongs to a session the caller does not have). Everything else is left to the hooks after."""
    if request.blueprint != "api" or request.endpoint is None:
        return None
    roles = allowed_roles(current_app, request.endpoint)
    if roles is None or ANONYMOUS in roles or current_user.is_authenticated:
        return None
    abort(401)


def enforce_declared_access() -> None:
    """before_request hook: apply the route's declaration to the current user."""
    if request.endpoint is None:
        return None  # 404 / 405 follow
    roles = allowed_roles(current_app, request.endpoint)
    if roles is None:
        current_app.logger.error("route %s declares no audience; refusing", request.endpoint)
        refuse("undeclared_route")
    if ANONYMOUS in roles:
        return None
    if not current_user.is_authenticated:
        if request.blueprint == "api":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in roles:
        current_app.logger.warning("refused %s to user %s (%s)", request.endpoint, current_user.id,
                                   current_user.role.value)
        refuse("role_not_allowed")
    return None


def request_source() -> str:
    """The door this request came through, as the audit log names it: "api", "admin" or "portal"."""
    if request.blueprint == "api":
        return "api"
    return "admin" if _is_admin_endpoint(current_app, request.endpoint or "") else "portal"


def refuse(reason: str) -> NoReturn:
    """403, with an audit row saying who was refused what (kept: the request's work is rolled back)."""
    from carebook import auth_events
    from carebook.extensions import db

    user = current_user._get_current_object() if current_user.is_authenticated else None
    auth_events.record_refusal(db.session, auth_events.ACCESS_REFUSED, user, source=request_source(), actor=user,
                               method=request.method, reason=reason, role=user.role.value if user else "anonymous")
    abort(403)

