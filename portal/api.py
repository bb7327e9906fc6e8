"""The JSON API under /api."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_wtf.csrf import generate_csrf

from carebook.access import public

bp = Blueprint("api", __name__)


@bp.route("/csrf-token")
@public
def csrf_token():
    return jsonify(csrf_token=generate_csrf())
