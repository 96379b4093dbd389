"""Counter staff record who sent an existing customer, with the same checks as managers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.core import tenancy
from cueillette.core.tests.factories import CustomerFactory
from cueillette.referrals.models import Flag, Referral, ReferralProgram, ReferralStatus

pytestmark = pytest.mark.django_db


def en(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_counter_staff_see_the_link_and_record_the_referrer(
    org: Any, counter_client: Client, program: ReferralProgram
) -> None:
    with tenancy.tenant_context(org):
        sender = CustomerFactory(organization=org, first_name="Gaspard", last_name="Oudin")
        friend = CustomerFactory(organization=org, first_name="Hortense", last_name="Prat")
    client = en(counter_client)
    detail = client.get(reverse("customers:detail", args=[friend.pk])).content.decode()
    assert "data-set-referrer" in detail
    url = reverse("referrals:set_referrer", args=[friend.pk])
    page = client.get(url, {"q": "Gaspard"})
    assert page.status_code == 200
    assert f'value="{sender.pk}"' in page.content.decode()
    done = client.post(url, {"q": "Gaspard", "referrer": sender.pk})
    assert done.status_code == 302
    with tenancy.tenant_context(org):
        referral = Referral.objects.get(friend=friend)
        assert referral.referrer_id == sender.pk
        assert referral.source == "counter"
        assert referral.status == ReferralStatus.PENDING


def test_counter_staff_meet_the_same_fraud_checks(
    org: Any, counter_client: Client, program: ReferralProgram
) -> None:
    with tenancy.tenant_context(org):
        lone = CustomerFactory(organization=org, first_name="Isidore", phone="+33611111111")
        twin = CustomerFactory(organization=org, first_name="Isidora", phone="+33611111111")
        taken = CustomerFactory(organization=org, first_name="Jacinthe")
        first = CustomerFactory(organization=org, first_name="Kilian")
        other = CustomerFactory(organization=org, first_name="Ludmila")
        Referral.objects.create(
            referrer=first,
            friend=taken,
            source="counter",
            status=ReferralStatus.PENDING,
            created_at=taken.created_at,
        )
    client = en(counter_client)
    # The same record, or the friend carrying the referrer's phone: refused, nothing written.
    for friend, referrer in ((lone, lone), (twin, lone)):
        refused = client.post(
            reverse("referrals:set_referrer", args=[friend.pk]),
            {"q": "Isid", "referrer": referrer.pk},
        )
        assert refused.status_code == 400
        assert b"cannot refer themselves" in refused.content
    # Already referred by someone else: the page says so and offers no form.
    page = client.get(reverse("referrals:set_referrer", args=[taken.pk]))
    assert b"data-already-referred" in page.content
    assert b"All referrals" not in page.content  # a page counter staff cannot open
    client.post(
        reverse("referrals:set_referrer", args=[taken.pk]), {"q": "Lud", "referrer": other.pk}
    )
    with tenancy.tenant_context(org):
        assert not Referral.objects.filter(friend__in=[lone, twin]).exists()
        assert list(Referral.objects.filter(friend=taken).values_list("referrer", flat=True)) == [
            first.pk
        ]


def test_a_doubtful_referral_from_the_counter_waits_for_review(
    org: Any, counter_client: Client, manager_client: Client, program: ReferralProgram
) -> None:
    # Same name and postal code: the review flag is raised whoever records it.
    with tenancy.tenant_context(org):
        sender = CustomerFactory(
            organization=org, first_name="Marius", last_name="Noel", postal_code="69001"
        )
        friend = CustomerFactory(
            organization=org, first_name="Marius", last_name="Noel", postal_code="69001"
        )
    done = en(counter_client).post(
        reverse("referrals:set_referrer", args=[friend.pk]), {"q": "Marius", "referrer": sender.pk}
    )
    assert done.status_code == 302
    with tenancy.tenant_context(org):
        referral = Referral.objects.get(friend=friend)
        assert referral.under_review and Flag.SELF in referral.flags
    # Reviewing stays with managers: counter staff cannot open the queue.
    assert counter_client.get(reverse("referrals:review")).status_code == 403
    assert str(friend.pk) in manager_client.get(reverse("referrals:review")).content.decode()
