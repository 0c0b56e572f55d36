"""Every template value against docs/original-system.md, typed out here independently."""

from dataclasses import replace
from decimal import Decimal

import pytest

from billing_admin.plans import templates
from billing_admin.plans.templates import (
    annual_plans,
    default_plans,
    plan_templates,
    promo_plans,
)
from billing_admin.plans.validation import plan_errors

Q = {
    "free": {"tokens_input": 100_000, "tokens_output": 50_000, "requests": 500},
    "starter": {"tokens_input": 1_000_000, "tokens_output": 500_000, "requests": 5_000},
    "pro": {"tokens_input": 5_000_000, "tokens_output": 2_000_000, "requests": 20_000},
    "business": {"tokens_input": 20_000_000, "tokens_output": 10_000_000, "requests": 100_000},
}

# id: (name, name_ru, price, interval, quotas, display_order, is_active)
EXPECTED = {
    "free": ("Free", "Бесплатный", "0.00", "month", Q["free"], 0, True),
    "starter": ("Starter", "Старт", "490.00", "month", Q["starter"], 1, True),
    "pro": ("Pro", "Профессиональный", "1490.00", "month", Q["pro"], 2, True),
    "business": ("Business", "Бизнес", "4990.00", "month", Q["business"], 3, True),
    "unlimited": ("Unlimited", "Безлимит", "14990.00", "month", None, 4, False),
    "starter_annual": (
        "Starter Annual", "Старт (Годовой)", "4704.00", "year", Q["starter"], 5, True
    ),
    "pro_annual": (
        "Pro Annual", "Профессиональный (Годовой)", "14304.00", "year", Q["pro"], 6, True
    ),
    "business_annual": (
        "Business Annual", "Бизнес (Годовой)", "47904.00", "year", Q["business"], 7, True
    ),
    "newyear_2025": ("New Year 2025", "Новый Год 2025", "745.00", "month", Q["pro"], 10, False),
}  # fmt: skip

DESCRIPTIONS = {
    "free": ("Perfect for trying out AI models", "Идеально для знакомства с AI моделями"),
    "starter": ("For students and hobbyists exploring AI", "Для студентов и любителей AI"),
    "pro": ("Advanced features and higher quotas", "Расширенные возможности и увеличенные квоты"),
    "business": ("For companies and power users", "Для компаний и профессионалов"),
    "unlimited": ("Unlimited access to all models", "Безлимитный доступ ко всем моделям"),
    "starter_annual": (
        "Starter plan billed annually - save 20%",
        "План Старт с годовой оплатой - экономия 20%",
    ),
    "pro_annual": (
        "Pro plan billed annually - save 20%",
        "План Профессиональный с годовой оплатой - экономия 20%",
    ),
    "business_annual": (
        "Business plan billed annually - save 20%",
        "План Бизнес с годовой оплатой - экономия 20%",
    ),
}

ANNUAL_TAIL = ["Скидка 20% при годовой оплате", "2 месяца бесплатно"]
FEATURES = {
    "free": ["GPT 5 Nano", "GPT OSS 20B", "DeepSeek V3.2", "Qwen 3 8B", "Базовая поддержка"],
    "starter": [
        "Все модели Free", "GPT 5 Mini", "Gemini 2.5 Flash", "Claude Haiku 4.5",
        "Mistral Small", "LLaMA-3.1 (8b)", "Приоритетная поддержка",
    ],
    "pro": [
        "Все модели Starter", "GPT-4o", "GPT-4o Mini", "Claude 4.5 Sonnet", "Gemini 2.5 Pro",
        "o4-mini", "Mistral Large", "Qwen 3 Max", "Приоритетная обработка", "Email поддержка",
    ],
    "business": [
        "Все модели Pro", "GPT-5.1", "o1", "o3", "Claude 4.5 Opus", "Claude Opus-4.1",
        "Gemini 3 Pro Preview", "xAI Grok 4", "DeepSeek R1", "Приоритетная обработка",
        "API доступ", "Выделенная поддержка", "SLA 99.9%",
    ],
    "unlimited": [
        "ВСЕ модели", "Безлимитные запросы", "Безлимитные токены", "API доступ",
        "Приоритетная обработка", "Выделенная поддержка 24/7", "SLA 99.95%", "Custom интеграции",
    ],
    "starter_annual": ["Все возможности Starter", *ANNUAL_TAIL],
    "pro_annual": ["Все возможности Pro", *ANNUAL_TAIL],
    "business_annual": ["Все возможности Business", *ANNUAL_TAIL],
    "newyear_2025": ["Все возможности Pro плана", "Скидка 50%", "Действует 3 месяца"],
}  # fmt: skip

