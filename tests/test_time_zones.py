"""Each admin's own time zone (issue 16, "Time"): chosen on the account page (an IANA name,
refused by the field when it is none), read by Flask-Babel's ``get_timezone()``, shown in the
footer, and used for every date and time on the pages and for the dashboard's windows, which
are cut at the admin's midnight (at a day boundary and across a daylight saving change)."""

import re
from datetime import UTC, datetime, time
from itertools import pairwise

import pytest
import sqlalchemy as sa
from flask_babel import get_timezone
from flask_login import login_user

from billing_admin.dashboard.service import overview
from billing_admin.extensions import db
from billing_admin.formatting import relative_time, time_zone_note, timestamp
from billing_admin.models import AdminAccount, User
from billing_admin.reporting.trend import weekly_trend
from billing_admin.zones import zone
from tests.helpers import add_plan, add_subscription, add_user, csrf_token_from

HOUR, DAY = 3_600, 86_400
# Issue 16's case: made on 1 January at 01:30 in Moscow, which is 31 December 22:30 UTC.
NEW_YEAR_IN_MOSCOW = 1_767_220_200
NOW = 1_800_000_000  # 2027-01-15 08:00 UTC (11:00 in Moscow)


def choose(client, time_zone: str):
    html = client.get("/account").get_data(as_text=True)
    return client.post(
        "/account/time-zone",
        data={
            "csrf_token": csrf_token_from(html),
            "submission_token": _submission_token(html),
            "time_zone": time_zone,
        },
    )


def _submission_token(html: str) -> str:
    start = html.index('action="/account/time-zone"')
    form = html[start : html.index("</form>", start)]
    return form.split('name="submission_token" type="hidden" value="')[1].split('"')[0]


@pytest.fixture
def pinned_client(set_clock, client, admin, auth):
    """An admin's client with the app's clock pinned to NOW before signing in."""
    set_clock(NOW)
    assert auth.login().status_code == 302
    return client


def stored_zone(email: str = "admin@example.com") -> str | None:
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    return db.session.get(AdminAccount, user.id).time_zone


# --- Choosing a zone -------------------------------------------------------------------------


def test_the_account_page_offers_the_zone_names(admin_client):
    html = admin_client.get("/account").get_data(as_text=True)
    assert 'action="/account/time-zone"' in html
    assert 'list="time-zone-names"' in html
    assert '<option value="Europe/Moscow">' in html and '<option value="UTC">' in html


def test_an_admin_chooses_a_zone_by_its_name_in_any_case(admin_client):
    response = choose(admin_client, "  europe/MOSCOW ")
    assert response.status_code == 303 and response.location.endswith("/account")
    assert stored_zone() == "Europe/Moscow"
    html = admin_client.get("/account").get_data(as_text=True)
    assert "Times are now shown in Europe/Moscow." in html
    assert 'value="Europe/Moscow"' in html  # the field shows the choice


def test_an_empty_choice_goes_back_to_the_default_zone(admin_client):
    choose(admin_client, "Asia/Tokyo")
    response = choose(admin_client, "")
    assert response.status_code == 303
    assert stored_zone() is None
    html = admin_client.get("/account").get_data(as_text=True)
    assert "Times are now shown in the site&#39;s default zone, UTC." in html


@pytest.mark.parametrize("nonsense", ["Moscow", "UTC+3", "Europe/Mordor", "x" * 300])
def test_a_name_that_is_no_zone_is_refused_by_the_field_and_kept(admin_client, nonsense):
    choose(admin_client, "Asia/Tokyo")
    response = choose(admin_client, nonsense)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not a time zone name. Choose one from the list" in html
    assert 'aria-invalid="true"' in html and 'href="#time_zone"' in html
    assert f'value="{nonsense}"' in html  # what was typed stays for correcting
    assert stored_zone() == "Asia/Tokyo"  # nothing changed


def test_after_a_refused_zone_every_form_of_the_page_has_its_own_submission_token(admin_client):
    html = choose(admin_client, "Moscow").get_data(as_text=True)
    tokens = re.findall(r'name="submission_token"[^>]*value="([^"]+)"', html)
    assert len(tokens) >= 2 and len(set(tokens)) == len(tokens)


def test_a_viewer_chooses_their_own_zone_too(viewer_client):
    assert choose(viewer_client, "Europe/Berlin").status_code == 303
    assert stored_zone("viewer@example.com") == "Europe/Berlin"


def test_a_platform_admin_without_an_account_row_gets_one_with_the_zone(app, client, auth):
    user = add_user("platform@example.com", "correct horse battery staple", role="admin")
    db.session.execute(sa.delete(AdminAccount).where(AdminAccount.user_id == user.id))
    db.session.commit()
    assert auth.login("platform@example.com", "correct horse battery staple").status_code == 302
    assert choose(client, "Asia/Kolkata").status_code == 303
    assert stored_zone("platform@example.com") == "Asia/Kolkata"


