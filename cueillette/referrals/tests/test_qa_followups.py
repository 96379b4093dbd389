"""Follow-ups of the referrals QA report: undo at the counter, privacy of the member's page,
rejecting any pending referral, wording of promises and notes, rules page, burst rule,
friend-facing self-referral refusal, counter messages, review errors, "heard from"."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, EntryKind, PointsEntry
from cueillette.referrals import rewards, services
from cueillette.referrals.models import (
    Flag,
    Reason,
    Referral,
    ReferralProgram,
    ReferralStatus,
    RewardNote,
)
from cueillette.referrals.tests.conftest import member

pytestmark = pytest.mark.django_db

Member = tuple[Customer, Card]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def balance(card: Card) -> int:
    card.refresh_from_db()
    return int(card.balance)


def ledger(card: Card, kinds: tuple[str, ...] = (EntryKind.REFERRAL, EntryKind.CORRECTION)) -> Any:
    return list(
        PointsEntry.objects.filter(card=card, kind__in=kinds)
        .order_by("id")
        .values_list("kind", "points")
    )


def en(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


# --------------------------------------------------------------------------- 1. undo


def test_undo_of_the_confirming_sale_puts_the_referral_back_to_pending(
    tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    a, a_card = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="counter", actor=staff)
    loyalty.record_purchase(b_card, amount="15", actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.CONFIRMED
    loyalty.undo_last(b_card, actor=staff)  # a typo fixed at the counter
    r.refresh_from_db()
    assert r.status == ReferralStatus.PENDING and r.reason_code == Reason.AWAITING_PURCHASE
    assert r.confirming_purchase_id is None and r.rewarded_at is None
    assert r.referrer_entry_id is None and r.friend_entry_id is None
    assert r.decided_at is None and not r.under_review
    assert balance(a_card) == 0 and balance(b_card) == 0
    assert AuditEvent.objects.filter(action="referrals.undone").count() == 1
    # The same sale recorded again confirms the referral and rewards both sides again.
    p = loyalty.record_purchase(b_card, amount="15", actor=staff)
    r.refresh_from_db()
    assert r.status == ReferralStatus.CONFIRMED and r.confirming_purchase_id == p.pk
    assert r.reason_code == Reason.FIRST_PURCHASE
    assert balance(a_card) == 100 and balance(b_card) == 15 + 50
    # Grant, take-back, grant: one live reward per side.
    referral, correction = EntryKind.REFERRAL, EntryKind.CORRECTION
    assert ledger(a_card) == [(referral, 100), (correction, -100), (referral, 100)]
    assert [x for x in ledger(b_card) if x[0] == referral or abs(x[1]) == 50] == [
        (referral, 50),
        (correction, -50),
        (referral, 50),
    ]
    first = PointsEntry.objects.filter(card=a_card, kind=referral).order_by("id").first()
    assert first is not None and first.corrections.get().points == -100
    assert r.referrer_entry_id != first.pk


def test_a_till_refund_whose_reason_reads_undo_is_a_real_refund(
    tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    from cueillette.loyalty.models import Source

    a, _a_card = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="counter", actor=staff)
    p = loyalty.record_purchase(b_card, amount="15", actor=staff)
    loyalty.refund_purchase(p, amount=None, actor=staff, reason="undo", source=Source.API)
    r.refresh_from_db()
    assert r.status == ReferralStatus.REJECTED and r.reason_code == Reason.REFUNDED


def test_undo_then_rebuy_is_not_blocked_by_the_monthly_cap(
    tenant: Any, staff: Actor, alice: Member, bob: Member, program: ReferralProgram
) -> None:
    program.monthly_cap = 1
    program.save()
    a, a_card = alice
    b, b_card = bob
    services.record_referral(a, b, source="counter", actor=staff)
    loyalty.record_purchase(b_card, amount="15", actor=staff)
    loyalty.undo_last(b_card, actor=staff)
    loyalty.record_purchase(b_card, amount="15", actor=staff)
    r = Referral.objects.get()
    assert r.referrer_entry_id is not None and r.reward_notes == []
    assert balance(a_card) == 100


def test_undo_after_points_were_spent_records_the_shortfall(
    tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    from cueillette.loyalty.models import Reward

    a, a_card = alice
    b, b_card = bob
    services.record_referral(a, b, source="counter", actor=staff)
    loyalty.record_purchase(b_card, amount="15", actor=staff)
    loyalty.redeem(a_card, Reward.objects.create(name="Tisane", cost=80), actor=staff)
    loyalty.undo_last(b_card, actor=staff)
    r = Referral.objects.get()
    assert r.status == ReferralStatus.PENDING and r.reversal_shortfall == 80
    assert balance(a_card) == 0


def test_a_real_refund_still_rejects(tenant: Any, staff: Actor, alice: Member, bob: Member) -> None:
    a, _a_card = alice
    b, b_card = bob
    services.record_referral(a, b, source="counter", actor=staff)
    p = loyalty.record_purchase(b_card, amount="15", actor=staff)
    loyalty.refund_purchase(p, amount=None, actor=staff, reason="customer changed their mind")
    r = Referral.objects.get()
    assert r.status == ReferralStatus.REJECTED and r.reason_code == Reason.REFUNDED
    # The reason is said once, by its code (no text stored in one language).
    assert r.reason_text == ""
    with translation.override("en"):
        assert r.reason_line() == "First purchase refunded"


def test_undo_through_the_counter_pages(org: Organization, counter: Any, client_for: Any) -> None:
    client = client_for(counter)
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        program = services.get_program()
        program.min_amount = Decimal(10)
        program.save()
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
        loyalty.join_program(a, actor=system)
        b_card = loyalty.join_program(b, actor=system)
        services.record_referral(a, b, source="counter", actor=system)
    buy = reverse("loyalty:counter_purchase", args=[b_card.pk])
    client.post(buy, {"amount": "15", "receipt_id": "counter-qa-1"})
    client.post(reverse("loyalty:counter_undo", args=[b_card.pk]))
    with tenancy.tenant_context(org):
        assert Referral.objects.get().status == ReferralStatus.PENDING
    client.post(buy, {"amount": "15", "receipt_id": "counter-qa-2"})
    with tenancy.tenant_context(org):
        assert Referral.objects.get().status == ReferralStatus.CONFIRMED


# --------------------------------------------------------------------------- 3. reject


def test_a_manager_can_reject_any_pending_referral_but_not_a_confirmed_one(
    org: Any, tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    a, _ = alice
    b, b_card = bob
    r = services.record_referral(a, b, source="counter", actor=staff)
    assert not r.under_review
    with pytest.raises(ServiceError) as err:
        services.reject(r, reason="  ", actor=staff)
    assert err.value.code == "reason_required" and err.value.field == "reason"
    r = services.reject(r, reason="wrong Alice picked at the counter", actor=staff)
    assert r.status == ReferralStatus.REJECTED and r.reason_code == Reason.REVIEW_REJECTED
    with pytest.raises(ServiceError) as err:
        services.reject(r, reason="again", actor=staff)
    assert err.value.code == "referral_not_pending"
    # The right referrer can now be recorded, and a purchase rewards them.
    c, c_card = member(org, staff)
    right = services.record_referral(c, b, source="counter", actor=staff)
    loyalty.record_purchase(b_card, amount="20", actor=staff)
    right.refresh_from_db()
    assert right.status == ReferralStatus.CONFIRMED and balance(c_card) == 100
    with pytest.raises(ServiceError) as err, translation.override("en"):
        services.reject(right, reason="changed my mind", actor=staff)
    assert err.value.code == "referral_already_confirmed" and err.value.status == 409
    assert "points already given" in err.value.message


def test_reject_from_the_list_page(
    org: Organization, manager_client: Client, counter_client: Client
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
        r = services.record_referral(a, b, source="counter", actor=system)
    page = manager_client.get(reverse("referrals:list"), {"status": "pending"})
    html = page.content.decode()
    assert f'<input type="text" id="reason-{r.pk}"' in html
    assert 'name="decision" value="reject"' in html
    url = reverse("referrals:decide", args=[r.pk])
    assert counter_client.post(url, {"decision": "reject", "reason": "x"}).status_code == 403
    done = manager_client.post(
        url,
        {
            "decision": "reject",
            "reason": "wrong person",
            "next": "list",
            "filters": "status=pending",
        },
    )
    assert done.status_code == 302 and done["Location"].endswith("/?status=pending")
    with tenancy.tenant_context(org):
        got = Referral.objects.get(pk=r.pk)
    assert got.status == ReferralStatus.REJECTED and got.reason_text == "wrong person"


def test_reject_through_the_api(org: Organization) -> None:
    import json

    from cueillette.apikeys.services import create_api_key

    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        a = CustomerFactory(organization=org)
        b = CustomerFactory(organization=org)
        r = services.record_referral(a, b, source="counter", actor=system)
        raw = create_api_key("Till", "write", actor=system)[1]
    client = Client()

    def post(body: dict[str, Any], key: str) -> Any:
        return client.post(
            f"/api/v1/referrals/{r.pk}/reject",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": key},
        )

    assert post({}, "k1").status_code == 400
    ok = post({"reason": "wrong referrer"}, "k2")
    assert ok.status_code == 200 and ok.json()["status"] == "rejected"


# --------------------------------------------------------------------------- 2, 4, 5: the member


def open_space(client: Client, org: Organization, customer: Customer) -> Client:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    client.cookies["cueillette_lang"] = "en"
    return client


@pytest.fixture
def claire(org: Organization) -> Customer:
    with tenancy.tenant_context(org):
        loyalty.get_program()
        program = services.get_program()
        program.referrer_points = 100
        program.friend_points = 25
        program.min_amount = Decimal(10)
        program.save()
        customer = CustomerFactory(
            organization=org, first_name="Claire", last_name="Martin", phone="+33611111111"
        )
        loyalty.join_program(customer, actor=Actor.system("t"))
    return customer


def test_member_page_shows_counts_only(client: Client, org: Organization, claire: Customer) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        paul = CustomerFactory(organization=org, first_name="Paul", last_name="Qacomptoir")
        paul_card = loyalty.join_program(paul, actor=system)
        sophie = CustomerFactory(organization=org, first_name="Sophie", last_name="Qatest")
        services.record_referral(claire, paul, source="counter", actor=system)
        services.record_referral(claire, sophie, source="link", actor=system)
        p = loyalty.record_purchase(paul_card, amount="15", actor=system)
        loyalty.refund_purchase(p, amount=None, actor=system)  # Paul's referral: rejected
    html = open_space(client, org, claire).get(f"/o/{org.slug}/space/refer/").content.decode()
    for secret in ("Paul", "Sophie", "Q.", "refunded", "review", "Rejected"):
        assert secret not in html, secret
    assert 'data-referral-count="confirmed" data-count="0"' in html
    assert 'data-referral-count="pending" data-count="1"' in html
    assert 'data-referral-points="0"' in html  # the reversed reward is not counted
    assert "you see only these numbers" in html


def test_share_page_speaks_of_the_friend_in_the_third_person(
    client: Client, org: Organization, claire: Customer
) -> None:
    html = open_space(client, org, claire).get(f"/o/{org.slug}/space/refer/").content.decode()
    friend_line = re.search(r'data-gift="friend">(.*?)</li>', html, re.S)
    assert friend_line is not None
    assert "after their first purchase of at least €10.00" in friend_line.group(1)
    assert "your first purchase" not in friend_line.group(1)
    # The ready-to-share message states the condition of the welcome points.
    assert "25 welcome points after your first purchase of at least €10.00." in html


def test_share_message_in_french_states_the_condition(org: Organization, claire: Customer) -> None:
    from cueillette.referrals.views_public import share_message

    with tenancy.tenant_context(org):
        program = services.get_program()
        code = services.code_for(claire)
        text = share_message(org, program, code, "https://x.test/r/t/", "en")["text"]
    assert "You will get 25 welcome points after your first purchase of at least €10.00." in text


def test_space_card_states_the_condition(
    client: Client, org: Organization, claire: Customer
) -> None:
    html = open_space(client, org, claire).get(f"/o/{org.slug}/space/").content.decode()
    block = re.search(r'id="refer".*?</section>', html, re.S)
    assert block is not None
    assert "100 points for you for each friend who joins" in block.group(0)
    assert "after their first purchase of at least €10.00" in block.group(0)


# --------------------------------------------------------------------------- 6. notes as codes


def test_reward_notes_are_codes_worded_in_the_readers_language(
    org: Any, tenant: Any, staff: Actor, alice: Member, program: ReferralProgram
) -> None:
    a, _ = alice
    program.monthly_cap = 1
    program.save()
    notes = []
    for _i in range(2):
        friend, f_card = member(org, staff)
        r = services.record_referral(a, friend, source="code", actor=staff)
        loyalty.record_purchase(f_card, amount="15", actor=staff)
        r.refresh_from_db()
        notes.append(r)
    capped = notes[1]
    assert capped.reward_notes == [{"code": RewardNote.REFERRER_CAP, "cap": 1}]
    assert capped.reward_note == ""
    with translation.override("en"):
        assert capped.reward_note_text() == (
            "referrer not rewarded: monthly cap of 1 rewarded referral reached"
        )
    friend = CustomerFactory(organization=org)
    r = services.record_referral(a, friend, source="counter", actor=staff)
    r = rewards.confirm_manually(r, reason="paid cash", actor=staff)
    assert {n["code"] for n in r.reward_notes} == {
        RewardNote.FRIEND_NO_CARD,
        RewardNote.REFERRER_CAP,
    }


def test_old_rows_keep_their_stored_note(
    tenant: Any, staff: Actor, alice: Member, bob: Member
) -> None:
    r = services.record_referral(alice[0], bob[0], source="code", actor=staff)
    Referral.objects.filter(pk=r.pk).update(
        reward_note="pas de récompense pour le parrain", reason_text="old text"
    )
    r.refresh_from_db()
    assert r.reward_note_text() == "pas de récompense pour le parrain"
    with translation.override("en"):
        assert r.reason_line() == "Waiting for the friend's first purchase — old text"
        Referral.objects.filter(pk=r.pk).update(
            reason_code=Reason.REFUNDED, reason_text="le premier achat a été remboursé"
        )
        r.refresh_from_db()
        assert r.reason_line() == "First purchase refunded"


# --------------------------------------------------------------------------- 8. rules page


SETTINGS = {
    "enabled": "on",
    "referrer_points": "50",
    "friend_points": "25",
    "min_amount": "12,50",
    "monthly_cap": "",
    "burst_count": "5",
    "burst_hours": "24",
    "review_days": "7",
    "default_action": "reject",
}


@pytest.mark.parametrize("typed", ["12,50", "12.50", " 12,5 "])
def test_rules_page_accepts_a_french_decimal(
    org: Organization, owner_client: Client, typed: str
) -> None:
    url = reverse("referrals:settings")
    assert owner_client.post(url, {**SETTINGS, "min_amount": typed}).status_code == 302
    with tenancy.tenant_context(org):
        assert services.get_program().min_amount == Decimal("12.50")


def test_rules_page_shows_the_amount_the_french_way_with_its_currency(
    org: Organization, owner_client: Client
) -> None:
    url = reverse("referrals:settings")
    owner_client.post(url, SETTINGS)
    owner_client.cookies["django_language"] = "fr"
    html = owner_client.get(url).content.decode()
    assert 'value="12,50"' in html
    words = re.search(r'id="rules-in-words">(.*?)</p>', html, re.S)
    assert words is not None and "12,50\xa0€" in words.group(1)
    html = en(owner_client).get(url).content.decode()
    words = re.search(r'id="rules-in-words">(.*?)</p>', html, re.S)
    assert words is not None and "€12.50" in words.group(1)


# --------------------------------------------------------------------------- 9. burst


def test_burst_flags_more_than_n(
    org: Any, tenant: Any, staff: Actor, alice: Member, program: ReferralProgram
) -> None:
    program.burst_count = 5
    program.save()
    made = [
        services.record_referral(alice[0], member(org, staff)[0], source="link", actor=staff)
        for _i in range(6)
    ]
    assert [Flag.BURST in r.flags for r in made] == [False] * 5 + [True]


# --------------------------------------------------------------------------- 12. self-referral


def test_self_referral_on_the_landing_page_reveals_nothing(
    client: Client, org: Organization, claire: Customer
) -> None:
    with tenancy.tenant_context(org):
        token = services.code_for(claire).token
    client.cookies["cueillette_lang"] = "en"
    data = {
        "first_name": "Camille",
        "last_name": "Durand",
        "postal_code": "",
        "website": "",
    }
    by_phone = client.post(
        f"/o/{org.slug}/r/{token}/",
        {**data, "email": "camille@example.net", "phone": "06 11 11 11 11"},
    ).content.decode()
    by_email = client.post(
        f"/o/{org.slug}/r/{token}/", {**data, "email": claire.email, "phone": "0622222222"}
    ).content.decode()
    message = "This invitation cannot be used with these details"
    for html in (by_phone, by_email):
        assert message in html
        assert "refer themselves" not in html and "referrer's" not in html
        # Next to both fields the visitor filled in, whichever matched.
        assert re.search(r'id="id_email_error">[^<]*' + message, html)
        assert re.search(r'id="id_phone_error">[^<]*' + message, html)
    with tenancy.tenant_context(org):
        assert Referral.objects.count() == 0


def test_self_referral_at_the_counter_keeps_the_precise_reason(
    tenant: Any, staff: Actor, alice: Member
) -> None:
    twin = CustomerFactory(organization=tenant, phone=alice[0].phone)
    with pytest.raises(ServiceError) as err, translation.override("en"):
        services.record_referral(alice[0], twin, source="counter", actor=staff)
    assert "referrer's phone" in err.value.message


# --------------------------------------------------------------------------- 13. the counter


def test_counter_says_the_referral_was_confirmed_and_the_balance_adds_up(
    org: Organization, counter: Any, client_for: Any
) -> None:
    client = en(client_for(counter))
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty_program = loyalty.get_program()
        loyalty_program.welcome_bonus = 0
        loyalty_program.points_per_euro = 2
        loyalty_program.save()
        program = services.get_program()
        program.referrer_points = 50
        program.friend_points = 25
        program.min_amount = Decimal(10)
        program.save()
        maurice = CustomerFactory(organization=org, first_name="Maurice", last_name="Adam")
        sophie = CustomerFactory(organization=org, first_name="Sophie", last_name="Qatest")
        loyalty.join_program(maurice, actor=system)
        card = loyalty.join_program(sophie, actor=system)
        services.record_referral(maurice, sophie, source="link", actor=system)
    screen = client.get(reverse("loyalty:counter_card", args=[card.pk])).content.decode()
    assert "data-counter-note" in screen
    assert "Referred by Maurice Adam: a first purchase of at least" in screen
    assert "25 welcome points" in screen
    done = client.post(
        reverse("loyalty:counter_purchase", args=[card.pk]),
        {"amount": "12", "receipt_id": "counter-qa-13"},
        follow=True,
    )
    html = done.content.decode()
    assert (
        "+24 points for 12.00\xa0€. Referral confirmed: +25 welcome points for Sophie Qatest, "
        "+50 points for Maurice Adam. Balance: 49 points."
    ) in html.replace("&#x27;", "'")
    assert "data-counter-note" not in html


# --------------------------------------------------------------------------- 14. review errors


def test_review_error_is_said_next_to_that_referral(
    org: Organization, owner_client: Client
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        a = CustomerFactory(organization=org)
        flagged = []
        for _i in range(2):
            b = CustomerFactory(organization=org)
            card = loyalty.join_program(b, actor=system)
            loyalty.record_purchase(card, amount="3", actor=system)  # already a customer
            flagged.append(services.record_referral(a, b, source="counter", actor=system))
    first, second = flagged
    page = owner_client.get(reverse("referrals:review")).content.decode()
    assert f'<input type="text" id="reason-{first.pk}"' in page
    r = owner_client.post(
        reverse("referrals:decide", args=[second.pk]), {"decision": "reject", "reason": ""}
    )
    assert r.status_code == 400
    html = r.content.decode()
    field = re.search(rf'<input type="text" id="reason-{second.pk}"[^>]*>', html)
    assert field is not None and 'aria-invalid="true"' in field.group(0)
    assert f'aria-describedby="reason-{second.pk}-error' in field.group(0)
    other = re.search(rf'<input type="text" id="reason-{first.pk}"[^>]*>', html)
    assert other is not None and "aria-invalid" not in other.group(0)
    assert html.count('class="field-error"') == 1


def test_what_was_typed_is_kept_on_error(
    org: Organization, owner_client: Client, monkeypatch: Any
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        r = services.record_referral(
            CustomerFactory(organization=org),
            CustomerFactory(organization=org),
            source="counter",
            actor=system,
        )

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ServiceError("reason_required", "say more", field="reason")

    monkeypatch.setattr(services, "reject", refuse)
    resp = owner_client.post(
        reverse("referrals:decide", args=[r.pk]),
        {"decision": "reject", "reason": "wrong <b>Maurice</b>", "next": "list"},
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'value="wrong &lt;b&gt;Maurice&lt;/b&gt;"' in html
    assert f'id="reason-{r.pk}-error">say more' in html


# --------------------------------------------------------------------------- 16. heard from


@pytest.mark.parametrize(("chosen", "expected"), [("", "friend"), ("walk_by", "walk_by")])
def test_who_sent_you_fills_heard_from_when_left_empty(
    org: Organization, counter_client: Client, claire: Customer, chosen: str, expected: str
) -> None:
    data = {
        "first_name": "Hugo",
        "last_name": "Lefèvre",
        "email": "hugo@example.net",
        "phone": "06 55 44 33 22",
        "postal_code": "",
        "language": "fr",
        "birthday": "",
        "tags": "",
        "heard_from": chosen,
        "heard_from_detail": "",
        "notes": "",
        "wording_language": "en",
        "referrer_q": "06 11 11 11 11",
    }
    assert counter_client.post("/app/customers/new/", data).status_code == 302
    with tenancy.tenant_context(org):
        hugo = Customer.objects.get(email="hugo@example.net")
        assert hugo.heard_from == expected
        assert Referral.objects.get(friend=hugo).referrer_id == claire.pk


# --------------------------------------------------------------------------- 19. manual confirm


def test_manual_confirm_says_who_will_be_and_was_rewarded(
    org: Organization, owner_client: Client
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        maurice = CustomerFactory(organization=org, first_name="Maurice", last_name="Adam")
        loyalty.join_program(maurice, actor=system)
        rita = CustomerFactory(organization=org, first_name="Rita", last_name="Qanojs")
        nobody = CustomerFactory(organization=org)
        lone = CustomerFactory(organization=org)
        only_referrer = services.record_referral(maurice, rita, source="counter", actor=system)
        none = services.record_referral(nobody, lone, source="counter", actor=system)
    client = en(owner_client)
    html = client.get(reverse("referrals:list")).content.decode()
    assert "Only the referrer will receive points: the friend has no open loyalty card." in html
    assert (
        "Nobody will receive points: the referrer has no open loyalty card; "
        "the friend has no open loyalty card." in html
    )
    assert f'aria-describedby="hint-{only_referrer.pk}"' in html
    done = client.post(
        reverse("referrals:decide", args=[only_referrer.pk]),
        {"decision": "confirm", "reason": "paid cash", "next": "list"},
        follow=True,
    ).content.decode()
    assert "The referral was confirmed: +100 points for Maurice Adam" in done
    assert "friend not rewarded: no open loyalty card" in done
    done = client.post(
        reverse("referrals:decide", args=[none.pk]),
        {"decision": "confirm", "reason": "paid cash", "next": "list"},
        follow=True,
    ).content.decode()
    assert "The referral was confirmed: nobody received points" in done


def test_every_promise_of_points_on_the_landing_page_states_its_condition(
    org: Any, program: ReferralProgram
) -> None:
    from cueillette.referrals.views_public import gifts

    with translation.override("en"):
        words = gifts(program, org, "Claire")
    assert words["friend"].endswith("after your first purchase of at least €10.00.")
    assert words["referrer"] == (
        "100 points for Claire, to thank them, after your first purchase of at least €10.00."
    )


def test_the_confirm_hint_knows_the_monthly_cap(org: Organization, owner_client: Client) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        program = services.get_program()
        program.monthly_cap = 1
        program.save()
        maurice = CustomerFactory(organization=org, first_name="Maurice", last_name="Adam")
        loyalty.join_program(maurice, actor=system)
        first = CustomerFactory(organization=org)
        first_card = loyalty.join_program(first, actor=system)
        services.record_referral(maurice, first, source="counter", actor=system)
        loyalty.record_purchase(first_card, amount="50", actor=system)  # rewarded: cap reached
        second = CustomerFactory(organization=org)
        loyalty.join_program(second, actor=system)
        services.record_referral(maurice, second, source="counter", actor=system)
    html = en(owner_client).get(reverse("referrals:list")).content.decode()
    assert "Only the friend will receive points: the referrer has reached the monthly cap." in html


def test_the_undo_flash_names_the_referral_points_taken_back(
    org: Organization, counter_client: Client
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        loyalty.get_program()
        program = services.get_program()
        program.referrer_points, program.friend_points, program.min_amount = 100, 50, 10
        program.save()
        claire = CustomerFactory(organization=org, first_name="Claire")
        loyalty.join_program(claire, actor=system)
        lea = CustomerFactory(organization=org, first_name="Léa")
        card = loyalty.join_program(lea, actor=system)
        services.record_referral(claire, lea, source="counter", actor=system)
    client = en(counter_client)
    client.post(
        reverse("loyalty:counter_purchase", args=[card.pk]), {"amount": "15", "receipt_id": "U1"}
    )
    with tenancy.tenant_context(org):
        card.refresh_from_db()
        assert card.balance == 15 + 50
    page = client.post(reverse("loyalty:counter_undo", args=[card.pk]), follow=True)
    text = page.content.decode()
    assert "Points linked to it taken back too: 50." in text
    assert "Balance: 0 points." in text


# --------------------------------------------------------------------------- naming a referrer


def test_a_manager_names_the_right_referrer_after_rejecting_the_wrong_one(
    org: Organization, owner_client: Client, counter_client: Client
) -> None:
    system = Actor.system("t")
    with tenancy.tenant_context(org):
        wrong = CustomerFactory(organization=org, first_name="Maurice", last_name="Faux")
        right = CustomerFactory(
            organization=org, first_name="Maurice", last_name="Vrai", phone="+33612345678"
        )
        friend = CustomerFactory(organization=org, first_name="Paul")
        mistake = services.record_referral(wrong, friend, source="counter", actor=system)
    client = en(owner_client)
    page = client.get(reverse("customers:detail", args=[friend.pk])).content.decode()
    assert "data-set-referrer" not in page  # already referred (wrongly)
    url = reverse("referrals:set_referrer", args=[friend.pk])
    assert "data-already-referred" in client.get(url).content.decode()
    client.post(
        reverse("referrals:decide", args=[mistake.pk]),
        {"decision": "reject", "reason": "wrong Maurice", "next": "list"},
    )
    page = client.get(reverse("customers:detail", args=[friend.pk])).content.decode()
    assert "data-set-referrer" in page
    found = client.get(url, {"q": "Maurice"}).content.decode()
    assert f'value="{right.pk}"' in found and f'value="{wrong.pk}"' in found
    # Nothing chosen: the error names the list, nothing is written.
    refused = client.post(url, {"q": "Maurice"})
    assert refused.status_code == 400 and b"Choose who sent them in the list." in refused.content
    with tenancy.tenant_context(org):
        assert Referral.objects.filter(friend=friend).count() == 1
    done = client.post(url, {"q": "Maurice", "referrer": right.pk})
    assert done.status_code == 302 and done["Location"].endswith(f"/customers/{friend.pk}/")
    with tenancy.tenant_context(org):
        live = Referral.objects.exclude(status=ReferralStatus.REJECTED).get(friend=friend)
        assert live.referrer_id == right.pk and live.source == "counter"
    # Self-referral refused with its reason; counter staff may not use the page.
    with tenancy.tenant_context(org):
        lone = CustomerFactory(organization=org, first_name="Solo")
    self_ref = client.post(
        reverse("referrals:set_referrer", args=[lone.pk]), {"q": "Solo", "referrer": lone.pk}
    )
    assert self_ref.status_code == 400
    # Counter staff may ask "who sent you?" too (issue 10): see test_counter_referrer.py.
    assert counter_client.get(url).status_code == 200
