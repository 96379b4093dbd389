"""The counter screen through the front door: find, join, purchase, redeem, undo, adjust."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from cueillette.accounts.models import Role
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory, MembershipFactory, UserFactory
from cueillette.customers.models import ConsentEvent
from cueillette.loyalty import rules, services
from cueillette.loyalty.models import (
    Card,
    PointsEntry,
    Program,
    Purchase,
    Redemption,
    Reward,
    Tier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    """The pages speak English here, so the assertions read the English wording."""
    settings.LANGUAGE_CODE = "en"


def url(name: str, *args: Any) -> str:
    return reverse(f"loyalty:{name}", args=args or None)


@pytest.fixture
def member(tenant: Any, owner: Any) -> Card:
    customer = CustomerFactory(
        organization=tenant,
        first_name="Inès",
        last_name="Moreau",
        phone="+33611223344",
        search_phone="611223344",
        search_last="moreau",
        search_first="ines",
        notes="Prefers oat milk",
        tags=["coffee"],
    )
    return services.join_program(customer, actor=Actor.staff(owner, "owner"))


@pytest.fixture
def reward(tenant: Any) -> Reward:
    return Reward.objects.create(name="Free coffee", cost=20, stock=5)


def balance(card: Card) -> int:
    card.refresh_from_db()
    ledger = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
    assert card.balance == ledger
    return card.balance


def confirm_form(html: str) -> dict[str, str]:
    """The hidden fields of the confirm form a preview renders."""
    amount = re.search(r'name="amount" value="([^"]+)"', html)
    receipt = re.search(r'name="receipt_id" value="([^"]+)"', html)
    assert amount and receipt, html
    return {"amount": amount.group(1), "receipt_id": receipt.group(1)}


# --------------------------------------------------------------------------- access


def test_counter_needs_login_and_membership(client: Any, member: Card) -> None:
    response = client.get(url("counter"))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    response = client.post(url("counter_purchase", member.pk), {"amount": "10"})
    assert response.status_code == 302
    assert member.purchases.count() == 0


def test_counter_home_has_search_and_scan(counter_client: Any) -> None:
    response = counter_client.get(url("counter"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="q"' in html and "data-scan" in html
    assert 'capture="environment"' in html
    assert "loyalty/vendor/jsQR.js" in html  # named for lazy loading, not loaded
    assert not re.search(r"<script[^>]+jsQR", html)
    assert "style=" not in html and "onclick" not in html


# --------------------------------------------------------------------------- find


def test_find_by_card_number_with_spaces(counter_client: Any, member: Card) -> None:
    response = counter_client.get(url("counter"), {"q": rules.format_card_number(member.number)})
    assert response.status_code == 302
    assert response["Location"] == url("counter_card", member.pk)


def test_card_number_with_a_typing_error_is_explained(counter_client: Any, member: Card) -> None:
    last = int(member.number[-1])
    wrong = member.number[:-1] + str((last + 1) % 10)
    response = counter_client.get(url("counter"), {"q": wrong})
    html = response.content.decode()
    assert "check digit" in html
    assert 'aria-invalid="true"' in html


def test_unknown_card_number(counter_client: Any, tenant: Any) -> None:
    body = "12345678901"
    number = body + rules.luhn_check_digit(body)
    response = counter_client.get(url("counter"), {"q": number})
    assert "No card with the number" in response.content.decode()


def test_find_by_phone_and_by_name(counter_client: Any, member: Card) -> None:
    for q in ("06 11 22 33 44", "Moreau", "ines mor"):
        response = counter_client.get(url("counter"), {"q": q})
        assert response.status_code == 302, q
        assert response["Location"] == url("counter_card", member.pk)


def test_several_matches_are_listed(counter_client: Any, member: Card, tenant: Any) -> None:
    other = CustomerFactory(
        organization=tenant, first_name="Paul", last_name="Moreau", search_last="moreau"
    )
    response = counter_client.get(url("counter"), {"q": "moreau"})
    html = response.content.decode()
    assert response.status_code == 200
    assert url("counter_card", member.pk) in html
    assert url("counter_customer", other.pk) in html
    assert "Not a member yet" in html


def test_no_match_has_a_real_empty_state(counter_client: Any, tenant: Any) -> None:
    response = counter_client.get(url("counter"), {"q": "Zyxwv"})
    assert response.status_code == 200
    assert "No customer matches" in response.content.decode()


def test_customer_with_a_card_goes_to_the_card(counter_client: Any, member: Card) -> None:
    response = counter_client.get(url("counter_customer", member.customer_id))
    assert response["Location"] == url("counter_card", member.pk)


# --------------------------------------------------------------------------- member screen


def test_member_screen_shows_what_the_counter_needs(
    counter_client: Any,
    member: Card,
    reward: Reward,
    owner: Any,
    django_assert_max_num_queries: Any,
) -> None:
    Tier.objects.create(code="silver", name="Silver", threshold=100)
    Tier.objects.create(code="gold", name="Gold", threshold=500)
    services.record_purchase(
        member, amount="42.50", actor=Actor.staff(owner, "owner"), receipt_id="R1"
    )
    Reward.objects.create(name="Big basket", cost=500)
    with django_assert_max_num_queries(16):
        response = counter_client.get(url("counter_card", member.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Inès Moreau" in html
    assert rules.format_card_number(member.number) in html
    assert "data-balance>42<" in html
    assert "Free coffee" in html  # 20 points, within reach
    assert "Big basket" in html and "458" in html  # soon: 458 more points
    assert "<progress" in html and "Silver" in html
    assert "Prefers oat milk" in html and "coffee" in html
    assert "Loyalty program" in html  # consent badge
    assert 'inputmode="decimal"' in html
    assert "valid until" in html  # points expire 12 months after they were earned
    # The owner recorded that purchase: the counter staff sees no Undo button for it.
    assert url("counter_undo", member.pk) not in html


def test_member_screen_of_a_customer_with_many_entries_stays_light(
    counter_client: Any, member: Card, owner: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        services.record_purchase(
            member, amount="3", actor=Actor.staff(owner, "owner"), receipt_id=f"M{i}"
        )
    counter_client.post(url("counter_purchase", member.pk), {"amount": "5", "receipt_id": "own"})
    # Session, user, membership, then the screen: card, customer with consents, program,
    # tiers, ledger (once), rewards, visits, the undoable operation and what it names.
    with django_assert_max_num_queries(18):
        response = counter_client.get(url("counter_card", member.pk))
    assert response.status_code == 200
    assert url("counter_undo", member.pk) in response.content.decode()


# --------------------------------------------------------------------------- join


def test_join_at_counter_records_consent_and_creates_a_card(
    counter_client: Any, counter: Any, tenant: Any
) -> None:
    customer = CustomerFactory(organization=tenant)
    page = counter_client.get(url("counter_customer", customer.pk))
    html = page.content.decode()
    assert "Join the loyalty program" in html
    assert "checked" not in html  # nothing pre-ticked

    refused = counter_client.post(url("counter_join", customer.pk))
    assert refused.status_code == 400
    assert not Card.objects.filter(customer=customer).exists()
    assert not ConsentEvent.objects.filter(customer=customer).exists()

    response = counter_client.post(url("counter_join", customer.pk), {"agreed": "yes"})
    card = Card.objects.get(customer=customer)
    assert response["Location"] == url("counter_card", card.pk)
    assert rules.is_luhn_valid(card.number)
    event = ConsentEvent.objects.get(customer=customer, purpose="loyalty")
    assert event.granted and event.source == "counter"
    assert event.actor_user == counter and event.actor_label == counter.display_name
    # Again: already a member, straight to the card, nothing written twice.
    again = counter_client.post(url("counter_join", customer.pk), {"agreed": "yes"})
    assert again["Location"] == url("counter_card", card.pk)
    assert Card.objects.filter(customer=customer).count() == 1


# --------------------------------------------------------------------------- purchase


def test_preview_writes_nothing(counter_client: Any, member: Card) -> None:
    response = counter_client.post(url("counter_preview", member.pk), {"amount": "12,50"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "+12 points" in html
    assert confirm_form(html)["amount"] == "12.50"
    assert Purchase.objects.count() == 0 and PointsEntry.objects.count() == 0
    # The fragment the page's script asks for while typing.
    fragment = counter_client.post(
        url("counter_preview", member.pk), {"amount": "7"}, headers={"X-Requested-With": "fetch"}
    )
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body and "+7 points" in body and "receipt_id" in body
    assert Purchase.objects.count() == 0


def test_preview_of_a_bad_amount_names_the_field(counter_client: Any, member: Card) -> None:
    for amount, words in (("abc", "not a number"), ("-3", "zero or more"), ("", "required")):
        response = counter_client.post(url("counter_preview", member.pk), {"amount": amount})
        html = response.content.decode()
        assert response.status_code == 400
        assert "amount" in html and words in html
        assert 'aria-invalid="true"' in html
    assert Purchase.objects.count() == 0


def test_confirm_twice_with_the_same_receipt_credits_once(
    counter_client: Any, member: Card, counter: Any
) -> None:
    preview = counter_client.post(url("counter_preview", member.pk), {"amount": "42.50"})
    form = confirm_form(preview.content.decode())
    first = counter_client.post(url("counter_purchase", member.pk), form)
    assert first.status_code == 302
    second = counter_client.post(url("counter_purchase", member.pk), form)
    assert second.status_code == 302
    assert Purchase.objects.count() == 1
    assert balance(member) == 42
    purchase = Purchase.objects.get()
    assert purchase.source == "counter" and purchase.created_by == counter
    page = counter_client.get(second["Location"])
    assert "already recorded" in page.content.decode()


def test_confirm_with_a_tampered_amount_is_refused(counter_client: Any, member: Card) -> None:
    preview = counter_client.post(url("counter_preview", member.pk), {"amount": "10"})
    form = confirm_form(preview.content.decode())
    counter_client.post(url("counter_purchase", member.pk), form)
    response = counter_client.post(url("counter_purchase", member.pk), {**form, "amount": "99"})
    assert response.status_code == 409
    assert balance(member) == 10


# --------------------------------------------------------------------------- redeem / undo


def test_redeem_a_reward(counter_client: Any, member: Card, reward: Reward, owner: Any) -> None:
    services.record_purchase(
        member, amount="30", actor=Actor.staff(owner, "owner"), receipt_id="R1"
    )
    response = counter_client.post(url("counter_redeem", member.pk), {"reward": reward.pk})
    assert response.status_code == 302
    assert balance(member) == 10
    reward.refresh_from_db()
    assert reward.stock == 4
    page = counter_client.get(response["Location"]).content.decode()
    assert "Reward given" in page
    # Not enough points left: a clear refusal, nothing written.
    refused = counter_client.post(url("counter_redeem", member.pk), {"reward": reward.pk})
    assert refused.status_code == 400
    assert "not enough points" in refused.content.decode()
    assert Redemption.objects.count() == 1 and balance(member) == 10


def test_undo_own_redemption_and_purchase(
    counter_client: Any, member: Card, reward: Reward
) -> None:
    counter_client.post(url("counter_purchase", member.pk), {"amount": "30", "receipt_id": "A"})
    counter_client.post(url("counter_redeem", member.pk), {"reward": reward.pk})
    assert balance(member) == 10
    page = counter_client.get(url("counter_card", member.pk)).content.decode()
    assert url("counter_undo", member.pk) in page and "Free coffee" in page
    response = counter_client.post(url("counter_undo", member.pk))
    assert response.status_code == 302
    assert balance(member) == 30
    reward.refresh_from_db()
    assert reward.stock == 5
    # Only the last operation can be undone, once.
    response = counter_client.post(url("counter_undo", member.pk))
    assert response.status_code == 400
    assert "nothing of yours to undo" in response.content.decode()
    assert balance(member) == 30


def test_undo_after_five_minutes_is_refused(
    counter_client: Any, member: Card, monkeypatch: Any
) -> None:
    counter_client.post(url("counter_purchase", member.pk), {"amount": "30", "receipt_id": "A"})
    assert balance(member) == 30
    later = timezone.now() + dt.timedelta(minutes=5, seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    page = counter_client.get(url("counter_card", member.pk)).content.decode()
    assert url("counter_undo", member.pk) not in page
    response = counter_client.post(url("counter_undo", member.pk))
    assert response.status_code == 400
    assert balance(member) == 30


def test_undo_within_five_minutes_works(
    counter_client: Any, member: Card, monkeypatch: Any
) -> None:
    counter_client.post(url("counter_purchase", member.pk), {"amount": "30", "receipt_id": "A"})
    later = timezone.now() + dt.timedelta(minutes=4, seconds=50)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = counter_client.post(url("counter_undo", member.pk))
    assert response.status_code == 302
    assert balance(member) == 0


def test_cannot_undo_someone_elses_operation(
    counter_client: Any, client_for: Any, org: Any, member: Card
) -> None:
    counter_client.post(url("counter_purchase", member.pk), {"amount": "30", "receipt_id": "A"})
    colleague = UserFactory()
    MembershipFactory(organization=org, user=colleague, role=Role.COUNTER)
    other = client_for(colleague)
    page = other.get(url("counter_card", member.pk)).content.decode()
    assert url("counter_undo", member.pk) not in page
    response = other.post(url("counter_undo", member.pk))
    assert response.status_code == 400
    assert balance(member) == 30


# --------------------------------------------------------------------------- adjust


def test_counter_staff_cannot_adjust(counter_client: Any, member: Card) -> None:
    page = counter_client.get(url("counter_card", member.pk)).content.decode()
    assert url("adjust", member.pk) not in page
    response = counter_client.post(url("adjust", member.pk), {"points": "50", "reason": "gift"})
    assert response.status_code == 403
    assert balance(member) == 0


def test_manager_adjust_needs_a_reason(manager_client: Any, member: Card) -> None:
    page = manager_client.get(url("counter_card", member.pk)).content.decode()
    assert url("adjust", member.pk) in page
    response = manager_client.post(url("adjust", member.pk), {"points": "50", "reason": " "})
    assert response.status_code == 400
    assert "reason is required" in response.content.decode()
    assert balance(member) == 0
    response = manager_client.post(url("adjust", member.pk), {"points": "ten", "reason": "x"})
    assert response.status_code == 400 and "whole number" in response.content.decode()
    response = manager_client.post(
        url("adjust", member.pk), {"points": "50", "reason": "Lost card, points restored"}
    )
    assert response.status_code == 302
    assert balance(member) == 50
    event = AuditEvent.objects.get(action="loyalty.adjusted")
    assert event.data["points"] == 50
    response = manager_client.post(url("adjust", member.pk), {"points": "-80", "reason": "typo"})
    assert response.status_code == 400 and "not enough points" in response.content.decode()
    assert balance(member) == 50


# --------------------------------------------------------------------------- isolation


def test_another_organizations_ids_are_404(
    other_org: Any, counter_client: Any, member: Card
) -> None:
    with tenancy.tenant_context(other_org):
        stranger = CustomerFactory(organization=other_org)
        foreign = services.join_program(stranger, actor=Actor.system("test"))
        foreign_reward = Reward.objects.create(name="Theirs", cost=1)
    for name in ("counter_card",):
        assert counter_client.get(url(name, foreign.pk)).status_code == 404
    for name in ("counter_preview", "counter_purchase", "counter_redeem", "counter_undo"):
        response = counter_client.post(url(name, foreign.pk), {"amount": "5", "reward": 1})
        assert response.status_code == 404, name
    assert counter_client.get(url("counter_customer", stranger.pk)).status_code == 404
    assert (
        counter_client.post(url("counter_join", stranger.pk), {"agreed": "yes"}).status_code == 404
    )
    # Their reward cannot be spent from our card either.
    response = counter_client.post(url("counter_redeem", member.pk), {"reward": foreign_reward.pk})
    assert response.status_code == 404
    # Their card number is not found here.
    response = counter_client.get(url("counter"), {"q": foreign.number})
    assert response.status_code == 200 and "No card with the number" in response.content.decode()
    with tenancy.tenant_context(other_org):
        assert Purchase.objects.count() == 0


def test_customer_who_already_agreed_gets_the_card_in_one_tap(
    counter_client: Any, tenant: Any, owner: Any
) -> None:
    from cueillette.customers.services import record_consent
    from cueillette.loyalty.services import get_program

    customer = CustomerFactory(organization=tenant)
    # The loyalty consent issues the card wherever it is given, unless the program is closed
    # then: that customer agreed, and their card is issued at the counter once it reopens.
    Program.objects.filter(pk=get_program().pk).update(enabled=False)
    record_consent(customer, "loyalty", True, source="join_page", actor=Actor.customer())
    assert not Card.objects.filter(customer=customer).exists()
    Program.objects.filter(pk=get_program().pk).update(enabled=True)
    page = counter_client.get(url("counter_customer", customer.pk)).content.decode()
    assert "already agreed" in page and 'name="agreed"' not in page
    response = counter_client.post(url("counter_join", customer.pk))
    card = Card.objects.get(customer=customer)
    assert response["Location"] == url("counter_card", card.pk)
    assert ConsentEvent.objects.filter(customer=customer).count() == 1  # nothing re-recorded


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_confirms_credit_once(
    org: Any, counter: Any, client_for: Any, owner: Any
) -> None:
    """A double tap that reaches the server twice at once, on two real connections (the race
    helpers of test_concurrency: a file copy of the database on SQLite): one purchase."""
    from cueillette.loyalty.tests.test_concurrency import in_thread, race_database, run_parallel

    with tenancy.tenant_context(org):
        customer = CustomerFactory(organization=org)
        card = services.join_program(customer, actor=Actor.staff(owner, "owner"))
    clients = [client_for(counter), client_for(counter)]  # sessions exist before the copy

    def tap(client: Any) -> Any:
        return lambda: (
            client.post(
                url("counter_purchase", card.pk), {"amount": "25", "receipt_id": "double-tap"}
            ).status_code
        )

    with race_database():
        results = run_parallel(org, [tap(c) for c in clients])
        assert results == [("ok", 302), ("ok", 302)], results

        def check() -> tuple[int, int, int]:
            fresh = Card.objects.get(pk=card.pk)
            ledger = sum(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
            return Purchase.objects.filter(receipt_id="double-tap").count(), fresh.balance, ledger

        assert in_thread(org, check) == (1, 25, 25)
