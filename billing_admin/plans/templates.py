"""The standard plans `flask seed-plans` writes. Pure data: no database, no clock.

Values are those of the original system (docs/original-system.md). Two deliberate changes:
annual and promotional prices are derived from the monthly plans so they cannot drift, and
nothing here depends on the moment it is built. The promo's end date is the one such value; the
template only says how long the promo lasts (``promo_days``) and seeding dates it from the
moment the plan is first created.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from billing_admin.plans.spec import CENT, PlanSpec

ANNUAL_DISCOUNT = Decimal("0.8")  # 20% off twelve monthly payments
PROMO_DAYS = 90


@dataclass(frozen=True)
class PlanTemplate:
    spec: PlanSpec
    # For promotional plans: metadata "promo_ends" is set to this many days after creation.
    promo_days: int | None = None


def _quotas(tokens_input: int, tokens_output: int, requests: int) -> dict[str, int | None]:
    return {"tokens_input": tokens_input, "tokens_output": tokens_output, "requests": requests}


FREE = PlanSpec(
    id="free",
    name="Free",
    name_ru="Бесплатный",
    description="Perfect for trying out AI models",
    description_ru="Идеально для знакомства с AI моделями",
    price=Decimal("0.00"),
    interval="month",
    quotas=_quotas(100_000, 50_000, 500),
    features=("GPT 5 Nano", "GPT OSS 20B", "DeepSeek V3.2", "Qwen 3 8B", "Базовая поддержка"),
    display_order=0,
)

STARTER = PlanSpec(
    id="starter",
    name="Starter",
    name_ru="Старт",
    description="For students and hobbyists exploring AI",
    description_ru="Для студентов и любителей AI",
    price=Decimal("490.00"),
    interval="month",
    quotas=_quotas(1_000_000, 500_000, 5_000),
    features=(
        "Все модели Free",
        "GPT 5 Mini",
        "Gemini 2.5 Flash",
        "Claude Haiku 4.5",
        "Mistral Small",
        "LLaMA-3.1 (8b)",
        "Приоритетная поддержка",
    ),
    display_order=1,
)

PRO = PlanSpec(
    id="pro",
    name="Pro",
    name_ru="Профессиональный",
    description="Advanced features and higher quotas",
    description_ru="Расширенные возможности и увеличенные квоты",
    price=Decimal("1490.00"),
    interval="month",
    quotas=_quotas(5_000_000, 2_000_000, 20_000),
    features=(
        "Все модели Starter",
        "GPT-4o",
        "GPT-4o Mini",
        "Claude 4.5 Sonnet",
        "Gemini 2.5 Pro",
        "o4-mini",
        "Mistral Large",
        "Qwen 3 Max",
        "Приоритетная обработка",
        "Email поддержка",
    ),
    display_order=2,
)

BUSINESS = PlanSpec(
    id="business",
    name="Business",
    name_ru="Бизнес",
    description="For companies and power users",
    description_ru="Для компаний и профессионалов",
    price=Decimal("4990.00"),
    interval="month",
    quotas=_quotas(20_000_000, 10_000_000, 100_000),
    features=(
        "Все модели Pro",
        "GPT-5.1",
        "o1",
        "o3",
        "Claude 4.5 Opus",
        "Claude Opus-4.1",
        "Gemini 3 Pro Preview",
        "xAI Grok 4",
        "DeepSeek R1",
        "Приоритетная обработка",
        "API доступ",
        "Выделенная поддержка",
        "SLA 99.9%",
    ),
    display_order=3,
)

UNLIMITED = PlanSpec(
    id="unlimited",
    name="Unlimited",
    name_ru="Безлимит",
    description="Unlimited access to all models",
    description_ru="Безлимитный доступ ко всем моделям",
    price=Decimal("14990.00"),
    interval="month",
    quotas=None,
    features=(
        "ВСЕ модели",
        "Безлимитные запросы",
        "Безлимитные токены",
        "API доступ",
        "Приоритетная обработка",
        "Выделенная поддержка 24/7",
        "SLA 99.95%",
        "Custom интеграции",
    ),
    is_active=False,
    display_order=4,
)


def annual_price(monthly: Decimal) -> Decimal:
    return (monthly * 12 * ANNUAL_DISCOUNT).quantize(CENT, rounding=ROUND_HALF_UP)


def _annual(monthly: PlanSpec, display_order: int) -> PlanSpec:
    return replace(
        monthly,
        id=f"{monthly.id}_annual",
        name=f"{monthly.name} Annual",
        name_ru=f"{monthly.name_ru} (Годовой)",
        description=f"{monthly.name} plan billed annually - save 20%",
        description_ru=f"План {monthly.name_ru} с годовой оплатой - экономия 20%",
        price=annual_price(monthly.price),
        interval="year",
        features=(
            f"Все возможности {monthly.name}",
            "Скидка 20% при годовой оплате",
            "2 месяца бесплатно",
        ),
        is_active=True,
        display_order=display_order,
    )


NEWYEAR_2025 = PlanSpec(
    id="newyear_2025",
    name="New Year 2025",
    name_ru="Новый Год 2025",
    # The original gives no description; these say what the plan is (our choice).
    description="Pro plan at 50% off for 3 months",
    description_ru="План Профессиональный со скидкой 50% на 3 месяца",
    price=(PRO.price / 2).quantize(CENT, rounding=ROUND_HALF_UP),
    interval="month",
    quotas=PRO.quotas,
    features=("Все возможности Pro плана", "Скидка 50%", "Действует 3 месяца"),
    is_active=False,
    display_order=10,
    plan_extra_metadata={"promo": True, "promo_code": "NEWYEAR2025"},
)


def default_plans() -> list[PlanTemplate]:
    return [PlanTemplate(spec) for spec in (FREE, STARTER, PRO, BUSINESS, UNLIMITED)]


def annual_plans() -> list[PlanTemplate]:
    return [
        PlanTemplate(_annual(STARTER, 5)),
        PlanTemplate(_annual(PRO, 6)),
        PlanTemplate(_annual(BUSINESS, 7)),
    ]


def promo_plans() -> list[PlanTemplate]:
    return [PlanTemplate(NEWYEAR_2025, promo_days=PROMO_DAYS)]


def plan_templates(
    *, include_annual: bool = False, include_promo: bool = False
) -> list[PlanTemplate]:
    templates = default_plans()
    if include_annual:
        templates += annual_plans()
    if include_promo:
        templates += promo_plans()
    return templates
