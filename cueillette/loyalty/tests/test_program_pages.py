"""Program pages (owner/manager): settings, rewards, tiers, simulate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import Card, PointsEntry, Program, Purchase, Reward, Tier
from cueillette.loyalty.templatetags.loyalty_tags import explain

VALID = {
    "name": "Carte Lumière",
    "card_color": "#224466",
    "card_message": "Merci !",
    "enabled": "on",
    "points_per_euro": "1",
    "rounding": "floor",
    "points_per_visit": "0",
    "daily_cap": "",
    "welcome_bonus": "10",
    "birthday_bonus": "0",
    "birthday_days_before": "7",
    "birthday_days_after": "7",
    "expiry_months": "12",
    "expiry_warning_days": "30",
    "point_value": "0.01",
    "weekday_5": "2",
    "category_0_name": "Pain",
    "category_0_multiplier": "3",
    "category_1_name": "",
    "category_1_multiplier": "",
}


def in_org(org, fn):
    with tenancy.tenant_context(org):
        return fn()


def audit_actions(org):
    return in_org(org, lambda: list(AuditEvent.objects.values_list("action", flat=True)))


# --------------------------------------------------------------------------- doors


def test_counter_staff_get_403_everywhere(org, counter_client):
    reward = in_org(org, lambda: Reward.objects.create(name="Café", cost=10))
    tier = in_org(org, lambda: Tier.objects.create(code="argent", name="Argent", threshold=100))
    gets = [
        reverse("loyalty:program_settings"),
        reverse("loyalty:program_rewards"),
        reverse("loyalty:program_reward_new"),
        reverse("loyalty:program_reward_edit", args=[reward.pk]),
        reverse("loyalty:program_tiers"),
        reverse("loyalty:program_tier_new"),
        reverse("loyalty:program_tier_edit", args=[tier.pk]),
        reverse("loyalty:program_simulate") + "?amount=10",
        reverse("loyalty:dashboard"),
        reverse("loyalty:dashboard_csv"),
    ]
    for url in gets:
        assert counter_client.get(url).status_code == 403, url
    posts = [
        (reverse("loyalty:program_settings"), VALID),
        (reverse("loyalty:program_reward_new"), {"name": "X", "cost": "5"}),
        (reverse("loyalty:program_reward_edit", args=[reward.pk]), {"name": "X", "cost": "5"}),
        (reverse("loyalty:program_reward_active", args=[reward.pk]), {"active": "0"}),
        (reverse("loyalty:program_reward_delete", args=[reward.pk]), {}),
        (reverse("loyalty:program_tier_new"), {"name": "Or", "threshold": "9", "multiplier": "1"}),
        (reverse("loyalty:program_tier_edit", args=[tier.pk]), {"name": "Or", "threshold": "9"}),
    ]
    for url, data in posts:
        assert counter_client.post(url, data).status_code == 403, url
    reward.refresh_from_db()
    assert reward.active and reward.name == "Café"
    assert in_org(org, lambda: Reward.objects.count()) == 1
    assert in_org(org, lambda: Tier.objects.get().threshold) == 100
    assert not [a for a in audit_actions(org) if a.startswith("loyalty.")]


def test_anonymous_is_sent_to_login(client, org):
    response = client.get(reverse("loyalty:program_settings"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_other_organization_reward_is_404(org, other_org, owner_client):
    theirs = in_org(other_org, lambda: Reward.objects.create(name="Leur café", cost=10))
    assert (
        owner_client.get(reverse("loyalty:program_reward_edit", args=[theirs.pk])).status_code
        == 404
    )
    response = owner_client.post(reverse("loyalty:program_reward_delete", args=[theirs.pk]))
    assert response.status_code == 404
    assert in_org(other_org, lambda: Reward.objects.count()) == 1


# --------------------------------------------------------------------------- settings


def test_settings_page_explains_the_rules(org, manager_client):
    response = manager_client.get(reverse("loyalty:program_settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_points_per_euro"' in html
    assert 'name="weekday_0"' in html and 'name="category_0_name"' in html
    assert 'style="' not in html and "<script>" not in html


def test_settings_save_and_audit(org, owner_client):
    response = owner_client.post(reverse("loyalty:program_settings"), VALID)
    assert response.status_code == 302
    program = in_org(org, lambda: Program.objects.get())
    assert program.name == "Carte Lumière"
    assert program.card_color == "#224466"
    assert program.welcome_bonus == 10
    assert program.weekday_multipliers == {"5": "2"}
    assert program.category_multipliers == {"Pain": "3"}
    assert program.daily_cap is None
    rules_now = program.earn_rules()
    assert rules_now.weekday_multipliers == {5: Decimal(2)}
    event = in_org(org, lambda: AuditEvent.objects.get(action="loyalty.program_updated"))
    assert "welcome_bonus" in event.data["changed"]
    assert "Lumière" not in str(event.data)
    # The form shows what was saved, with three empty category rows.
    html = owner_client.get(reverse("loyalty:program_settings")).content.decode()
    assert 'value="Pain"' in html and 'name="category_3_name"' in html


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("points_per_euro", "abc", "Points per euro is not valid"),
        ("points_per_euro", "5000", "Points per euro is not valid"),
        ("daily_cap", "-1", "Cap per day is not valid"),
        ("expiry_months", "0", "Points expire after (months) is not valid"),
        ("card_color", "green", "Card colour is not valid"),
        ("name", "", "Program name is required"),
        ("rounding", "up", "Rounding is not valid"),
        ("point_value", "0.00001", "Value of one point is not valid"),
        ("birthday_days_before", "40", "Days before the birthday is not valid"),
    ],
)
def test_settings_errors_name_the_field(org, owner_client, field, value, words):
    with translation.override("en"):
        response = owner_client.post(
            reverse("loyalty:program_settings"), {**VALID, field: value}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    # The error sits next to its field and the field points at it.
    assert f'id="id_{field}_error"' in html
    if field != "rounding":
        assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in html or (
            f'aria-describedby="id_{field}_error"' in html
        )
    assert in_org(org, lambda: Program.objects.filter(name="Carte Lumière").exists()) is False
    assert "loyalty.program_updated" not in audit_actions(org)


def test_settings_multiplier_rows_errors(org, owner_client):
    data = {
        **VALID,
        "weekday_2": "0",
        "category_0_name": "Pain",
        "category_1_name": " pain ",
        "category_1_multiplier": "2",
    }
    response = owner_client.post(
        reverse("loyalty:program_settings"), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="weekday-errors"' in html and 'id="category-errors"' in html
    assert "appears twice" in html


def test_earn_rules_have_the_last_word(tenant, owner):
    """Whatever EarnRules refuses is refused by the service, on the rules' field."""
    from cueillette.core.errors import ServiceError
    from cueillette.loyalty import settings_services

    data = {k: v for k, v in VALID.items() if not k.startswith(("weekday_", "category_"))}
    data["weekday_multipliers"] = {"9": "2"}
    with pytest.raises(ServiceError) as err:
        settings_services.update_program(
            settings_services.ProgramInput(**data), actor=Actor.staff(owner, "owner")
        )
    assert err.value.field == "weekday_multipliers"


