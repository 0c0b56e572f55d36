"""``/healthz`` for load balancers: is the app up, and can it reach its database?"""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from billing_admin.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable", exc_info=True)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
