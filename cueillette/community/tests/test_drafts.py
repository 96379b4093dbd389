"""First posts by visitors the page does not know: a draft, an email, a button that publishes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from cueillette.community import drafts
from cueillette.community.models import Post, PostDraft, ThreadSubscription
from cueillette.core import tenancy
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer, Purpose
from cueillette.public.tests.conftest import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def post_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "complaint",
        "rating": "",
        "text": "Le colis est arrivé abîmé.",
        "display_name": "Camille",
        "email": "Camille.Roux@Example.NET",
        "website": "",
    }
    data.update(overrides)
    return data


def write(client: Client, org: Organization, capture: Any, outbox: list[Any], **kw: Any) -> str:
    """Post as a visitor; return the confirmation link's path from the email."""
    with capture(execute=True):
        response = client.post(f"/o/{org.slug}/community/new/", post_form(**kw), follow=True)
    assert response.status_code == 200, response.content[:2000]
    assert b'data-state="draft-sent"' in response.content
    return link_in(outbox[-1].body, "community/confirm")


def test_visitor_posts_confirms_by_email_and_their_space_opens(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    path = write(client, org, django_capture_on_commit_callbacks, mailoutbox)
    [mail] = mailoutbox
    assert mail.to == ["camille.roux@example.net"]
    assert "Le colis est arrivé abîmé." in mail.body
    with tenancy.tenant_context(org):
        draft = PostDraft.objects.get()
        assert draft.token_hash not in path  # only the hash is stored
        assert Post.objects.count() == 0
    # GET shows a button and publishes nothing (mail scanners open links).
    assert client.get(path).status_code == 200
    assert Post.objects.unscoped().count() == 0
    response = client.post(path)
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        post = Post.objects.get()
        customer = Customer.objects.get(email="camille.roux@example.net")
        assert post.author_id == customer.pk and post.display_name == "Camille"
        assert response["Location"] == f"/o/{org.slug}/community/{post.pk}/"
        assert customer_services.consent_state(customer) == dict.fromkeys(Purpose.values)
        assert PostDraft.objects.get().used_at is not None
    # The space is open: the author can edit at once.
    assert client.get(f"/o/{org.slug}/community/{post.pk}/edit/").status_code == 200
    assert client.get(f"/o/{org.slug}/space/").status_code == 200


def test_the_link_works_once(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    path = write(client, org, django_capture_on_commit_callbacks, mailoutbox)
    assert client.post(path).status_code == 302
    again = Client().post(path)
    assert again.status_code == 410
    assert b'data-problem="token_used"' in again.content
    assert Post.objects.unscoped().count() == 1


def test_an_expired_link_says_so_and_publishes_nothing(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    path = write(client, org, django_capture_on_commit_callbacks, mailoutbox)
    PostDraft.objects.unscoped().update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 410
        assert b'data-problem="token_expired"' in response.content
    assert Post.objects.unscoped().count() == 0
    assert client.post(f"/o/{org.slug}/community/confirm/nonsense/").status_code == 400


def test_a_known_customer_is_found_by_normalised_email(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    known = CustomerFactory(organization=org, email="camille.roux@example.net")
    path = write(client, org, django_capture_on_commit_callbacks, mailoutbox)
    client.post(path)
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 1
        assert Post.objects.get().author_id == known.pk


def test_a_customer_of_another_organization_is_not_reused(
    client: Client,
    org: Organization,
    other_org: Organization,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks,
) -> None:
    stranger = CustomerFactory(organization=other_org, email="camille.roux@example.net")
    path = write(client, org, django_capture_on_commit_callbacks, mailoutbox)
    client.post(path)
    with tenancy.tenant_context(org):
        assert Post.objects.get().author_id != stranger.pk


def test_follow_with_consent_records_the_wording_and_subscribes(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    path = write(
        client, org, django_capture_on_commit_callbacks, mailoutbox, follow="on", consent="on"
    )
    client.post(path)
    with tenancy.tenant_context(org):
        customer = Customer.objects.get()
        event = ConsentEvent.objects.get(customer=customer)
        assert event.purpose == Purpose.COMMUNITY and event.granted
        assert event.wording == customer_services.current_wording(Purpose.COMMUNITY, "fr")
        assert ThreadSubscription.objects.get().customer_id == customer.pk


def test_follow_without_consent_is_refused_before_any_draft(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/{org.slug}/community/new/", post_form(follow="on"))
    assert response.status_code == 400
    assert "consent" in response.context["form"].errors
    assert PostDraft.objects.unscoped().count() == 0 and mailoutbox == []


def test_start_draft_checks_every_field_with_the_services_rules(tenant: Organization) -> None:
    with pytest.raises(ServiceError) as info:
        drafts.start_draft("nope", "", "rant", "  ", 9)
    fields = {e["field"] for e in info.value.errors}
    assert fields == {"email", "display_name", "kind", "text", "rating"}
    assert PostDraft.objects.count() == 0


def test_purge_deletes_expired_drafts_only(tenant: Organization) -> None:
    now = timezone.now()
    old = drafts.start_draft("a@example.net", "A", "question", "Ouvert dimanche ?", now=now)
    fresh = drafts.start_draft(
        "b@example.net", "B", "question", "Et lundi ?", now=now + dt.timedelta(hours=47)
    )
    assert drafts.purge_expired(now=now + dt.timedelta(hours=49)) == 1
    assert list(PostDraft.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert old.pk != fresh.pk


def test_the_daily_pass_purges_drafts(org: Organization) -> None:
    with tenancy.tenant_context(org):
        drafts.start_draft(
            "a@example.net", "A", "question", "Q ?", now=timezone.now() - dt.timedelta(days=3)
        )
    out = StringIO()
    call_command("run_scheduler", "--once", "--inline", stdout=out)
    assert "drafts_purged" in out.getvalue()
    assert PostDraft.objects.unscoped().filter(organization=org).count() == 0


def test_confirmation_email_through_a_real_smtp_server(
    client: Client, org: Organization, smtp_server: Any, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/{org.slug}/community/new/", post_form())
    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert "camille.roux@example.net" in message["X-Envelope-To"]
    path = link_in(smtp_server.body(message), "community/confirm")
    assert "Le colis est arrivé abîmé." in smtp_server.body(message, "html")
    assert client.post(path).status_code == 302
    assert Post.objects.unscoped().filter(organization=org).count() == 1