# --- Flask-Babel's zone and the footer -------------------------------------------------------


def test_get_timezone_is_the_admins_zone_else_the_display_timezone(app_factory):
    app = app_factory(DISPLAY_TIMEZONE="Asia/Tokyo")
    with app.app_context():
        db.create_all()
        admin = add_user("a@example.com", "pw", role="admin")
        other = add_user("b@example.com", "pw", role="admin")
        db.session.get(AdminAccount, admin.id).time_zone = "Europe/Moscow"
        db.session.commit()
        admin_id, other_id = admin.id, other.id
    # Each in a context of its own, as each request has (Flask-Babel keeps the zone in ``g``).
    with app.test_request_context("/admin/"):
        login_user(db.session.get(User, admin_id))
        assert str(get_timezone()) == "Europe/Moscow"
    with app.test_request_context("/admin/"):
        login_user(db.session.get(User, other_id))
        assert str(get_timezone()) == "Asia/Tokyo"
    with app.test_request_context("/auth/login"):
        assert str(get_timezone()) == "Asia/Tokyo"  # nobody signed in


def test_the_footer_names_the_zone_and_its_offset(pinned_client):
    admin_client = pinned_client
    assert "Times in UTC" in admin_client.get("/admin/").get_data(as_text=True)
    choose(admin_client, "Europe/Moscow")
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "Times in Europe/Moscow (UTC+03:00)" in html
    admin_client.post(
        "/account/language",
        data={"csrf_token": csrf_token_from(html), "locale": "ru", "next": "/admin/"},
    )
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "Время указано в поясе Europe/Moscow (UTC+03:00)" in html


def test_the_footer_offset_follows_daylight_saving_time(app_factory, set_clock):
    app = app_factory(DISPLAY_TIMEZONE="Europe/Berlin")
    with app.test_request_context("/"):
        set_clock(NOW)  # January
        assert time_zone_note() == "Times in Europe/Berlin (UTC+01:00)"
    with app.test_request_context("/"):
        set_clock(NOW + 180 * DAY)  # July
        assert time_zone_note() == "Times in Europe/Berlin (UTC+02:00)"


# --- Dates and times on the pages ------------------------------------------------------------


@pytest.fixture
def new_year(app):
    """A subscription made at 01:30 on 1 January 2026 in Moscow (22:30 UTC the day before)."""
    add_plan("pro")
    subscription = add_subscription("pro", created_at=NEW_YEAR_IN_MOSCOW)
    db.session.commit()
    return subscription.id


def test_a_moscow_admin_sees_1_january_where_a_utc_admin_sees_31_december(new_year, pinned_client):
    admin_client = pinned_client
    subscription_page = f"/admin/subscriptions/{new_year}"
    subscribers = "/admin/plans/pro/subscribers"
    html = admin_client.get(subscription_page).get_data(as_text=True)
    assert "Dec 31, 2025, 10:30\u202fPM UTC" in html
    assert '<time datetime="2025-12-31">Dec 31, 2025</time>' in admin_client.get(
        subscribers
    ).get_data(as_text=True)

    choose(admin_client, "Europe/Moscow")
    html = admin_client.get(subscription_page).get_data(as_text=True)
    assert "Jan 1, 2026, 1:30\u202fAM UTC+03:00" in html
    assert "Dec 31, 2025" not in html
    assert '<time datetime="2026-01-01">Jan 1, 2026</time>' in admin_client.get(
        subscribers
    ).get_data(as_text=True)


def test_times_carry_the_offset_of_their_own_moment(app_factory):
    app = app_factory(DISPLAY_TIMEZONE="Europe/Berlin")
    with app.test_request_context("/"):
        winter, summer = NOW, NOW + 180 * DAY  # 15 January, 14 July 2027
        assert timestamp(winter) == "Jan 15, 2027, 9:00\u202fAM UTC+01:00"
        assert timestamp(summer) == "Jul 14, 2027, 10:00\u202fAM UTC+02:00"


def test_relative_days_are_counted_between_the_zones_calendar_dates(app_factory):
    app = app_factory(DISPLAY_TIMEZONE="Europe/Moscow")
    now = NOW + 9 * HOUR  # 15 January, 20:00 in Moscow
    ends = NOW + 11 * DAY + 18 * HOUR  # 27 January, 05:00 in Moscow: 11 days 9 hours later
    with app.test_request_context("/"):
        assert relative_time(ends, now) == "in 12 days"  # 15 → 27 January
        assert relative_time(now, ends) == "12 days ago"
        assert relative_time(NOW + 2 * HOUR, NOW) == "in 2 hours"  # under a day: hours