# --------------------------------------------------------------------------- rewards


def test_reward_create_edit_withdraw_delete(org, owner, owner_client):
    url = reverse("loyalty:program_reward_new")
    response = owner_client.post(url, {"name": "Café", "cost": "0"})
    assert response.status_code == 400
    assert 'id="id_cost_error"' in response.content.decode()
    response = owner_client.post(
        url, {"name": "Café", "cost": "50", "valid_from": "2026-06-01", "valid_until": "2026-05-01"}
    )
    assert response.status_code == 400 and 'id="id_valid_until_error"' in response.content.decode()
    response = owner_client.post(
        url, {"name": "Café", "description": "Un espresso", "cost": "50", "stock": "3"}
    )
    assert response.status_code == 302
    reward = in_org(org, lambda: Reward.objects.get())
    assert (reward.cost, reward.stock, reward.active) == (50, 3, True)
    listing = owner_client.get(reverse("loyalty:program_rewards")).content.decode()
    assert "Café" in listing and "Un espresso" in listing

    edit = reverse("loyalty:program_reward_edit", args=[reward.pk])
    assert owner_client.get(edit).status_code == 200
    assert (
        owner_client.post(edit, {"name": "Grand café", "cost": "60", "stock": ""}).status_code
        == 302
    )
    reward.refresh_from_db()
    assert (reward.name, reward.cost, reward.stock) == ("Grand café", 60, None)

    owner_client.post(reverse("loyalty:program_reward_active", args=[reward.pk]), {"active": "0"})
    reward.refresh_from_db()
    assert reward.active is False

    # Redeemed once: it can no longer be deleted, only withdrawn.
    with tenancy.tenant_context(org):
        reward.active = True
        reward.save()
        customer = CustomerFactory(organization=org)
        card = services.join_program(customer, actor=Actor.staff(owner, "owner"))
        services.adjust(card, 100, reason="test", actor=Actor.staff(owner, "owner"))
        services.redeem(card, reward, actor=Actor.staff(owner, "owner"))
    listing = owner_client.get(reverse("loyalty:program_rewards")).content.decode()
    assert reverse("loyalty:program_reward_delete", args=[reward.pk]) not in listing
    response = owner_client.post(reverse("loyalty:program_reward_delete", args=[reward.pk]))
    assert response.status_code == 302
    assert in_org(org, lambda: Reward.objects.filter(pk=reward.pk).exists())

    other = in_org(org, lambda: Reward.objects.create(name="Jamais pris", cost=5))
    owner_client.post(reverse("loyalty:program_reward_delete", args=[other.pk]))
    assert not in_org(org, lambda: Reward.objects.filter(pk=other.pk).exists())
    actions = audit_actions(org)
    assert "loyalty.reward_created" in actions
    assert actions.count("loyalty.reward_updated") >= 2
    assert "loyalty.reward_deleted" in actions