ALL = {t.spec.id: t for t in plan_templates(include_annual=True, include_promo=True)}


def test_the_sets_hold_the_documented_plans_in_order():
    assert [t.spec.id for t in default_plans()] == [
        "free",
        "starter",
        "pro",
        "business",
        "unlimited",
    ]
    assert [t.spec.id for t in annual_plans()] == [
        "starter_annual",
        "pro_annual",
        "business_annual",
    ]
    assert [t.spec.id for t in promo_plans()] == ["newyear_2025"]


@pytest.mark.parametrize("plan_id", EXPECTED)
def test_template_values_match_the_reference(plan_id):
    spec = ALL[plan_id].spec
    name, name_ru, price, interval, quotas, order, active = EXPECTED[plan_id]
    assert spec.name == name
    assert spec.name_ru == name_ru
    assert spec.price == Decimal(price)
    assert spec.price.as_tuple().exponent == -2  # two places, as stored
    assert spec.currency == "RUB"
    assert spec.interval == interval
    assert spec.quotas == quotas
    assert spec.display_order == order
    assert spec.is_active is active
    assert list(spec.features) == FEATURES[plan_id]


@pytest.mark.parametrize("plan_id", DESCRIPTIONS)
def test_template_descriptions_match_the_reference(plan_id):
    spec = ALL[plan_id].spec
    assert (spec.description, spec.description_ru) == DESCRIPTIONS[plan_id]


def test_only_the_promo_carries_metadata_and_its_end_is_dated_at_creation():
    promo = ALL["newyear_2025"]
    assert promo.spec.plan_extra_metadata == {"promo": True, "promo_code": "NEWYEAR2025"}
    assert promo.promo_days == 90
    others = [t for plan_id, t in ALL.items() if plan_id != "newyear_2025"]
    assert all(t.spec.plan_extra_metadata is None and t.promo_days is None for t in others)


@pytest.mark.parametrize("plan_id", EXPECTED)
def test_every_template_passes_the_plan_rules(plan_id):
    assert plan_errors(ALL[plan_id].spec) == {}


def test_building_the_templates_twice_gives_equal_data():
    first = plan_templates(include_annual=True, include_promo=True)
    second = plan_templates(include_annual=True, include_promo=True)
    assert first == second
    assert [t.spec.values() for t in first] == [t.spec.values() for t in second]


def test_annual_and_promo_prices_follow_the_monthly_plans(monkeypatch):
    """Derived, not typed in: change a monthly price and the annual one follows."""
    monkeypatch.setattr(templates, "PRO", replace(templates.PRO, price=Decimal("1590.00")))
    pro_annual = next(t.spec for t in annual_plans() if t.spec.id == "pro_annual")
    assert pro_annual.price == Decimal("15264.00")  # 1590 x 12 x 0.8


@pytest.mark.parametrize(
    ("monthly", "annual"),
    [("490.00", "4704.00"), ("0.00", "0.00"), ("0.05", "0.48"), ("99.99", "959.90")],
)
def test_annual_price_is_twelve_months_less_twenty_percent(monthly, annual):
    assert templates.annual_price(Decimal(monthly)) == Decimal(annual)