def test_relative_time_on_a_25_hour_day_stays_in_hours(app_factory):
    app = app_factory(DISPLAY_TIMEZONE="Europe/Berlin")
    start, end = berlin(2027, 10, 31, 0, 10), berlin(2027, 10, 31, 23, 50)  # 24 h 40 min
    with app.test_request_context("/"):
        assert relative_time(end, start) == "in 25 hours"


# --- Dashboard windows, cut at the admin's midnight ------------------------------------------

MOSCOW_MIDNIGHT_29_DAYS_AGO = 1_797_454_800  # 2026-12-17 00:00 in Moscow = 12-16 21:00 UTC
UTC_MIDNIGHT_29_DAYS_AGO = 1_797_465_600  # 2026-12-17 00:00 UTC


def test_the_30_day_window_starts_at_the_admins_midnight(app, set_clock):
    set_clock(NOW)
    add_plan("pro")
    add_subscription("pro", created_at=MOSCOW_MIDNIGHT_29_DAYS_AGO - 1)
    add_subscription("pro", created_at=MOSCOW_MIDNIGHT_29_DAYS_AGO)
    add_subscription("pro", created_at=UTC_MIDNIGHT_29_DAYS_AGO)
    db.session.commit()
    moscow = overview(zone("Europe/Moscow"))
    assert moscow.window_start == MOSCOW_MIDNIGHT_29_DAYS_AGO
    assert moscow.new_in_window == 2
    utc = overview(zone("UTC"))
    assert utc.window_start == UTC_MIDNIGHT_29_DAYS_AGO
    assert utc.new_in_window == 1


def test_the_dashboard_page_says_where_its_window_starts(pinned_client):
    admin_client = pinned_client
    choose(admin_client, "Europe/Moscow")
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "from Dec 17, 2026, 12:00\u202fAM UTC+03:00 (midnight in your time zone)" in html


def test_the_weekly_chart_is_labelled_with_the_admins_days(set_clock, client, admin, auth):
    # 15 January 2027, 22:00 UTC is already the 16th in Moscow: the last week starts on the
    # 10th there and on the 9th in UTC.
    set_clock(NOW + 14 * HOUR)
    assert auth.login().status_code == 302
    admin_client = client
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert "<td>Jan 9</td>" in html or ">Jan 9<" in html
    choose(admin_client, "Europe/Moscow")
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert ">Jan 10<" in html and ">Jan 9<" not in html


BERLIN = zone("Europe/Berlin")


def berlin(year, month, day, hour=0, minute=0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp())


@pytest.mark.parametrize(
    ("now", "change", "hours"),
    [
        # Summer time begins on Sunday 28 March 2027 (02:00 → 03:00): that week is 167 hours.
        (berlin(2027, 4, 20, 12), berlin(2027, 3, 28, 12), 167),
        # It ends on Sunday 31 October 2027 (03:00 → 02:00): that week is 169 hours.
        (berlin(2027, 11, 20, 12), berlin(2027, 10, 31, 12), 169),
    ],
)
def test_weeks_across_a_daylight_saving_change_still_start_at_berlin_midnight(
    app, now, change, hours
):
    starts = [week.start for week in weekly_trend(now, where=BERLIN)]
    assert all(datetime.fromtimestamp(s, BERLIN).time() == time(0) for s in starts)
    lengths = {(b - a) // HOUR for a, b in pairwise(starts)}
    assert lengths == {168, hours}
    # The week holding the change: a row at its first second (local midnight) is in it, a row
    # one second earlier is in the week before; likewise at the start of the week after it.
    (week,) = [n for n in range(11) if starts[n] <= change < starts[n + 1]]
    add_plan("pro")
    for moment in (starts[week] - 1, starts[week], starts[week + 1] - 1, starts[week + 1]):
        add_subscription("pro", created_at=moment)
    db.session.commit()
    counts = [w.new for w in weekly_trend(now, where=BERLIN)]
    assert counts[week - 1 : week + 2] == [1, 2, 1]
    assert sum(counts) == 4


def test_the_window_across_summer_time_starts_at_berlin_midnight(app, set_clock):
    now = berlin(2027, 4, 10, 12)  # 30 days back crosses 28 March
    set_clock(now)
    add_plan("pro")
    start = berlin(2027, 3, 12)  # today and the 29 days before: from 12 March, 00:00 CET
    add_subscription("pro", created_at=start - 1)
    add_subscription("pro", created_at=start)
    db.session.commit()
    figures = overview(BERLIN)
    assert figures.window_start == start
    assert datetime.fromtimestamp(start, UTC).hour == 23  # 11 March, 23:00 UTC
    assert now - start == 29 * DAY + 12 * HOUR - HOUR  # an hour less than 29.5 × 24 hours
    assert figures.new_in_window == 1
