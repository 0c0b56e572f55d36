"""The pages of issue 12: the plan page's "Prices" section (history, counts, MRR and share, the
progress of a move, "Continue the move" only when it stopped), the move preview page, starting a
move (in the background), a stale preview (409), continuing a move only when it is stale, bad
``from_price`` values, CSRF, and both languages.

Data: tests/price_data.py (Starter with prices A 490, B 540, C 590); figures by hand:
MRR A 4 × 490 = 1,960.00 (47.0% of 4,170), B 3 × 540 = 1,620.00 (38.8%), C 1 × 590 (14.1%).
"""

import re
from html import unescape

import pytest
import sqlalchemy as sa

from billing_admin.audit.service import Actor
from billing_admin.background import wait_for_background
from billing_admin.extensions import db
from billing_admin.models import AuditLog, PriceMove, Subscription
from billing_admin.plans import price_moves
from tests.dashboard_data import Page
from tests.helpers import add_plan, add_subscriptions, csrf_token_from
from tests.price_data import T2, Prices, add_three_prices

NBSP = "\xa0"
MOVE_URL = "/admin/plans/starter/prices/move"


@pytest.fixture
def prices(app, set_clock) -> Prices:
    return add_three_prices(set_clock)


@pytest.fixture
def admin_client(prices, client, admin, auth):
    """Signed in once the data exists (the clock then stays at T2, where sign-in happened)."""
    assert auth.login().status_code == 302
    return client


def prices_table(html: str):
    (table,) = [t for t in Page(html).tables if t.head[:2] == ["Price", "In force"]]
    return table


def fingerprint_in(html: str) -> str:
    match = re.search(r'name="fingerprint" value="([^"]*)"', html)
    assert match, html[:3000]
    return unescape(match.group(1))


def post_move(client, fingerprint: str, from_price: int | None = None, **headers):
    html = client.get(MOVE_URL).get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(html), "fingerprint": fingerprint}
    if from_price is not None:
        data["from_price"] = str(from_price)
    return client.post(MOVE_URL, data=data, headers=headers)


def on_price(price_id: int) -> int:
    db.session.rollback()
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Subscription)
        .where(Subscription.price_id == price_id)
    )
    db.session.rollback()
    return count


def moves() -> list[PriceMove]:
    db.session.rollback()
    found = list(db.session.scalars(sa.select(PriceMove).order_by(PriceMove.id)))
    db.session.rollback()
    return found


# --- The plan page -----------------------------------------------------------------------------


def test_the_plan_page_lists_each_price_with_its_counts_mrr_and_share(admin_client, prices):
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    table = prices_table(html)
    assert table.head == [
        "Price",
        "In force",
        "Subscriptions paying it",
        "MRR",
        "Share of MRR",
        "Actions",
    ]
    assert table.rows == [
        [
            "RUB 590.00 / month current",
            "since Jan 17, 2027, 8:00 AM UTC",
            "active 1 trialing 1",
            "RUB 590.00",
            "14.1%",  # 590 / 4,170
            "",
        ],
        [
            "RUB 540.00 / month",
            "Jan 16, 2027, 8:00 AM UTC to Jan 17, 2027, 8:00 AM UTC",
            "active 3 paused 1 canceled 1",
            "RUB 1,620.00",
            "38.8%",  # 1,620 / 4,170
            "Move to the current price…",
        ],
        [
            "RUB 490.00 / month",
            "Jan 15, 2027, 8:00 AM UTC to Jan 16, 2027, 8:00 AM UTC",
            "active 4 trialing 2 past due 1 paused 1 canceled 2",
            "RUB 1,960.00",
            "47.0%",  # 1,960 / 4,170
            "Move to the current price…",
        ],
    ]
    assert f'href="{MOVE_URL}?from_price={prices.b}"' in html
    assert f'href="{MOVE_URL}?from_price={prices.a}"' in html
    assert f'href="{MOVE_URL}"' in html  # every older price at once
    assert "MRR RUB" + NBSP + "4,170.00" in unescape(html)
    assert "3 prices so far" in html


