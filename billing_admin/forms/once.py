"""One-time submission tokens: the second submission of a form does nothing and leads to the
result of the first (a double click, a resent POST, a second tab).

Every ``Form`` (and every one-button action form, templates/_macros/forms.html) carries a random
``submission_token``, new each time the form is rendered. A POST that carries one claims it
before the view runs, after the access guard and the CSRF check:

1. In a short transaction of its own, insert ``form_submission`` (the SHA-256 of the user's id
   and the token; rows older than a day are deleted at the same time). The primary key makes the
   claim atomic across workers and processes: on PostgreSQL a second insert of the same key
   waits for the first one's commit and then fails; on SQLite writers take turns.
2. The view runs as usual. When it answers with a redirect (the Post/Redirect/Get of every
   successful form), the row records where it led. Any other answer (the form again with its
   errors, a confirmation to give, an error page) deletes the row: nothing was done, and the
   same token may be sent again.
3. A POST whose claim fails is a repeat. It waits (up to WAIT_SECONDS, polling) while the first
   is still being handled, then redirects to the first's result with a message, without
   running the view. If the first ended without a result (row deleted), the repeat claims the
   token and runs. A claim older than ABANDONED_SECONDS with no result (its worker died) is
   taken over.

Cost: two small writes per form POST. The sign-in steps carry no token (``Form.one_time``):
each of their answers sets cookies, which a replayed redirect would not. A success shown as a
page rather than a redirect (a new account's set-password link, shown once) is not replayed
either: a second submission runs again, and the rules answer it (the email is taken).
"""

import hashlib
import time

import sqlalchemy as sa
from flask import Flask, Response, current_app, flash, g, redirect, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import Conflict

from billing_admin.auth.guard import is_api_request
from billing_admin.auth.redirects import safe_next
from billing_admin.clock import now_epoch
from billing_admin.extensions import db
from billing_admin.forms import SUBMISSION_FIELD
from billing_admin.models import FormSubmission
from billing_admin.transactions import start_write

KEEP_SECONDS = 24 * 60 * 60
ABANDONED_SECONDS = 120
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.1
TOKEN_MAX = 64


def submission_key(token: str) -> str:
    """The stored key of ``token`` for the signed-in user (or an anonymous visitor)."""
    user_id = current_user.get_id() if current_user.is_authenticated else None
    return hashlib.sha256(f"{user_id or '-'}:{token}".encode()).hexdigest()


def claim(key: str) -> bool:
    """Record the first use of ``key``; False when it was used (or is being used) already."""
    now = now_epoch()
    start_write()
    table = FormSubmission.__table__
    db.session.execute(sa.delete(table).where(table.c.created_at < now - KEEP_SECONDS))
    try:
        db.session.execute(sa.insert(table).values(key_hash=key, result_url=None, created_at=now))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _take_over(key: str, claimed_at: int) -> bool:
    """Claim a use whose handler died without a result (its claim is older than
    ABANDONED_SECONDS)."""
    start_write()
    table = FormSubmission.__table__
    taken = db.session.execute(
        sa.update(table)
        .where(
            table.c.key_hash == key,
            table.c.result_url.is_(None),
            table.c.created_at == claimed_at,
        )
        .values(created_at=now_epoch())
    ).rowcount
    db.session.commit()
    return bool(taken)


def result_of_first(key: str) -> str | None:
    """Where the first submission led, waiting while it is being handled; None when this
    request has claimed the token itself (the first ended without a result, or died).
    Raises Conflict when the first is still running after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    table = FormSubmission.__table__
    while True:
        db.session.rollback()  # a fresh snapshot each time
        row = db.session.execute(
            sa.select(table.c.result_url, table.c.created_at).where(table.c.key_hash == key)
        ).first()
        if row is None:
            if claim(key):
                return None
        elif row.result_url is not None:
            return row.result_url
        elif now_epoch() - row.created_at > ABANDONED_SECONDS and _take_over(key, row.created_at):
            return None
        if time.monotonic() >= deadline:
            raise Conflict(
                gettext(
                    "This form was already sent and is still being handled. Reload the page "
                    "in a moment to see its result."
                )
            )
        time.sleep(POLL_SECONDS)


def before_request() -> Response | None:
    if request.method != "POST" or is_api_request():
        return None
    token = request.form.get(SUBMISSION_FIELD)
    if not token or len(token) > TOKEN_MAX:
        return None
    key = submission_key(token)
    if claim(key):
        g.submission_key = key
        return None
    url = result_of_first(key)
    if url is None:
        g.submission_key = key
        return None
    flash(gettext("This form had already been sent: here is its result."), "info")
    return redirect(safe_next(url, "/"), 303)


def after_request(response: Response) -> Response:
    key = g.pop("submission_key", None)
    if key is None:
        return response
    table = FormSubmission.__table__
    try:
        db.session.rollback()
        start_write()
        if 300 <= response.status_code < 400 and response.location:
            db.session.execute(
                sa.update(table)
                .where(table.c.key_hash == key)
                .values(result_url=response.location[:2048])
            )
        else:
            db.session.execute(sa.delete(table).where(table.c.key_hash == key))
        db.session.commit()
    except DBAPIError as error:
        # The database went away: the claim stays without a result and is taken over after
        # ABANDONED_SECONDS.
        db.session.rollback()
        current_app.logger.error("could not record a form submission's result: %s", error)
    return response


def register_one_time_submissions(app: Flask) -> None:
    """After the CSRF check (registered by ``csrf.init_app``): a forged POST claims nothing."""
    app.before_request(before_request)
    app.after_request(after_request)
