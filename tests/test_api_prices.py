"""The API's plan objects after issue 12: ``prices`` (the history with counts and MRR) and
``mrr_by_currency``; ``price`` stays the current price and ``mrr`` the MRR in the plan's
currency. Every answer is checked against the OpenAPI document, and the document refuses
answers of another shape (so the checks cannot pass vacuously).

Data: tests/price_data.py (Starter: A 490 from T0, B 540 from T1, C 590 from T2) and Global
(2 active at USD 20.00, then RUB 1,990.00 with 1 active). Figures by hand.
"""

import copy
from decimal import Decimal

import jsonschema
import pytest

from billing_admin.models import SUBSCRIPTION_STATUSES
from tests.helpers import add_plan, add_subscriptions, change_plan
from tests.price_data import T0, T1, T2, add_three_prices
from tests.test_api_subscribers import PLAN_PATH, PLANS_PATH, check

API = "/api/v1/admin/billing"


def counts(**nonzero) -> dict[str, int]:
    return {**dict.fromkeys(SUBSCRIPTION_STATUSES, 0), **nonzero}


@pytest.fixture
def data(app, set_clock):
    prices = add_three_prices(set_clock)
    add_plan("global", price=Decimal("20.00"), currency="USD", display_order=1)
    add_subscriptions("global", "active", 2)
    change_plan("global", price=Decimal("1990.00"), currency="RUB")
    add_subscriptions("global", "active")
    return prices


@pytest.fixture
def client_signed_in(data, client, admin, auth):
    assert auth.login().status_code == 302  # at T2, after the data (see price_data)
    return client


@pytest.fixture
def document(client_signed_in):
    return client_signed_in.get("/api/v1/openapi.json").get_json()


def test_a_plans_prices_are_its_history_with_counts_and_mrr(client_signed_in, data):
    plan = client_signed_in.get(f"{API}/plans/starter").get_json()
    assert plan["prices"] == [
        {
            "id": data.c,
            "amount": "590.00",
            "currency": "RUB",
            "interval": "month",
            "active_from": T2,
            "active_until": None,
            "current": True,
            "subscribers": counts(active=1, trialing=1),
            "subscribers_total": 2,
            "mrr": "590.00",
        },
        {
            "id": data.b,
            "amount": "540.00",
            "currency": "RUB",
            "interval": "month",
            "active_from": T1,
            "active_until": T2,
            "current": False,
            "subscribers": counts(active=3, paused=1, canceled=1),
            "subscribers_total": 5,
            "mrr": "1620.00",  # 3 × 540
        },
        {
            "id": data.a,
            "amount": "490.00",
            "currency": "RUB",
            "interval": "month",
            "active_from": T0,
            "active_until": T1,
            "current": False,
            "subscribers": counts(active=4, trialing=2, past_due=1, paused=1, canceled=2),
            "subscribers_total": 10,
            "mrr": "1960.00",  # 4 × 490
        },
    ]


def test_existing_fields_keep_their_meaning(client_signed_in):
    plan = client_signed_in.get(f"{API}/plans/starter").get_json()
    assert plan["price"] == "590.00"  # the current price
    assert plan["mrr"] == "4170.00"  # what they pay: 1,960 + 1,620 + 590, not 8 × 590
    assert plan["mrr_by_currency"] == {"RUB": "4170.00"}
    assert plan["subscribers"] == counts(active=8, trialing=3, past_due=1, paused=2, canceled=3)
    assert plan["subscribers_total"] == 17


def test_mrr_is_in_the_plans_currency_and_mrr_by_currency_has_the_others(client_signed_in):
    plan = client_signed_in.get(f"{API}/plans/global").get_json()
    assert (plan["price"], plan["currency"]) == ("1990.00", "RUB")
    assert plan["mrr"] == "1990.00"  # RUB only: never added to dollars
    assert plan["mrr_by_currency"] == {"RUB": "1990.00", "USD": "40.00"}
    assert list(plan["mrr_by_currency"]) == ["RUB", "USD"]  # the plan's own currency first
    assert [(p["amount"], p["currency"], p["mrr"]) for p in plan["prices"]] == [
        ("1990.00", "RUB", "1990.00"),
        ("20.00", "USD", "40.00"),
    ]


def test_the_list_has_the_same_plan_objects(client_signed_in):
    listed = client_signed_in.get(f"{API}/plans").get_json()["items"]
    assert [plan["id"] for plan in listed] == ["starter", "global"]
    for plan in listed:
        assert plan == client_signed_in.get(f"{API}/plans/{plan['id']}").get_json()


def test_answers_with_prices_match_the_document(client_signed_in, document):
    check(document, PLANS_PATH, 200, client_signed_in.get(f"{API}/plans").get_json())
    for plan_id in ("starter", "global"):
        check(document, PLAN_PATH, 200, client_signed_in.get(f"{API}/plans/{plan_id}").get_json())


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda p: p.pop("prices"), id="no prices"),
        pytest.param(lambda p: p.pop("mrr_by_currency"), id="no mrr_by_currency"),
        pytest.param(lambda p: p["mrr_by_currency"].update(USD=40), id="a number, not money"),
        pytest.param(lambda p: p["mrr_by_currency"].update(USD="40.0"), id="one decimal"),
        pytest.param(lambda p: p["prices"][0].update(amount=590), id="an amount as a number"),
        pytest.param(lambda p: p["prices"][0].update(currency="GBP"), id="an unknown currency"),
        pytest.param(lambda p: p["prices"][0].update(active_until="never"), id="until a word"),
        pytest.param(lambda p: p["prices"][0].pop("current"), id="no current"),
        pytest.param(lambda p: p["prices"][0]["subscribers"].pop("paused"), id="a status missing"),
        pytest.param(lambda p: p["prices"][0].update(extra=1), id="an unknown field"),
    ],
)
def test_the_document_refuses_price_answers_of_another_shape(client_signed_in, document, spoil):
    plan = client_signed_in.get(f"{API}/plans/starter").get_json()
    spoiled = copy.deepcopy(plan)
    spoil(spoiled)
    check(document, PLAN_PATH, 200, plan)  # the real one passes
    with pytest.raises(jsonschema.ValidationError):
        check(document, PLAN_PATH, 200, spoiled)
