"""Walking a plan's subscribers with ``next_cursor`` while subscriptions are added and canceled
(issue 14): every row that matched throughout is seen exactly once. The same walk by ``page=``
shows why the cursor exists: an insert between pages shows one subscriber twice, and a
cancellation under a status filter hides a still-active one."""

import pytest
import sqlalchemy as sa

from billing_admin.extensions import db
from billing_admin.models import Subscription
from tests.helpers import add_plan
from tests.subscriber_data import T0, add_subscriber, bulk_subscribers, newest_first

SUBSCRIBERS = "/api/v1/admin/billing/plans/{plan_id}/subscribers"


def get(client, plan_id="pro", **query):
    return client.get(SUBSCRIBERS.format(plan_id=plan_id), query_string=query)


def cancel(user_ids) -> None:
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.user_id.in_(list(user_ids)))
        .values(status="canceled", canceled_at=T0 + 10_000)
    )
    db.session.commit()


@pytest.fixture
def pro(app):
    add_plan("pro")
    # 40 subscriptions, many sharing a created_at (ties are broken by id), half active.
    return newest_first(
        bulk_subscribers(
            "pro", 40, created_at=[T0, T0, T0 + 1, T0 + 2], statuses=["active", "past_due"]
        )
    )


def test_a_cursor_walk_under_inserts_and_cancellations_sees_each_row_exactly_once(
    admin_client, pro
):
    active = [m.user_id for m in pro if m.status == "active"]
    assert len(active) == 20
    seen: list[str] = []
    body = get(admin_client, status="active", page_size=6).get_json()
    assert body["page"] == 1 and body["next_cursor"]
    pages = 1
    while True:
        seen += [item["user_id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        # Between pages: two new active subscriptions, and one row already seen and one not
        # yet seen are canceled.
        add_subscriber("pro", created_at=T0 + 100 + pages)
        add_subscriber("pro", created_at=T0 + 1)  # as old as rows not seen yet
        not_seen = [u for u in active if u not in seen]
        cancel([seen[0], not_seen[-1]])
        active.remove(not_seen[-1])
        body = get(
            admin_client, status="active", page_size=6, cursor=body["next_cursor"]
        ).get_json()
        assert body["page"] is None
        pages += 1
    assert len(seen) == len(set(seen)), "a row was seen twice"
    # Every row active from the start to the end of the walk was seen.
    throughout = set(active) - {seen[0]}
    assert throughout <= set(seen)
    assert pages >= 3  # the walk crossed pages with changes between them


def test_the_same_walk_by_page_shows_a_row_twice_and_hides_one(admin_client, pro):
    """Why the cursor exists (what a new user of page= meets)."""
    first = [i["user_id"] for i in get(admin_client, status="active", page_size=5).json["items"]]
    add_subscriber("pro", created_at=T0 + 500)  # newest: shifts every later page by one
    second = [
        i["user_id"] for i in get(admin_client, status="active", page=2, page_size=5).json["items"]
    ]
    assert set(first) & set(second), "the insert should show one subscriber twice"
    cancel(first[:2])  # two already seen leave the filter
    third = [
        i["user_id"] for i in get(admin_client, status="active", page=3, page_size=5).json["items"]
    ]
    active = {m.user_id for m in pro if m.status == "active"} - set(first[:2])
    assert active - set(first + second + third), "a still-active subscriber was skipped"


def test_next_cursor_continues_a_page_walk_and_is_null_at_the_end(admin_client, pro):
    page_2 = get(admin_client, page=2, page_size=15).get_json()
    rest = get(admin_client, page_size=100, cursor=page_2["next_cursor"]).get_json()
    assert [i["user_id"] for i in rest["items"]] == [m.user_id for m in pro[30:]]
    assert rest["next_cursor"] is None
    assert rest["total"] == 40
    assert get(admin_client, page=3, page_size=20).get_json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("nonsense", "Invalid cursor. Use the next_cursor of a previous answer."),
        ("x" * 600, "Invalid cursor: too long. Use the next_cursor of a previous answer."),
    ],
)
def test_a_cursor_that_is_not_ours_is_400(admin_client, pro, cursor, message):
    response = get(admin_client, cursor=cursor)
    assert response.status_code == 400
    assert response.get_json() == {"detail": message}


def test_a_tampered_cursor_is_400(admin_client, pro):
    cursor = get(admin_client, page_size=5).get_json()["next_cursor"]
    payload, _, signature = cursor.rpartition(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert get(admin_client, cursor=tampered).status_code == 400


def test_a_cursor_of_another_plan_or_status_is_400(admin_client, pro):
    add_plan("free")
    cursor = get(admin_client, page_size=5).get_json()["next_cursor"]
    for plan_id, status in (("free", None), ("pro", "active")):
        query = {"cursor": cursor, **({"status": status} if status else {})}
        response = get(admin_client, plan_id, **query)
        assert response.status_code == 400
        assert "another plan or status filter" in response.get_json()["detail"]
