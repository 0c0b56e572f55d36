"""Finding 1: sign-in throttling that a stranger cannot turn against a real admin.

Before issue 15, five wrong passwords every 15 minutes kept an admin out for ever
(test_a_strangers_guesses_every_15_minutes_never_keep_the_admin_out failed on that code: the
admin's right password got "Too many failed sign-in attempts"). Now the account's delay applies
to clients that failed (and to every client past 100 failures an hour), not to the admin's own
browser; and Flask-Limiter limits each client address, counted in the real Redis.
"""

import threading

import pytest
import sqlalchemy as sa

from billing_admin.auth import throttle
from billing_admin.extensions import db, limiter
from billing_admin.models import AuditLog, SignInFailure
from tests.conftest import IsolatedClient
from tests.helpers import ADMIN_EMAIL, AuthActions

START = 1_800_000_000
STRANGER = "198.51.100.9"
ADMINS_OFFICE = "203.0.113.7"
WRONG = "wrong password!"


@pytest.fixture
def no_client_limit(app):
    """Leave the per-client limit out of the way, to test the account's delay alone."""
    app.config["SIGN_IN_CLIENT_LIMIT"] = "100000 per minute"


def browser(app, address: str) -> AuthActions:
    """A browser at ``address``, each request in a fresh context as on a real server."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return AuthActions(client)


def signed_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_a_strangers_guesses_every_15_minutes_never_keep_the_admin_out(
    app, admin, set_clock, no_client_limit
):
    stranger, own = browser(app, STRANGER), browser(app, ADMINS_OFFICE)
    for quarter in range(12):  # three hours of five guesses every 15 minutes
        set_clock(START + quarter * 15 * 60)
        for _ in range(5):
            stranger.login(password=WRONG)
        response = own.login()
        assert signed_in(response), (quarter, response.get_data(as_text=True))
        own.logout()


def test_the_stranger_is_slowed_progressively_and_learns_nothing_while_waiting(
    app, admin, set_clock, no_client_limit
):
    stranger = browser(app, STRANGER)
    set_clock(START)
    for _ in range(5):
        assert "Invalid email or password" in stranger.login(password=WRONG).get_data(as_text=True)
    refused = stranger.login(password=WRONG).get_data(as_text=True)
    assert "Try again in 1 second." in refused
    # The right password from the stranger's address is not even checked while it waits.
    waiting = stranger.login()
    assert waiting.status_code == 200
    assert "Try again in 1 second." in waiting.get_data(as_text=True)
    set_clock(START + 1)
    stranger.login(password=WRONG)  # the sixth failure: 2 seconds now
    set_clock(START + 2)
    assert "Try again in 1 second." in stranger.login(password=WRONG).get_data(as_text=True)
    set_clock(START + 3)
    stranger.login(password=WRONG)  # the seventh: 4 seconds
    set_clock(START + 4)
    assert "Try again in 3 seconds." in stranger.login().get_data(as_text=True)
    db.session.rollback()
    counted = db.session.scalar(sa.select(sa.func.count(SignInFailure.id)))
    assert counted == 7  # attempts refused while waiting are not counted


def test_the_delay_grows_to_five_minutes_at_most():
    assert [throttle.delay_after(n) for n in range(4, 9)] == [0, 1, 2, 4, 8]
    assert throttle.delay_after(14) == 300
    assert throttle.delay_after(99) == 300


def test_the_admins_device_cookie_gets_in_even_from_the_strangers_address(
    app, admin, set_clock, no_client_limit
):
    """An office behind one NAT address: the stranger and the admin share it."""
    own = browser(app, STRANGER)
    set_clock(START)
    assert signed_in(own.login())
    own.logout()
    assert own.client.get_cookie("device") is not None
    stranger = browser(app, STRANGER)
    for _ in range(12):
        stranger.login(password=WRONG)
    assert "Try again in" in stranger.login().get_data(as_text=True)
    assert signed_in(own.login())


def test_a_device_cookie_of_another_account_or_forged_is_not_trusted(
    app, admin, set_clock, no_client_limit
):
    stranger = browser(app, STRANGER)
    set_clock(START)
    for _ in range(6):
        stranger.login(password=WRONG)
    stranger.client.set_cookie("device", "forged.value.here")
    assert "Try again in" in stranger.login().get_data(as_text=True)
    with app.test_request_context():
        other_account = throttle.device_cookie_value("someone-else")
    stranger.client.set_cookie("device", other_account)
    assert "Try again in" in stranger.login().get_data(as_text=True)


def test_guesses_from_many_addresses_are_capped_at_100_an_hour(
    app, admin, set_clock, no_client_limit
):
    set_clock(START)
    for n in range(throttle.ACCOUNT_CEILING):
        set_clock(START + n * 30)
        browser(app, f"10.9.{n // 250}.{n % 250}").login(password=WRONG)
    set_clock(START + 100 * 30)
    # A fresh address no longer passes: only the admin's device cookie would.
    response = browser(app, "192.0.2.200").login()
    assert "Try again in" in response.get_data(as_text=True)


def test_a_success_forgets_only_its_own_clients_failures(app, admin, set_clock, no_client_limit):
    stranger, own = browser(app, STRANGER), browser(app, ADMINS_OFFICE)
    set_clock(START)
    for _ in range(3):
        stranger.login(password=WRONG)
    own.login(password=WRONG)
    assert signed_in(own.login())
    db.session.rollback()
    clients = db.session.scalars(sa.select(SignInFailure.client)).all()
    assert clients == [STRANGER] * 3


# -- The per-client limit (Flask-Limiter, Redis) -----------------------------------------------


def test_the_limiter_counts_in_redis_in_tests_and_in_memory_by_default(app, app_factory):
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert type(limiter.storage).__name__ == "RedisStorage"
    from billing_admin.config import DefaultConfig

    assert DefaultConfig.RATELIMIT_STORAGE_URI == "memory://"


def test_a_client_with_too_many_failures_gets_429_and_others_do_not(app, admin, set_clock):
    set_clock(START)
    stranger = browser(app, STRANGER)
    for n in range(10):
        # Different emails: the account delays do not come into it.
        response = stranger.login(f"guess{n}@example.com", WRONG)
        assert response.status_code == 200
    response = stranger.login()
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many failed sign-in attempts from your address. Try again later." in page
    assert "Retry-After" in response.headers
    # Another address is not affected, nor a browser holding a device cookie.
    assert signed_in(browser(app, ADMINS_OFFICE).login())
    own = browser(app, STRANGER)
    with app.test_request_context():
        own.client.set_cookie("device", throttle.device_cookie_value(admin.id))
    assert signed_in(own.login())
    db.session.rollback()
    reasons = db.session.scalars(
        sa.select(AuditLog.audit_metadata).where(AuditLog.action == "sign_in_throttled")
    ).all()
    assert {"reason": "client limit", "email": ADMIN_EMAIL, "address": STRANGER} in reasons


def test_successful_sign_ins_do_not_count_against_the_client(app, admin, set_clock):
    own = browser(app, ADMINS_OFFICE)
    set_clock(START)
    for _ in range(15):
        assert signed_in(own.login())
        own.logout()


def test_limits_are_shared_by_workers_through_redis(app, admin, app_factory, set_clock):
    """Two app processes (gunicorn workers) with one Redis prefix count together."""
    set_clock(START)
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    other = app_factory(RATELIMIT_KEY_PREFIX=prefix)
    first, second = browser(app, STRANGER), browser(other, STRANGER)
    for n in range(5):
        first.login(f"a{n}@example.com", WRONG)
        second.login(f"b{n}@example.com", WRONG)
    assert second.login("c@example.com", WRONG).status_code == 429


@pytest.mark.postgresql_only
def test_a_burst_of_guesses_at_once_is_still_slowed_after_five(app, admin, set_clock):
    """Twelve wrong passwords from one client at the same moment: only five are checked."""
    from billing_admin.auth.service import check_password

    set_clock(START)
    start = threading.Barrier(12, timeout=30)
    outcomes = []

    def guess():
        with app.test_request_context(environ_base={"REMOTE_ADDR": STRANGER}):
            start.wait()
            outcomes.append(check_password(ADMIN_EMAIL, WRONG))

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.rollback()
    # The first attempt of a clean client is free; after that its failures make it wait.
    assert db.session.scalar(sa.select(sa.func.count(SignInFailure.id))) <= 5
    assert sum(1 for outcome in outcomes if outcome.wait_seconds) >= 7


def test_without_its_redis_sign_in_fails_closed_with_503(app_factory, admin, caplog):
    unreachable = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    unreachable.test_client_class = IsolatedClient
    response = AuthActions(unreachable.test_client()).login()
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "the sign-in limit store does not answer" in page
    assert "Traceback" not in page
    assert "rate-limit storage unavailable" in caplog.text