def test_the_prices_section_in_russian(admin_client, prices):
    html = admin_client.get("/admin/plans/starter", headers={"Accept-Language": "ru"})
    html = html.get_data(as_text=True)
    (table,) = [t for t in Page(html).tables if t.head[:2] == ["Цена", "Действует"]]
    # (The page reader turns every space, no-break ones too, into " ".)
    assert table.rows[1][3:5] == ["1 620,00 ₽", "38,8 %"]
    assert f"1{NBSP}620,00{NBSP}₽" in html
    assert table.rows[0][1].startswith("с 17 янв. 2027")


def test_a_plan_with_one_price_offers_no_move(app, client, admin, auth):
    add_plan("pro")
    add_subscriptions("pro", "active")
    auth.login()
    html = client.get("/admin/plans/pro").get_data(as_text=True)
    assert prices_table(html).rows[0][:2] == [
        "RUB 1,490.00 / month current",
        prices_table(html).rows[0][1],
    ]
    assert "/prices/move" not in html
    assert "prices so far" not in html


def test_one_older_price_is_offered_once_without_a_choice(admin_client, prices):
    price_moves.run_move(start_move(from_price=prices.b).id)  # B is empty of movable ones now
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    assert "?from_price=" not in html  # no choice to make: one button for A
    assert f'href="{MOVE_URL}"' in html
    assert prices_table(html).head[-1] == "Share of MRR"


def start_move(from_price: int | None = None) -> PriceMove:
    preview = price_moves.preview_move("starter", from_price)
    return price_moves.start_move(
        "starter",
        from_price_id=from_price,
        fingerprint=preview.fingerprint,
        actor=Actor("admin@example.com"),
    )


def test_the_plan_page_follows_a_running_move(admin_client, prices):
    move = start_move()
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    text = Page(html).text
    assert "Moving subscriptions to RUB 590.00 / month: 0 of 12 moved." in unescape(text)
    assert '<progress value="0" max="12"></progress>' in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert "Continue the move" not in html
    assert f'href="{MOVE_URL}"' not in html  # no second move while one runs
    assert "?from_price=" not in html

    def stop_after_two_batches(size, calls=[]):  # noqa: B006 (a counter for this test)
        calls.append(size)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        price_moves.run_move(move.id, batch_size=3, progress=stop_after_two_batches)
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    assert "6 of 12 moved." in Page(html).text
    assert '<progress value="6" max="12"></progress>' in html


def test_a_move_that_stopped_offers_to_continue_after_a_minute(admin_client, prices, set_clock):
    move = start_move()
    set_clock(T2 + 60)
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    assert "Continue the move" not in html  # a batch may still come
    set_clock(T2 + 61)
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    assert "The move stopped (the server may have restarted)." in html
    assert f'action="/admin/plans/starter/prices/moves/{move.id}/continue"' in html
    assert "Continue the move" in html
    assert 'http-equiv="refresh"' not in html


# --- The move preview page ---------------------------------------------------------------------


