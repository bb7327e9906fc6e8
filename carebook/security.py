"""Browser hardening on every response, and the per-request bookkeeping of the sign-in session.

Headers (``after_request``):

* ``Content-Security-Policy``: scripts only from this site. No inline script and no
  ``javascript:`` URLs anywhere; a page whose template asks for a nonce (Flask-Admin's
  list pages ask for one for their few inline scripts) gets ``'nonce-…'`` added for
  that response alone. No plugins, no ``<base>``, no framing, forms post only here.
* ``Strict-Transport-Security`` outside development, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` (Flask-WTF's HTTPS referrer check still gets its
  same-site Referer, other sites get nothing, so reset links never leak),
  ``X-Frame-Options`` for old browsers, and ``Cache-Control: no-store`` on the pages of a
  signed-in user, so the back button on a shared computer shows nothing after log-out.

Session (``before_request``, before the access check): load the signed-in user once,
which also ends a timed-out session (see :func:`carebook.accounts.examine_session`); that
bookkeeping is written apart from the request's own transaction (carebook/unit_of_work.py).
"""
from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, flash, g, request, session
from flask_login import current_user
from werkzeug.routing import IntegerConverter


CSP_NONCE_ATTRIBUTE = "_csp_nonce"
HSTS = "max-age=31536000; includeSubDomains"
_STATIC_SUFFIX = ".static"


def csp_nonce() -> str:
    """This request's nonce (made on first use); only then does the policy name one."""
    nonce = g.get(CSP_NONCE_ATTRIBUTE)
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        setattr(g, CSP_NONCE_ATTRIBUTE, nonce)
    return nonce


@lru_cache(maxsize=4)
def static_origin(static_url_base: str | None) -> str | None:
    """``https://d1.cloudfront.net/assets`` -> ``https://d1.cloudfront.net``: the CDN the static files come from."""
    if not static_url_base:
        return None
    parts = urlsplit(static_url_base)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(nonce: str | None, static_from: str | None = None) -> str:
    assets = "'self'" + (f" {static_from}" if static_from else "")
    scripts = assets + (f" 'nonce-{nonce}'" if nonce else "")
    directives = {
        "default-src": "'self'",
        "script-src": scripts,
        "style-src": assets,
        # Bootstrap's stylesheet draws a few icons from data: URIs.
        "img-src": f"{assets} data:",
        "font-src": assets,
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(_STATIC_SUFFIX)


#: Where Flask-Login keeps the signed-in session's id in the cookie.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id")


def load_signed_in_user() -> None:
    """before_request: resolve the session now (its bookkeeping is written apart), and forget an ended one."""
    if _is_static():
        return
    user = current_user._get_current_object()
    if "_user_id" in session and not user.is_authenticated:
        # The cookie names a session that has ended: timed out, logged out elsewhere, password
        # changed or account disabled. Forget it (keeping the CSRF token) and say so once.
        for key in _LOGIN_KEYS:
            session.pop(key, None)
        if request.blueprint != "api":
            flash("Your session has ended. Please log in again.", "info")


def refuse_unstorable_input() -> None:
    """before_request: a NUL character in a query string or form field is refused with 400.

    No text field of the app can hold one (PostgreSQL refuses it outright), so it can only
    be an attack or garbage; refusing it here keeps every form and filter from failing
    deeper down with a 500. The JSON API checks its own input (portal.api_schemas).
    """
    if request.blueprint == "api" or _is_static():
        return
    values = list(request.args.values())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.values())
    if any("\x00" in value for value in values):
        abort(400)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(
        g.get(CSP_NONCE_ATTRIBUTE), static_origin(current_app.config.get("STATIC_URL_BASE")))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if current_app.config["ENV_NAME"] != "development":
        headers["Strict-Transport-Security"] = HSTS
    # "_user_id" is in the cookie exactly while someone is signed in (load_signed_in_user drops an
    # ended session's); asking current_user would reload the user after the view's commit.
    if not _is_static() and "_user_id" in session:
        headers["Cache-Control"] = "no-store"
    return response


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every route: only ids a 32-bit integer column can hold (1 to 2**31 - 1).

    A longer number is a 404 like any other unknown id, instead of an overflow in the database.
    """

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Register the hooks. Call before the access check is registered: it reads the user loaded here.

    Call before any blueprint is registered, too: their routes then use the bounded ``int``.
    """
    app.url_map.converters["int"] = DatabaseId
    app.before_request(refuse_unstorable_input)
    app.before_request(load_signed_in_user)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
