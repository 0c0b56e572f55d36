"""One error handler for every HTTP error: JSON ``{"detail": ...}`` under ``/api/``, else a page."""

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from billing_admin.extensions import db


def wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(error: HTTPException):
    if wants_json():
        response = jsonify(detail=error.description)
    else:
        response = render_template("errors/error.html", error=error)
    return response, error.code


def render_internal_error(error: InternalServerError):
    # Flask has already logged the unhandled exception with its traceback (app.log_exception);
    # here we only undo the failed unit of work and show a plain message.
    db.session.rollback()
    return render_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(InternalServerError, render_internal_error)
