"""Pages show only the controls the access guard would let the account use: a viewer reads a
plan's page and list without Edit, Activate, Duplicate, Delete or Move (issue 15's roles; the
guard's own refusals are tested in test_access_guard.py)."""

from decimal import Decimal

from billing_admin.extensions import db
from billing_admin.models import Plan
from tests.helpers import add_plan, add_subscription

WRITE_CONTROLS = (
    "/admin/plans/new",
    "/admin/plans/pro/edit",
    "/admin/plans/pro/deactivate",
    "/admin/plans/pro/duplicate",
    "/admin/plans/pro/delete",
    "/admin/plans/pro/prices/move",
)


def plan_with_an_older_price():
    add_plan("pro")
    add_subscription("pro", "active")
    db.session.get(Plan, "pro").price = Decimal("1590.00")
    db.session.commit()


def test_a_viewer_sees_no_write_controls(app, viewer_client):
    plan_with_an_older_price()
    for url in ("/admin/plans", "/admin/plans/pro"):
        html = viewer_client.get(url).get_data(as_text=True)
        for control in WRITE_CONTROLS:
            assert f'"{control}"' not in html, (url, control)
    preview = viewer_client.get("/admin/plans/pro/prices/move").get_data(as_text=True)
    assert 'name="fingerprint"' not in preview  # the numbers, but no button to move


def test_an_admin_sees_them(app, admin_client):
    plan_with_an_older_price()
    listed = admin_client.get("/admin/plans").get_data(as_text=True)
    page = admin_client.get("/admin/plans/pro").get_data(as_text=True)
    for control in WRITE_CONTROLS[:4]:
        assert f'"{control}"' in listed + page, control
    # Pro has an active subscription: its Delete… is there, disabled, with the reason.
    assert (
        '<button type="button" class="secondary outline small" disabled '
        'aria-describedby="deletion-refusal">Delete…</button>'
    ) in page
    assert '"/admin/plans/pro/prices/move"' in page
    preview = admin_client.get("/admin/plans/pro/prices/move").get_data(as_text=True)
    assert 'name="fingerprint"' in preview
