"""The till API for loyalty, through the front door: HTTP requests with API keys."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, IdempotencyRecord, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.customers.services import has_consent
from cueillette.loyalty import services
from cueillette.loyalty.models import (
    Card,
    PointsEntry,
    Purchase,
    Redemption,
    Refund,
    Reward,
    Tier,
)

BASE = "/api/v1"
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_rate_counters() -> None:
    cache.clear()


class Till:
    """An HTTP client that sends its API key, and a fresh Idempotency-Key per write."""

    def __init__(self, raw_key: str) -> None:
        self.client = Client()
        self.raw_key = raw_key

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw_key}", **extra}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, headers=self.headers({}))

    def post(self, path: str, body: Any, *, key: str | None = "auto", **extra: str) -> Any:
        headers = dict(extra)
        if key == "auto":
            key = f"op-{next(_keys)}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(
            BASE + path,
            data=json.dumps(body),
            content_type="application/json",
            headers=self.headers(headers),
        )


def make_key(org: Organization, scope: str = "write") -> str:
    with tenancy.tenant_context(org):
        return create_api_key(f"Till {scope}", scope, actor=Actor.system("test"))[1]


@pytest.fixture
def till(org: Organization) -> Till:
    return Till(make_key(org))


@pytest.fixture
def card(org: Organization, customer: Customer) -> Card:
    with tenancy.tenant_context(org):
        services.get_program()
        return services.join_program(customer, actor=Actor.system("test"))


def assert_error(response: Any, status: int, code: str, field: str | None = "-") -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    if field != "-":
        assert error["field"] == field, error
    return dict(error)


def counts(org: Organization) -> dict[str, Any]:
    """What a refused request must leave untouched."""
    with tenancy.tenant_context(org):
        return {
            "purchases": Purchase.objects.count(),
            "refunds": Refund.objects.count(),
            "redemptions": Redemption.objects.count(),
            "entries": PointsEntry.objects.count(),
            "cards": list(Card.objects.order_by("pk").values_list("pk", "balance", "status")),
            "stock": list(Reward.objects.order_by("pk").values_list("pk", "stock")),
            "audit": AuditEvent.objects.count(),
            "idempotency": IdempotencyRecord.objects.count(),
            "purchase_totals": list(
                Purchase.objects.order_by("pk").values_list("refunded_amount", "points_taken_back")
            ),
        }


def balance(org: Organization, card: Card) -> int:
    with tenancy.tenant_context(org):
        fresh = Card.objects.get(pk=card.pk)
        total = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
        assert fresh.balance == total
        return fresh.balance


def buy(till: Till, card: Card, amount: str, receipt: str, **extra: Any) -> Any:
    body = {"card_number": card.number, "amount": amount, "receipt_id": receipt, **extra}
    return till.post("/purchases", body)


# --------------------------------------------------------------------------- purchases


@pytest.mark.django_db
def test_purchase_earns_points_with_explanation(org: Organization, till: Till, card: Card) -> None:
    response = buy(till, card, "42.50", "R-1", currency="EUR")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points_earned"] == 42
    assert body["balance"] == 42
    assert body["amount"] == "42.50"
    assert body["currency"] == "EUR"
    assert body["receipt_id"] == "R-1"
    assert body["card_number"] == card.number
    assert body["already_recorded"] is False
    codes = [step["code"] for step in body["explanation"]]
    assert "purchase_points" in codes and "rounding" in codes
    assert body["tier"] is None
    assert balance(org, card) == 42
    with tenancy.tenant_context(org):
        purchase = Purchase.objects.get(receipt_id="R-1")
        assert purchase.source == "api" and body["id"] == purchase.pk
        event = AuditEvent.objects.filter(action="loyalty.purchase").get()
        assert event.actor_kind == "api" and "Till" in event.actor_label


@pytest.mark.django_db
def test_purchase_by_customer_id_with_lines_and_tier(
    org: Organization, till: Till, card: Card
) -> None:
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.category_multipliers = {"bio": "2"}
        program.save()
        Tier.objects.create(code="silver", name="Argent", threshold=50, multiplier="1")
    body = {
        "customer_id": card.customer_id,
        "amount": "30.00",
        "receipt_id": "R-lines",
        "lines": [{"amount": "20.00", "category": "bio"}, {"amount": "10.00"}],
    }
    response = till.post("/purchases", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["points_earned"] == 50  # 20 x 2 + 10
    assert data["tier"]["code"] == "silver"
    assert data["tier"]["name"] == "Argent"
    assert "multiplier" in [s["code"] for s in data["explanation"]]


@pytest.mark.django_db
def test_every_write_requires_an_idempotency_key(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "10", "R-0")
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Café", cost=5, stock=3)
        other = CustomerFactory(organization=org)
    before = counts(org)
    attempts = [
        ("/purchases", {"card_number": card.number, "amount": "5", "receipt_id": "R-9"}),
        ("/refunds", {"receipt_id": "R-0"}),
        ("/redemptions", {"card_number": card.number, "reward_id": reward.pk}),
        ("/cards", {"customer_id": other.pk}),
    ]
    for path, body in attempts:
        for key in (None, "", "  "):
            response = till.post(path, body, key=key)
            assert_error(response, 400, "idempotency_key_required", "Idempotency-Key")
            assert "Idempotency-Key" in response.json()["error"]["message"]
    assert counts(org) == before


@pytest.mark.django_db
def test_retry_with_same_key_replays_the_answer(org: Organization, till: Till, card: Card) -> None:
    body = {"card_number": card.number, "amount": "12.00", "receipt_id": "R-retry"}
    first = till.post("/purchases", body, key="sale-1")
    second = till.post("/purchases", body, key="sale-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert balance(org, card) == 12
    # The same key with another body is refused, and credits nothing.
    other = till.post("/purchases", {**body, "amount": "13.00"}, key="sale-1")
    assert_error(other, 409, "idempotency_key_reused", "Idempotency-Key")
    assert balance(org, card) == 12


@pytest.mark.django_db
def test_same_receipt_new_key_credits_once(org: Organization, till: Till, card: Card) -> None:
    first = buy(till, card, "12.00", "R-dup")
    again = buy(till, card, "12", "R-dup")
    assert first.status_code == 201
    assert again.status_code == 200, again.content
    assert again.json()["already_recorded"] is True
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["balance"] == 12
    assert balance(org, card) == 12


@pytest.mark.django_db
def test_same_receipt_other_amount_is_409(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "12.00", "R-dup")
    before = counts(org)
    assert_error(buy(till, card, "15.00", "R-dup"), 409, "receipt_conflict", "receipt_id")
    # ...or on another card.
    with tenancy.tenant_context(org):
        other = services.join_program(CustomerFactory(organization=org), actor=Actor.system("t"))
    before = counts(org)
    assert_error(buy(till, other, "12.00", "R-dup"), 409, "receipt_conflict", "receipt_id")
    assert counts(org) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("-5", "invalid_amount"),
        (-5, "invalid_amount"),
        ("abc", "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("Infinity", "invalid_amount"),
        ("1e12", "amount_too_large"),
        ("99999999999", "amount_too_large"),
        ("1.234", "invalid_amount"),
        ("", "invalid_amount"),
    ],
)
def test_bad_amounts_write_nothing(
    org: Organization, till: Till, card: Card, amount: Any, code: str
) -> None:
    before = counts(org)
    assert_error(buy(till, card, amount, "R-bad"), 400, code, "amount")
    assert counts(org) == before


@pytest.mark.django_db
def test_bad_purchase_inputs_write_nothing(org: Organization, till: Till, card: Card) -> None:
    before = counts(org)
    assert_error(buy(till, card, "5", "R-x", currency="USD"), 400, "unknown_currency", "currency")
    assert_error(buy(till, card, "5", ""), 400, "receipt_required", "receipt_id")
    assert_error(buy(till, card, "5", "R" * 101), 400, "invalid", "receipt_id")
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    assert_error(buy(till, card, "5", "R-f", occurred_at=future), 400, "invalid", "occurred_at")
    lines = [{"amount": "-1", "category": "bio"}]
    assert_error(buy(till, card, "5", "R-l", lines=lines), 400, "invalid_amount", "lines[0].amount")
    too_much = [{"amount": "50"}]
    response = buy(till, card, "5", "R-l2", lines=too_much)
    assert response.status_code == 400 and response.json()["error"]["field"]
    # No card reference, both, an unknown number, a customer who is not a member.
    no_ref = till.post("/purchases", {"amount": "5", "receipt_id": "R-n"})
    assert_error(no_ref, 400, "required", "card_number")
    both = {"card_number": card.number, "customer_id": card.customer_id}
    assert_error(
        till.post("/purchases", {**both, "amount": "5", "receipt_id": "R-b"}), 400, "invalid"
    )
    assert_error(
        till.post(
            "/purchases", {"card_number": "1234 5678 9012", "amount": "5", "receipt_id": "Z"}
        ),
        404,
        "card_not_found",
        "card_number",
    )
    with tenancy.tenant_context(org):
        stranger = CustomerFactory(organization=org)
    assert_error(
        till.post("/purchases", {"customer_id": stranger.pk, "amount": "5", "receipt_id": "Z"}),
        404,
        "not_a_member",
        "customer_id",
    )
    assert_error(
        till.post("/purchases", {"customer_id": 987654, "amount": "5", "receipt_id": "Z"}),
        404,
        "not_found",
        "customer_id",
    )
    # Missing fields are a 422 naming the field.
    missing = till.post("/purchases", {"card_number": card.number, "receipt_id": "Z"})
    assert_error(missing, 422, "required", "amount")
    assert counts(org) == before


@pytest.mark.django_db
def test_closed_card_refuses_purchases(org: Organization, till: Till, card: Card) -> None:
    with tenancy.tenant_context(org):
        services.leave_program(card, actor=Actor.system("test"))
    before = counts(org)
    assert_error(buy(till, card, "5", "R-closed"), 400, "card_closed", "card")
    assert counts(org) == before
    response = till.get(f"/cards/{card.number}")
    assert response.status_code == 200
    assert response.json()["status"] == "closed" and response.json()["is_open"] is False


@pytest.mark.django_db
def test_read_key_cannot_write(org: Organization, card: Card) -> None:
    reader = Till(make_key(org, scope="read"))
    before = counts(org)
    assert_error(buy(reader, card, "5", "R-r"), 403, "forbidden")
    assert counts(org) == before
    assert reader.get(f"/cards/{card.number}").status_code == 200


# --------------------------------------------------------------------------- refunds


@pytest.mark.django_db
def test_partial_refunds_until_full(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "100.00", "R-100")
    r1 = till.post("/refunds", {"receipt_id": "R-100", "amount": "25.00", "refund_id": "RF-1"})
    assert r1.status_code == 201, r1.content
    assert r1.json()["points"] == 25 and r1.json()["points_taken"] == 25
    assert r1.json()["remaining_amount"] == "75.00"
    assert r1.json()["balance"] == 75
    r2 = till.post("/refunds", {"receipt_id": "R-100", "amount": "0.50"})
    assert r2.json()["points"] == 1  # ceil(100 x 25.50 / 100) - 25
    assert balance(org, card) == 74
    # Omitted amount: everything that remains.
    r3 = till.post("/refunds", {"receipt_id": "R-100"})
    assert r3.status_code == 201, r3.content
    assert r3.json()["amount"] == "74.50"
    assert r3.json()["remaining_amount"] == "0.00"
    assert balance(org, card) == 0
    # Nothing left to refund.
    before = counts(org)
    response = till.post("/refunds", {"receipt_id": "R-100", "amount": "0.01"})
    assert_error(response, 400, "refund_exceeds_purchase", "amount")
    assert_error(till.post("/refunds", {"receipt_id": "R-100"}), 400, "invalid_amount", "amount")
    assert counts(org) == before


@pytest.mark.django_db
def test_refund_errors_write_nothing(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "20.00", "R-20")
    before = counts(org)
    response = till.post("/refunds", {"receipt_id": "R-20", "amount": "20.01"})
    error = assert_error(response, 400, "refund_exceeds_purchase", "amount")
    assert "20" in error["message"]
    assert_error(
        till.post("/refunds", {"receipt_id": "nope"}), 404, "unknown_receipt", "receipt_id"
    )
    assert_error(
        till.post("/refunds", {"receipt_id": "R-20", "amount": "-3"}), 400, "invalid_amount"
    )
    assert_error(
        till.post("/refunds", {"receipt_id": "R-20", "amount": "0"}), 400, "invalid_amount"
    )
    assert counts(org) == before


@pytest.mark.django_db
def test_refund_never_credits_spent_points(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "30.00", "R-30")
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Panier", cost=25)
    redeemed = till.post("/redemptions", {"card_number": card.number, "reward_id": reward.pk})
    assert redeemed.status_code == 201
    response = till.post("/refunds", {"receipt_id": "R-30"})
    assert response.status_code == 201
    assert response.json()["points"] == 30
    assert response.json()["points_taken"] == 5  # what the card still held
    assert balance(org, card) == 0


@pytest.mark.django_db
def test_refund_id_is_idempotent(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "40.00", "R-40")
    first = till.post("/refunds", {"receipt_id": "R-40", "amount": "10", "refund_id": "RF"})
    again = till.post("/refunds", {"receipt_id": "R-40", "amount": "10.00", "refund_id": "RF"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["already_recorded"]
    assert balance(org, card) == 30
    before = counts(org)
    conflict = till.post("/refunds", {"receipt_id": "R-40", "amount": "5", "refund_id": "RF"})
    assert_error(conflict, 409, "refund_conflict", "refund_id")
    assert counts(org) == before


# --------------------------------------------------------------------------- rewards


@pytest.mark.django_db
def test_redeem_and_errors(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "50.00", "R-50")
    with tenancy.tenant_context(org):
        coffee = Reward.objects.create(name="Café", cost=20, stock=1)
        basket = Reward.objects.create(name="Panier", cost=500)
        gold_only = Reward.objects.create(name="Soirée", cost=10, min_tier="gold")
        Tier.objects.create(code="gold", name="Or", threshold=1000)
        old = Reward.objects.create(
            name="Ancien", cost=5, valid_until=timezone.localdate() - dt.timedelta(days=2)
        )
        hidden = Reward.objects.create(name="Retiré", cost=5, active=False)
    response = till.post("/redemptions", {"card_number": card.number, "reward_id": coffee.pk})
    assert response.status_code == 201, response.content
    assert response.json()["points"] == 20 and response.json()["balance"] == 30
    assert response.json()["reward_name"] == "Café"
    before = counts(org)
    for reward, code in (
        (coffee, "out_of_stock"),
        (basket, "insufficient_points"),
        (gold_only, "tier_required"),
        (old, "reward_unavailable"),
        (hidden, "reward_unavailable"),
    ):
        body = {"card_number": card.number, "reward_id": reward.pk}
        assert_error(till.post("/redemptions", body), 400, code, "reward")
    body = {"card_number": card.number, "reward_id": 999999}
    assert_error(till.post("/redemptions", body), 404, "not_found", "reward_id")
    assert counts(org) == before
    assert balance(org, card) == 30


@pytest.mark.django_db
def test_rewards_catalogue_with_availability(org: Organization, till: Till, card: Card) -> None:
    buy(till, card, "30.00", "R-30")
    with tenancy.tenant_context(org):
        Reward.objects.create(name="Café", cost=20, stock=0)
        Reward.objects.create(name="Croissant", cost=10)
        Reward.objects.create(name="Panier", cost=50)
        Reward.objects.create(name="Retiré", cost=5, active=False)
    response = till.get("/rewards")
    assert response.status_code == 200
    items = {r["name"]: r for r in response.json()["items"]}
    assert list(items) == ["Croissant", "Café", "Panier"]
    assert items["Café"]["available"] is False
    assert items["Café"]["unavailable_reason"] == "out_of_stock"
    assert items["Panier"]["available"] is True  # no card: the catalogue only
    mine = {
        r["name"]: r for r in till.get("/rewards", {"card_number": card.number}).json()["items"]
    }
    assert mine["Croissant"]["available"] is True
    assert mine["Panier"]["unavailable_reason"] == "insufficient_points"
    page = till.get("/rewards", {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = till.get("/rewards", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [r["name"] for r in rest["items"]] == ["Panier"] and rest["next_cursor"] is None


# --------------------------------------------------------------------------- cards


@pytest.mark.django_db
def test_card_lookup_balance_tier_and_expiring(org: Organization, till: Till, card: Card) -> None:
    with tenancy.tenant_context(org):
        Tier.objects.create(code="silver", name="Argent", threshold=10, benefits="Café offert")
    long_ago = timezone.now() - dt.timedelta(days=355)  # 12-month expiry: about 10 days left
    buy(till, card, "7.00", "R-old", occurred_at=long_ago.isoformat())
    buy(till, card, "5.00", "R-new")
    spaced = " ".join(card.number[i : i + 4] for i in (0, 4, 8))
    response = till.get(f"/cards/{spaced}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["number"] == card.number and data["display_number"] == spaced
    assert data["balance"] == 12 and data["available"] == 12
    assert data["tier"]["code"] == "silver" and data["tier"]["benefits"] == "Café offert"
    assert [line["points"] for line in data["expiring_soon"]] == [7]
    assert data["status"] == "open" and data["customer_id"] == card.customer_id
    assert_error(till.get("/cards/123456789012"), 404, "not_found", "number")


@pytest.mark.django_db
def test_card_history_is_paginated_with_causes(org: Organization, till: Till, card: Card) -> None:
    for i in range(5):
        buy(till, card, "10", f"R-{i}")
    till.post("/refunds", {"receipt_id": "R-0", "amount": "5", "refund_id": "RF-0"})
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Café", cost=3)
        services.adjust(card, 2, reason="geste commercial", actor=Actor.system("test"))
    till.post("/redemptions", {"card_number": card.number, "reward_id": reward.pk})
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = till.get(f"/cards/{card.number}/history", params).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len({e["id"] for e in seen}) == 8
    assert sum(e["points"] for e in seen) == balance(org, card)
    kinds = {e["kind"]: e for e in seen}
    assert kinds["refund"]["receipt_id"] == "R-0" and kinds["refund"]["refund_id"] == "RF-0"
    assert kinds["refund"]["corrects_id"] is not None
    assert kinds["redemption"]["reward_name"] == "Café"
    assert kinds["adjustment"]["reason"] == "geste commercial"
    assert seen[0]["kind"] == "redemption"  # newest first
    bad = till.get(f"/cards/{card.number}/history", {"cursor": "garbage"})
    assert_error(bad, 400, "invalid_cursor", "cursor")


@pytest.mark.django_db
def test_join_program_through_the_api(org: Organization, till: Till) -> None:
    with tenancy.tenant_context(org):
        program = services.get_program()
        program.welcome_bonus = 15
        program.save()
        customer = CustomerFactory(organization=org)
    response = till.post("/cards", {"customer_id": customer.pk, "language": "fr"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["balance"] == 15 and data["customer_id"] == customer.pk
    assert len(data["number"]) == 12
    with tenancy.tenant_context(org):
        assert has_consent(customer, "loyalty")
    looked_up = till.get(f"/customers/{customer.pk}/card")
    assert looked_up.status_code == 200 and looked_up.json()["number"] == data["number"]
    before = counts(org)
    again = till.post("/cards", {"customer_id": customer.pk})
    assert_error(again, 409, "already_member")
    assert_error(till.post("/cards", {"customer_id": 424242}), 404, "not_found", "customer_id")
    assert counts(org) == before
    with tenancy.tenant_context(org):
        stranger = CustomerFactory(organization=org)
    assert_error(till.get(f"/customers/{stranger.pk}/card"), 404, "not_a_member", "customer_id")


# --------------------------------------------------------------------------- tenants


@pytest.mark.django_db
def test_another_organization_sees_and_touches_nothing(
    org: Organization, other_org: Organization, till: Till, card: Card
) -> None:
    buy(till, card, "20.00", "R-A")
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Café", cost=5, stock=2)
    intruder = Till(make_key(other_org))
    before = counts(org)
    number = card.number
    assert_error(intruder.get(f"/cards/{number}"), 404, "not_found")
    assert_error(intruder.get(f"/cards/{number}/history"), 404, "not_found")
    assert_error(intruder.get(f"/customers/{card.customer_id}/card"), 404, "not_found")
    assert_error(buy(intruder, card, "5", "R-B"), 404, "card_not_found")
    body = {"customer_id": card.customer_id, "amount": "5", "receipt_id": "R-C"}
    assert_error(intruder.post("/purchases", body), 404, "not_found")
    assert_error(intruder.post("/refunds", {"receipt_id": "R-A"}), 404, "unknown_receipt")
    assert_error(
        intruder.post("/redemptions", {"card_number": number, "reward_id": reward.pk}),
        404,
        "card_not_found",
    )
    assert_error(intruder.post("/cards", {"customer_id": card.customer_id}), 404, "not_found")
    assert intruder.get("/rewards").json()["items"] == []
    assert counts(org) == before
    # The other organization may use the same receipt id for its own sale.
    with tenancy.tenant_context(other_org):
        theirs = services.join_program(
            CustomerFactory(organization=other_org), actor=Actor.system("t")
        )
    assert buy(intruder, theirs, "5", "R-A").status_code == 201
    assert counts(org) == before
