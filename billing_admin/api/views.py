"""The JSON API for scripts, under /api/v1. Read-only; auth is checked by auth/guard.py."""

from flask import Blueprint, g, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/whoami")
def whoami():
    """Which admin a token or session speaks for: a script's first check of its credentials."""
    user = g.api_user
    return jsonify(user_id=user.id, email=user.email, name=user.name, role=user.role)