def test_the_preview_page_shows_the_numbers_and_writes_nothing(admin_client, prices):
    before = (on_price(prices.a), on_price(prices.b), on_price(prices.c), moves())
    response = admin_client.get(MOVE_URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = unescape(Page(html).text)
    assert "From now on they would pay the current one, RUB 590.00 / month" in text
    assert (
        "RUB 490.00 / month active 4 trialing 2 past due 1 paused 1 "
        "RUB 540.00 / month active 3 paused 1 In all 12" in text
    )
    assert "RUB RUB 4,170.00 RUB 4,720.00" in text  # now, after: (4 + 3 + 1) × 590
    assert ">Move 12 subscriptions</button>" in html
    assert fingerprint_in(html) == price_moves.preview_move("starter").fingerprint
    assert (on_price(prices.a), on_price(prices.b), on_price(prices.c), moves()) == before


def test_the_preview_page_from_one_price(admin_client, prices):
    html = admin_client.get(f"{MOVE_URL}?from_price={prices.b}").get_data(as_text=True)
    text = unescape(Page(html).text)
    assert "RUB 540.00 / month active 3 paused 1 In all 4" in text
    assert "RUB 490.00" not in text
    assert "RUB RUB 4,170.00 RUB 4,320.00" in text  # 4 × 490 + 4 × 590
    assert f'<input type="hidden" name="from_price" value="{prices.b}">' in html


def test_the_preview_page_in_russian(admin_client, prices):
    html = admin_client.get(MOVE_URL, headers={"Accept-Language": "ru"}).get_data(as_text=True)
    text = unescape(Page(html).text)
    assert "MRR Сейчас После перевода RUB 4 170,00 ₽ 4 720,00 ₽" in text
    assert f"4{NBSP}170,00{NBSP}₽" in html
    assert ">Перевести 12 подписок</button>" in html


@pytest.mark.parametrize(
    "from_price",
    [
        "abc",
        "0",
        "-1",
        "1.5",
        "99999",
        "9" * 40,
        pytest.param(None, id="the current price"),
        pytest.param("other", id="another plan's price"),
    ],
)
def test_a_from_price_that_is_not_an_older_price_of_the_plan_is_a_404(
    admin_client, prices, from_price
):
    add_plan("other")
    value = {None: str(prices.c), "other": str(prices.c + 1)}.get(from_price, from_price)
    response = admin_client.get(f"{MOVE_URL}?from_price={value}")
    assert response.status_code == 404
    assert moves() == []


def test_an_unknown_plan_is_a_404(admin_client):
    assert admin_client.get("/admin/plans/nope/prices/move").status_code == 404
    token = csrf_token_from(admin_client.get("/admin/plans").get_data(as_text=True))
    response = admin_client.post(
        "/admin/plans/nope/prices/moves/1/continue", data={"csrf_token": token}
    )
    assert response.status_code == 404


def test_nothing_to_move_says_so(app, client, admin, auth):
    add_plan("pro")
    add_subscriptions("pro", "active")
    auth.login()
    html = client.get("/admin/plans/pro/prices/move").get_data(as_text=True)
    assert "Nothing to move: every subscription of this plan that is not canceled pays its" in html
    assert 'name="fingerprint"' not in html
    fingerprint = price_moves.preview_move("pro").fingerprint
    response = client.post(
        "/admin/plans/pro/prices/move",
        data={"csrf_token": csrf_token_from(html), "fingerprint": fingerprint},
    )
    assert response.status_code == 409
    assert "Nothing to move" in response.get_data(as_text=True)
    assert moves() == []


# --- Starting a move ---------------------------------------------------------------------------


def test_confirming_the_preview_moves_them_in_the_background(app, admin_client, prices):
    fingerprint = fingerprint_in(admin_client.get(MOVE_URL).get_data(as_text=True))
    response = post_move(admin_client, fingerprint)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/plans/starter#prices"
    wait_for_background(app)
    assert (on_price(prices.a), on_price(prices.b), on_price(prices.c)) == (2, 1, 14)
    (move,) = moves()
    assert move.status == "completed" and move.actor == "admin@example.com"
    html = admin_client.get("/admin/plans/starter").get_data(as_text=True)
    assert (
        "Moving 12 subscriptions to the current price: their progress shows here." in html
    )  # the flash
    assert "subscriptions moved to the current price" in html  # the history's entry
    assert "MRR RUB" + NBSP + "4,720.00" in unescape(html)


def test_confirming_a_preview_of_one_price_moves_only_it(app, admin_client, prices):
    html = admin_client.get(f"{MOVE_URL}?from_price={prices.b}").get_data(as_text=True)
    assert post_move(admin_client, fingerprint_in(html), from_price=prices.b).status_code == 303
    wait_for_background(app)
    assert (on_price(prices.a), on_price(prices.b), on_price(prices.c)) == (10, 1, 6)


def test_a_stale_preview_is_refused_with_the_new_numbers(app, admin_client, prices):
    fingerprint = fingerprint_in(admin_client.get(MOVE_URL).get_data(as_text=True))
    add_subscriptions("starter", "active")  # someone subscribed: MRR now 4,760
    response = post_move(admin_client, fingerprint)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "The numbers changed since you looked" in html
    assert "RUB RUB 4,760.00 RUB 5,310.00" in unescape(Page(html).text)  # 4,170 + 590; 9 × 590
    assert fingerprint_in(html) == price_moves.preview_move("starter").fingerprint
    wait_for_background(app)
    assert moves() == []
    assert on_price(prices.a) == 10
    # Confirming the new numbers works.
    assert post_move(admin_client, fingerprint_in(html)).status_code == 303
    wait_for_background(app)
    assert on_price(prices.a) == 2


def test_a_forged_or_missing_fingerprint_is_refused(app, admin_client, prices):
    for fingerprint, status in (("", 409), ("{}", 409), ("x" * 10_000, 409), ("\u0000", 400)):
        response = post_move(admin_client, fingerprint)
        assert response.status_code == status, fingerprint
    wait_for_background(app)
    assert moves() == []


def test_a_second_move_while_one_runs_goes_back_to_the_plan(app, admin_client, prices):
    fingerprint = fingerprint_in(admin_client.get(MOVE_URL).get_data(as_text=True))
    start_move()  # someone else's, not yet run
    assert "already under way" in admin_client.get(MOVE_URL).get_data(as_text=True)
    response = post_move(admin_client, fingerprint)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/plans/starter#prices"
    assert len(moves()) == 1


def test_a_move_needs_a_csrf_token(app, admin_client, prices):
    fingerprint = price_moves.preview_move("starter").fingerprint
    response = admin_client.post(MOVE_URL, data={"fingerprint": fingerprint})
    assert response.status_code == 400
    wait_for_background(app)
    assert moves() == []
    move = start_move()
    response = admin_client.post(f"/admin/plans/starter/prices/moves/{move.id}/continue")
    assert response.status_code == 400


# --- Continuing a move -------------------------------------------------------------------------


def post_continue(client, move_id: int):
    token = csrf_token_from(client.get("/admin/plans/starter").get_data(as_text=True))
    return client.post(
        f"/admin/plans/starter/prices/moves/{move_id}/continue",
        data={"csrf_token": token},
        follow_redirects=True,
    )


def test_continue_is_refused_while_the_move_is_running(app, admin_client, prices, set_clock):
    move = start_move()
    set_clock(T2 + 60)
    response = post_continue(admin_client, move.id)
    assert "That move is still running." in response.get_data(as_text=True)
    wait_for_background(app)
    assert moves()[0].moved == {}  # nothing was run
    assert on_price(prices.a) == 10


def test_continue_runs_a_stale_move_to_the_end(app, admin_client, prices, set_clock):
    move = start_move()
    set_clock(T2 + 61)
    response = post_continue(admin_client, move.id)
    assert "The move continues where it stopped." in response.get_data(as_text=True)
    wait_for_background(app)
    (done,) = moves()
    assert done.status == "completed"
    assert (on_price(prices.a), on_price(prices.b), on_price(prices.c)) == (2, 1, 14)
    db.session.rollback()
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "plan_subscriptions_moved")
    ).all()
    assert len(entries) == 1


@pytest.mark.parametrize("which", ["finished", "another"])
def test_continue_of_a_move_that_is_not_running(app, admin_client, prices, which, set_clock):
    move = start_move()
    price_moves.run_move(move.id)
    move_id = move.id if which == "finished" else move.id + 1
    set_clock(T2 + 61)  # stale, were it running (an hour would end the session)
    response = post_continue(admin_client, move_id)
    assert "That move has finished." in response.get_data(as_text=True)
    wait_for_background(app)
    assert len(moves()) == 1


def test_the_background_move_is_logged_when_it_fails(
    app, admin_client, prices, monkeypatch, caplog
):
    fingerprint = fingerprint_in(admin_client.get(MOVE_URL).get_data(as_text=True))

    def broken(*args, **kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(price_moves, "_move_one_batch", broken)
    assert post_move(admin_client, fingerprint).status_code == 303
    wait_for_background(app)
    assert any("can be re-run" in record.getMessage() for record in caplog.records)
    (move,) = moves()
    assert move.status == "running"  # left for "Continue" once stale
    assert on_price(prices.a) == 10
