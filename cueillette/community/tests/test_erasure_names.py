"""After the author erases their account, their name no longer appears anywhere, replies that
quote it included (issue #10, item 2): "Marie Dupont" and "Marie D." become "un client" in
every thread of the organization; "Marie" alone only in the threads she took part in, and not
where another Marie answers. Erasure through the customer space's page, read on the public
pages."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cueillette.accounts.models import User
from cueillette.community import services
from cueillette.community.models import Post, Reply
from cueillette.core import tenancy
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer

from .staff_helpers import make_post, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def page(org: Organization, post: Post) -> str:
    url = reverse("public:community_post", kwargs={"slug": org.slug, "pk": post.pk})
    response = Client().get(url, {"lang": "fr"})
    assert response.status_code == 200
    return response.content.decode().replace("&#x27;", "'")


def erase_from_the_space(org: Organization, customer: Customer) -> None:
    client = Client()
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()
    assert client.post(f"/o/{org.slug}/space/erase/").status_code == 200


@pytest.fixture
def marie(org: Organization) -> Customer:
    return CustomerFactory(
        organization=org, first_name="Marie", last_name="Dupont", email="marie.dupont@example.net"
    )


def test_the_erased_authors_name_leaves_every_reply_that_quotes_it(
    org: Organization, owner: User, marie: Customer
) -> None:
    bertrand = CustomerFactory(organization=org, first_name="Bertrand", last_name="Ollivier")
    other_marie = CustomerFactory(organization=org, first_name="Marie", last_name="Lefèvre")
    with tenancy.tenant_context(org):
        question = make_post(
            marie,
            kind="question",
            text="Quel thé pour l'hiver ? J'aime les thés fumés.",
            display_name="Marie D.",
        )
        services.customer_reply(
            question,
            bertrand,
            text="Merci Marie Dupont pour ton conseil, Mariette aussi aime le lapsang.",
            display_name="Bertrand",
        )
        services.reply(question, member(owner), text="Bonjour Marie, essayez notre lapsang.")
        services.customer_reply(
            question, marie, text="Merci à tous, signé MARIE D.", display_name="Marie D."
        )
        # Elsewhere, another customer quotes her in full, and another Marie is thanked.
        elsewhere = make_post(
            bertrand,
            kind="suggestion",
            text="Comme le disait marie dupont, un rayon de thés en vrac serait bien.",
            display_name="Bertrand",
        )
        services.customer_reply(
            elsewhere, other_marie, text="Oui, je suis d'accord.", display_name="Marie L."
        )
        services.reply(elsewhere, member(owner), text="Merci Marie, c'est noté.")
        # Accent- and case-insensitive: "Marie DUPONT", "Marie Dupónt" are the same name.
        third = make_post(
            bertrand,
            kind="review",
            rating=5,
            text="Accueil parfait, Marie DUPÓNT avait raison.",
            display_name="Bertrand",
        )

    erase_from_the_space(org, marie)

    with tenancy.tenant_context(org):
        replies = {r.text for r in Reply.objects.filter(post=question)}
    assert "Merci un client pour ton conseil, Mariette aussi aime le lapsang." in replies
    assert "Bonjour un client, essayez notre lapsang." in replies  # the business's reply
    thread = page(org, question)
    assert "Dupont" not in thread and not re.search(r"\bMarie\b", thread)
    assert "Merci un client pour ton conseil, Mariette aussi" in thread  # "Mariette" stays
    # Another thread: the full name goes, the other Marie keeps her first name.
    other = page(org, elsewhere)
    assert "Dupont" not in other and "dupont" not in other
    assert "Comme le disait un client, un rayon" in other
    assert "Merci Marie, c'est noté." in other
    assert "Marie L." in other
    assert "Dupont" not in page(org, third) and "DUPÓNT" not in page(org, third)
    assert "Accueil parfait, un client avait raison." in page(org, third)
    # Audited, without the name.
    with tenancy.tenant_context(org):
        redacted = AuditEvent.objects.filter(action="community.name_redacted")
        assert {e.object_id for e in redacted} == {
            str(question.pk),
            str(elsewhere.pk),
            str(third.pk),
        } or {int(e.object_id) for e in redacted} == {question.pk, elsewhere.pk, third.pk}
        assert "Marie" not in json.dumps([e.data for e in redacted])


def test_another_marie_in_the_thread_keeps_her_name(
    org: Organization, owner: User, marie: Customer
) -> None:
    other_marie = CustomerFactory(organization=org, first_name="Marie", last_name="Lefèvre")
    with tenancy.tenant_context(org):
        question = make_post(
            marie, kind="question", text="Vous livrez le samedi ?", display_name="Marie D."
        )
        services.customer_reply(
            question, other_marie, text="Moi aussi je voudrais savoir.", display_name="Marie"
        )
        services.reply(question, member(owner), text="Bonjour Marie, oui, le samedi matin.")
        services.reply(question, member(owner), text="Et merci Marie Dupont pour l'idée.")
    erase_from_the_space(org, marie)
    thread = page(org, question)
    # "Marie" alone may be the other Marie: kept; the full name is taken out.
    assert "Bonjour Marie, oui, le samedi matin." in thread
    assert "Et merci un client pour l'idée." in thread
    assert "Dupont" not in thread


def test_an_erasure_without_community_posts_touches_nothing(
    org: Organization, owner: User, marie: Customer
) -> None:
    bertrand = CustomerFactory(organization=org, first_name="Bertrand", last_name="Ollivier")
    with tenancy.tenant_context(org):
        post = make_post(
            bertrand, kind="suggestion", text="Merci Marie pour les conseils.", display_name="B."
        )
    erase_from_the_space(org, marie)
    # She took no part in this thread: "Marie" alone may be anyone, it stays.
    assert "Merci Marie pour les conseils." in page(org, post)