def test_reward_tier_restriction_must_exist(org, owner_client):
    response = owner_client.post(
        reverse("loyalty:program_reward_new"), {"name": "VIP", "cost": "10", "min_tier": "nope"}
    )
    assert response.status_code == 400
    in_org(org, lambda: Tier.objects.create(code="or", name="Or", threshold=500))
    response = owner_client.post(
        reverse("loyalty:program_reward_new"), {"name": "VIP", "cost": "10", "min_tier": "or"}
    )
    assert response.status_code == 302
    assert in_org(org, lambda: Reward.objects.get().min_tier) == "or"


def test_rewards_empty_state(org, owner_client):
    html = owner_client.get(
        reverse("loyalty:program_rewards"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "No rewards yet." in html


# --------------------------------------------------------------------------- tiers


def test_tiers_create_unique_threshold_edit(org, manager_client):
    url = reverse("loyalty:program_tier_new")
    response = manager_client.post(
        url, {"name": "Argent", "threshold": "500", "multiplier": "1.25", "benefits": "Café offert"}
    )
    assert response.status_code == 302
    response = manager_client.post(url, {"name": "Autre", "threshold": "500", "multiplier": "1"})
    assert response.status_code == 400
    assert 'id="id_threshold_error"' in response.content.decode()
    response = manager_client.post(url, {"name": "Or", "threshold": "1500", "multiplier": "0"})
    assert response.status_code == 400
    assert 'id="id_multiplier_error"' in response.content.decode()
    manager_client.post(url, {"name": "Or", "threshold": "1500", "multiplier": "1.5"})
    tiers = in_org(org, lambda: list(Tier.objects.order_by("threshold")))
    assert [(t.code, t.threshold, t.multiplier) for t in tiers] == [
        ("argent", 500, Decimal("1.25")),
        ("or", 1500, Decimal("1.5")),
    ]
    _silver, gold = tiers
    edit = reverse("loyalty:program_tier_edit", args=[gold.pk])
    assert (
        manager_client.post(
            edit, {"name": "Or", "threshold": "500", "multiplier": "1.5"}
        ).status_code
        == 400
    )
    assert (
        manager_client.post(
            edit, {"name": "Or+", "threshold": "2000", "multiplier": "2"}
        ).status_code
        == 302
    )
    gold.refresh_from_db()
    assert (gold.code, gold.name, gold.threshold) == ("or", "Or+", 2000)  # the code never moves
    listing = manager_client.get(reverse("loyalty:program_tiers")).content.decode()
    assert "Or+" in listing and "Argent" in listing
    actions = audit_actions(org)
    assert actions.count("loyalty.tier_created") == 2 and "loyalty.tier_updated" in actions


# --------------------------------------------------------------------------- simulate


def counts(org):
    return in_org(
        org,
        lambda: (
            PointsEntry.objects.count(),
            Purchase.objects.count(),
            Card.objects.count(),
            AuditEvent.objects.count(),
        ),
    )


def test_simulate_explains_and_writes_nothing(org, owner_client):
    owner_client.post(reverse("loyalty:program_settings"), {**VALID, "points_per_visit": "2"})
    in_org(
        org,
        lambda: Tier.objects.create(code="or", name="Or", threshold=500, multiplier=Decimal("1.5")),
    )
    before = counts(org)
    # Saturday 2026-05-16 at noon (Paris): Saturday x2, "pain" x3 (the larger one applies).
    params = {
        "amount": "20.50",
        "when": "2026-05-16T12:00",
        "tier": "or",
        "line_0_category": "pain",
        "line_0_amount": "10",
    }
    with translation.override("en"):
        response = owner_client.get(
            reverse("loyalty:program_simulate"), params, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert response.status_code == 200
    earning = response.context["earning"]
    # (10 x 3 + 10.50 x 2) x 1.5 = 76.5 -> 76 (floor) + 2 for the visit = 78.
    assert earning.points == 78
    html = response.content.decode()
    assert "78 points" in html
    assert "multipliers do not add up" in html
    assert "The tier Or multiplies the points by 1.5" in html
    assert "rounded down" in html
    assert "Points for the visit: +2 points." in html
    assert counts(org) == before


def test_simulate_bad_input_is_named(org, owner_client):
    before = counts(org)
    url = reverse("loyalty:program_simulate")
    response = owner_client.get(url, {"amount": "-3"})
    assert response.status_code == 400 and 'id="id_amount_error"' in response.content.decode()
    response = owner_client.get(
        url, {"amount": "5", "line_1_category": "pain", "line_1_amount": "9"}
    )
    assert response.status_code == 400 and 'id="lines-errors"' in response.content.decode()
    response = owner_client.get(
        url, {"amount": "5", "line_2_category": "pain", "line_2_amount": "x"}
    )
    assert (
        response.status_code == 400 and 'id="id_line_2_amount_error"' in response.content.decode()
    )
    response = owner_client.get(url, {"amount": "5", "when": "yesterday"})
    assert response.status_code == 400 and 'id="id_when_error"' in response.content.decode()
    assert counts(org) == before


def test_simulate_empty_form(org, owner_client):
    response = owner_client.get(reverse("loyalty:program_simulate"))
    assert response.status_code == 200 and response.context["earning"] is None


# --------------------------------------------------------------------------- explanations


def sample_steps():
    from cueillette.loyalty.rules import Step, StepCode

    params = {
        StepCode.PURCHASE_POINTS: {"amount": "12.5", "rate": "1", "points": "12.5"},
        StepCode.MULTIPLIER: {
            "line": 0,
            "category": "pain",
            "amount": "10",
            "source": "weekday",
            "weekday": 5,
            "multiplier": "2",
            "ignored": "1.5",
            "points": "20",
        },
        StepCode.TIER_MULTIPLIER: {"tier": "or", "multiplier": "1.5", "points": "30"},
        StepCode.ROUNDING: {"mode": "half_even", "exact": "30.5", "points": 30},
        StepCode.VISIT: {"points": 2},
        StepCode.DAILY_CAP: {"cap": 50, "earned_today": 40, "before": 20, "points": 10},
        StepCode.WELCOME: {"points": 10},
        StepCode.BIRTHDAY: {"points": 5, "year": 2026, "birthday": "2026-02-28"},
        StepCode.BIRTHDAY_SKIPPED: {"reason": "outside_window", "next": "2026-12-01"},
        StepCode.TOTAL: {"points": 1},
        StepCode.REFUND_PROPORTION: {
            "refund_amount": "5",
            "refunded_total": "5",
            "purchase_amount": "10",
            "earned": 10,
            "taken_total": 5,
            "points": 5,
        },
        StepCode.ROLLING_TOTAL: {"points": 320, "months": 12, "since": "2025-11-24"},
        StepCode.TIER_REACHED: {"tier": "or", "threshold": 300},
        StepCode.NO_TIER_REACHED: {"threshold": 300, "missing": 20},
        StepCode.NEXT_TIER: {"tier": "or", "threshold": 300, "missing": 20},
        StepCode.TOP_TIER: {"tier": "or"},
        StepCode.POINTS_LEAVE_WINDOW: {"date": "2026-12-01", "points": 40},
        StepCode.TIER_KEPT_UNTIL_REVIEW: {"tier": "or", "threshold": 300, "review": "2026-12-01"},
        StepCode.TIER_AT_RISK: {
            "tier": "or",
            "threshold": 300,
            "review": "2026-12-01",
            "missing": 9,
        },
        StepCode.TIER_UPGRADE: {"from": "", "to": "or"},
        StepCode.TIER_DOWNGRADE: {"from": "or", "to": ""},
        StepCode.TIER_UNCHANGED: {"tier": "or"},
    }
    assert set(params) == set(StepCode)
    return [Step(code, p) for code, p in params.items()]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("audience", ["staff", "customer"])
def test_every_step_reads_as_a_sentence(language, audience):
    names = {"or": "Or"}
    with translation.override(language):
        for step in sample_steps():
            text = explain(step, names, audience)
            assert text and text != str(step.code), step.code
            assert "%(" not in text, text
            # The dict form stored on purchases reads the same.
            assert explain(step.as_dict(), names, audience) == text
    with translation.override("en"):
        multiplier = explain(sample_steps()[1], names)
        assert "Saturday" in multiplier and "only the largest one applies" in multiplier
    with translation.override("fr"):
        purchase = explain(sample_steps()[0], names)
        assert "12,5" in purchase


def test_steps_of_real_earning_read_well(tenant):
    earning = rules.points_for_purchase(
        rules.EarnRules(daily_cap=5),
        rules.Purchase(
            amount=Decimal("10"),
            at=rules.start_of_local_day(__import__("datetime").date(2026, 5, 16), tenant.tz),
        ),
        tenant.tz,
        earned_today=2,
    )
    with translation.override("en"):
        lines = [explain(s) for s in earning.steps]
    assert any("Cap of 5 points per day" in line for line in lines)
    assert lines[-1] == "Total: 3 points."
