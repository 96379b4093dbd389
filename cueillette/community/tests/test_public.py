"""The public community page: reading, posting (space or confirmed email), editing, me too,
following, one-click unsubscribe, hidden placeholders, appeal, honeypot, rate limit, feed,
schema.org microdata."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from cueillette.accounts.models import Membership, User
from cueillette.community import notify, queries, services
from cueillette.community.models import (
    Action,
    Appeal,
    MeToo,
    ModerationEvent,
    Post,
    PostDraft,
    PostVersion,
    ThreadSubscription,
)
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent, Customer, Purpose

pytestmark = pytest.mark.django_db

SECRET = "Texte caché : le voisin s'appelle Jean Dupont, 06 11 22 33 44"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Every request of the test client comes from 127.0.0.1: start each test with a clean slate.
    cache.clear()
    yield
    cache.clear()


def open_space(client: Client, org: Organization, customer: Customer) -> None:
    """What ``portal_open`` leaves in the session once the magic link's button is pressed."""
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()


def url(org: Organization, name: str = "", pk: int | None = None) -> str:
    base = f"/o/{org.slug}/community/"
    if pk is not None:
        return f"{base}{pk}/{name + '/' if name else ''}"
    return base + (name + "/" if name else "")


def counts() -> tuple[int, ...]:
    return (
        Post.objects.unscoped().count(),  # counting every organization's rows: nothing written
        PostVersion.objects.unscoped().count(),
        PostDraft.objects.unscoped().count(),
        MeToo.objects.unscoped().count(),
        ThreadSubscription.objects.unscoped().count(),
        Appeal.objects.unscoped().count(),
        ConsentEvent.objects.unscoped().count(),
        AuditEvent.objects.unscoped().count(),
    )


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "complaint",
        "rating": "",
        "text": "La commande est arrivée froide et en retard.",
        "display_name": "Marie L.",
        "email": "",
        "website": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def known(org: Organization) -> Customer:
    return CustomerFactory(
        organization=org, first_name="Inès", last_name="Moreau", email="ines@example.net"
    )


@pytest.fixture
def post(org: Organization, known: Customer) -> Post:
    with tenancy.tenant_context(org):
        return services.create_post(
            known, kind="review", text="Très bon accueil, café excellent.", display_name="Inès M.",
            rating=4,
        )  # fmt: skip


def membership(user: User) -> Membership:
    return Membership.objects.unscoped().get(user=user)  # the test's own staff member


# --------------------------------------------------------------------------- reading


def test_empty_wall_renders(client: Client, org: Organization) -> None:
    response = client.get(url(org), {"lang": "en"})
    assert response.status_code == 200
    assert b"Write a post" in response.content
    assert b'itemtype="https://schema.org/LocalBusiness"' in response.content


def test_wall_shows_summary_figures_and_microdata(
    client: Client, org: Organization, post: Post, owner: User
) -> None:
    with tenancy.tenant_context(org):
        services.reply(post, membership(owner), text="Merci beaucoup !")
        summary = queries.public_summary().text()
    response = client.get(url(org))
    html = response.content.decode()
    assert response.status_code == 200
    assert summary.split(":")[0] in html
    assert 'data-figure="answered">100\u202f%' in html
    assert 'itemprop="aggregateRating"' in html
    assert 'itemprop="ratingValue" content="4.0"' in html
    assert 'itemprop="reviewCount" content="1"' in html
    assert 'itemprop="review" itemscope itemtype="https://schema.org/Review"' in html
    assert 'itemprop="reviewBody"' in html
    assert "<script" not in html.split("</head>")[1]  # no inline script for the markup


def test_wall_filters_and_pages(client: Client, org: Organization, known: Customer) -> None:
    with tenancy.tenant_context(org):
        for i in range(25):
            services.create_post(
                known, kind="question" if i % 2 else "suggestion", text=f"Message {i}",
                display_name="Inès M.",
            )  # fmt: skip
    first = client.get(url(org)).content.decode()
    assert first.count('data-post="') == 20
    assert 'rel="next"' in first
    second = client.get(url(org), {"page": 2}).content.decode()
    assert second.count('data-post="') == 5
    questions = client.get(url(org), {"kind": "question"}).content.decode()
    assert questions.count('data-kind="question"') >= 12
    assert 'data-kind="suggestion"' not in questions.split('class="cm-wall"')[1]
    assert client.get(url(org), {"kind": "nope", "page": "x"}).status_code == 200


def test_wall_queries_do_not_grow_with_posts(
    client: Client, org: Organization, known: Customer, owner: User
) -> None:
    def wall_queries() -> int:
        cache.clear()  # the responsiveness figures are cached for a minute
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(org)).status_code == 200
        return len(ctx.captured_queries)

    with tenancy.tenant_context(org):
        p = services.create_post(known, kind="complaint", text="Un", display_name="I")
        services.reply(p, membership(owner), text="Réponse")
        services.hide_post(p, membership(owner), reason="spam_advertising", passage=p.text[:12])
    few = wall_queries()
    with tenancy.tenant_context(org):
        for i in range(15):
            p = services.create_post(known, kind="complaint", text=f"Texte {i}", display_name="I")
            services.reply(p, membership(owner), text="Réponse")
            services.add_me_too(p, CustomerFactory(organization=org))
            if i % 3 == 0:
                services.hide_post(
                    p, membership(owner), reason="spam_advertising", passage=p.text[:12]
                )
    assert wall_queries() == few


def test_thread_shows_reply_acknowledgement_status_and_note(
    client: Client, org: Organization, post: Post, owner: User
) -> None:
    with tenancy.tenant_context(org):
        services.reply(post, membership(owner), text="Nous sommes désolés.")
        services.acknowledge(post, membership(owner))
        services.set_status(post, membership(owner), status="resolved", note="Four réparé.")
    html = client.get(url(org, pk=post.pk), {"lang": "en"}).content.decode()
    assert "Nous sommes désolés." in html
    assert 'data-acknowledged="1"' in html
    assert "we got this wrong" in html
    assert 'data-status="resolved"' in html
    assert "Four réparé." in html
    assert 'data-action="reply"' in html and 'data-action="acknowledge"' in html


def test_thread_of_another_organization_is_404(
    client: Client, other_org: Organization, post: Post
) -> None:
    assert client.get(url(other_org, pk=post.pk)).status_code == 404


# --------------------------------------------------------------------------- posting


def test_identified_customer_posts_directly(
    client: Client, org: Organization, known: Customer
) -> None:
    open_space(client, org, known)
    page = client.get(url(org, "new")).content.decode()
    assert 'value="Inès M."' in page  # the suggested display name
    assert 'name="email"' not in page
    response = client.post(url(org, "new"), form(kind="review", rating="5", display_name="Inès"))
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        created = Post.objects.get()
    assert (created.author_id, created.rating, created.display_name) == (known.pk, 5, "Inès")
    assert response["Location"] == url(org, pk=created.pk)
    assert AuditEvent.objects.unscoped().filter(action="community.post_created").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"rating": "6"}, "rating"),
        ({"rating": "0"}, "rating"),
        ({"rating": "abc"}, "rating"),
        ({"kind": "rant"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "n" * 61}, "display_name"),
        ({"text": "bad \x00 char"}, "text"),
    ],
)
def test_bad_input_shows_the_field_and_writes_nothing(
    client: Client, org: Organization, known: Customer, overrides: dict[str, Any], field: str
) -> None:
    open_space(client, org, known)
    before = counts()
    response = client.post(url(org, "new"), form(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert response.context["form"].errors[field][0]
    assert counts() == before


def test_bad_input_for_a_visitor_writes_no_draft_and_sends_nothing(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(org, "new"), form(email="not-an-email", rating="9"))
    assert response.status_code == 400
    assert {"email", "rating"} <= set(response.context["form"].errors)
    assert counts() == before
    assert mailoutbox == []


def test_honeypot_answers_like_success_and_writes_nothing(
    client: Client, org: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks
) -> None:
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(org, "new"),
            form(email="bot@example.net", website="http://spam.example"),
            follow=True,
        )
    assert response.status_code == 200
    assert b'data-state="draft-sent"' in response.content
    assert counts() == before
    assert mailoutbox == []


def test_posting_is_rate_limited(
    client: Client, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cueillette.public.views.RATE_LIMIT", 3)
    statuses = [
        client.post(url(org, "new"), form(email=f"p{i}@example.net")).status_code for i in range(5)
    ]
    assert statuses[:3] == [302, 302, 302]  # redirected to the "check your email" page
    assert statuses[3:] == [429, 429]
    with tenancy.tenant_context(org):
        assert PostDraft.objects.count() == 3


# --------------------------------------------------------------------------- edits


def test_author_edits_and_every_version_stays_visible(
    client: Client, org: Organization, known: Customer, post: Post
) -> None:
    open_space(client, org, known)
    assert client.get(url(org, "edit", post.pk)).status_code == 200
    response = client.post(url(org, "edit", post.pk), {"text": "Deuxième version", "rating": "3"})
    assert response.status_code == 302
    client.post(url(org, "edit", post.pk), {"text": "Troisième version", "rating": "2"})
    html = client.get(url(org, pk=post.pk)).content.decode()
    assert "Troisième version" in html
    assert "Deuxième version" in html and "Très bon accueil, café excellent." in html
    assert 'data-versions="3"' in html
    with tenancy.tenant_context(org):
        assert list(post.versions.values_list("number", flat=True)) == [1, 2, 3]
        assert Post.objects.get(pk=post.pk).rating == 2


def test_only_the_author_edits(client: Client, org: Organization, post: Post) -> None:
    other = CustomerFactory(organization=org)
    open_space(client, org, other)
    assert client.get(url(org, "edit", post.pk)).status_code == 404
    assert client.post(url(org, "edit", post.pk), {"text": "pirate"}).status_code == 404
    anonymous = Client()
    response = anonymous.post(url(org, "edit", post.pk), {"text": "pirate"})
    assert response.status_code == 302 and "/space/link/" in response["Location"]
    with tenancy.tenant_context(org):
        assert post.versions.count() == 1


def test_bad_edit_writes_nothing(
    client: Client, org: Organization, known: Customer, post: Post
) -> None:
    open_space(client, org, known)
    before = counts()
    response = client.post(url(org, "edit", post.pk), {"text": "", "rating": "7"})
    assert response.status_code == 400
    assert {"text", "rating"} <= set(response.context["form"].errors)
    assert counts() == before


# --------------------------------------------------------------------------- me too, follow


def test_me_too_once_and_shows_the_count(client: Client, org: Organization, post: Post) -> None:
    other = CustomerFactory(organization=org)
    open_space(client, org, other)
    assert client.post(url(org, "me-too", post.pk)).status_code == 302
    assert client.post(url(org, "me-too", post.pk)).status_code == 302
    with tenancy.tenant_context(org):
        assert MeToo.objects.filter(post=post).count() == 1
    html = client.get(url(org, pk=post.pk)).content.decode()
    assert 'data-me-too="1"' in html
    assert 'data-action="me-too"' not in html
    assert 'data-me-too="1"' in client.get(url(org)).content.decode()


def test_the_author_is_not_offered_me_too_on_their_own_post(
    client: Client, org: Organization, post: Post, known: Customer
) -> None:
    open_space(client, org, known)
    html = client.get(url(org, pk=post.pk) + "?lang=en").content.decode()
    assert 'data-action="me-too"' not in html and "data-own-post" in html


def test_strangers_are_offered_the_space_with_the_way_back(
    client: Client, org: Organization, post: Post
) -> None:
    html = client.get(url(org, pk=post.pk)).content.decode()
    back = f"/o/{org.slug}/space/link/?next=%2Fo%2F{org.slug}%2Fcommunity%2F{post.pk}%2F"
    assert html.count(f'href="{back}"') == 2  # me too, follow


def test_me_too_needs_an_identified_customer(client: Client, org: Organization, post: Post) -> None:
    response = client.post(url(org, "me-too", post.pk))
    assert response.status_code == 302 and "/space/link/" in response["Location"]
    assert MeToo.objects.unscoped().count() == 0
    assert client.get(url(org, "me-too", post.pk)).status_code == 405


def test_follow_needs_the_community_consent(
    client: Client, org: Organization, known: Customer, post: Post
) -> None:
    open_space(client, org, known)
    client.post(url(org, "follow", post.pk))
    assert ThreadSubscription.objects.unscoped().count() == 0
    assert ConsentEvent.objects.unscoped().filter(purpose=Purpose.COMMUNITY).count() == 0
    with tenancy.tenant_context(org):
        wording = customer_services.current_wording(Purpose.COMMUNITY, "fr")
    page = client.get(url(org, pk=post.pk)).content.decode()
    assert escape(wording.text) in page  # the wording is offered inline
    client.post(url(org, "follow", post.pk), {"consent": "on", "wording": wording.pk})
    with tenancy.tenant_context(org):
        sub = ThreadSubscription.objects.get()
        assert sub.customer_id == known.pk and sub.active
        event = ConsentEvent.objects.get(purpose=Purpose.COMMUNITY)
        assert event.granted and event.wording_id == wording.pk
    assert 'data-following="1"' in client.get(url(org, pk=post.pk)).content.decode()


def test_new_post_with_follow_but_no_consent_writes_nothing(
    client: Client, org: Organization, known: Customer
) -> None:
    open_space(client, org, known)
    before = counts()
    response = client.post(url(org, "new"), form(follow="on"))
    assert response.status_code == 400
    assert "consent" in response.context["form"].errors
    assert counts() == before
    response = client.post(url(org, "new"), form(follow="on", consent="on"))
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        assert ThreadSubscription.objects.filter(customer=known).count() == 1
        assert customer_services.has_consent(known, Purpose.COMMUNITY)


# --------------------------------------------------------------------------- unsubscribe


@pytest.fixture
def subscription(org: Organization, known: Customer, post: Post) -> ThreadSubscription:
    with tenancy.tenant_context(org):
        customer_services.record_consent(
            known, Purpose.COMMUNITY, True, source="portal", actor=Actor.system("test")
        )
        return services.subscribe(post, known)


def test_unsubscribe_get_shows_a_button_and_changes_nothing(
    client: Client, org: Organization, subscription: ThreadSubscription
) -> None:
    token = notify.unsubscribe_token(subscription)
    response = client.get(url(org, f"unsubscribe/{token}"))
    assert response.status_code == 200
    assert b'data-action="unsubscribe"' in response.content
    subscription.refresh_from_db()
    assert subscription.active


def test_unsubscribe_button_post(org: Organization, subscription: ThreadSubscription) -> None:
    client = Client(enforce_csrf_checks=True)
    token = notify.unsubscribe_token(subscription)
    page = client.get(url(org, f"unsubscribe/{token}"))
    csrf = page.cookies["csrftoken"].value
    response = client.post(url(org, f"unsubscribe/{token}"), {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert b'data-state="unsubscribed"' in response.content
    subscription.refresh_from_db()
    assert not subscription.active


def test_unsubscribe_rfc8058_one_click_without_csrf_is_idempotent(
    org: Organization, subscription: ThreadSubscription
) -> None:
    client = Client(enforce_csrf_checks=True)
    token = notify.unsubscribe_token(subscription)
    for _ in range(2):
        response = client.post(
            url(org, f"unsubscribe/{token}"),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    subscription.refresh_from_db()
    assert subscription.ended_at is not None
    assert AuditEvent.objects.unscoped().filter(action="community.unsubscribed").count() == 1


def test_unsubscribe_with_a_bad_or_foreign_token_is_404(
    client: Client, org: Organization, other_org: Organization, subscription: ThreadSubscription
) -> None:
    assert client.post(url(org, "unsubscribe/forged-token")).status_code == 404
    token = notify.unsubscribe_token(subscription)
    assert client.post(url(other_org, f"unsubscribe/{token}")).status_code == 404
    subscription.refresh_from_db()
    assert subscription.active


# --------------------------------------------------------------------------- hidden, appeal


@pytest.fixture
def hidden(org: Organization, known: Customer, manager: User) -> Post:
    with tenancy.tenant_context(org):
        p = services.create_post(known, kind="complaint", text=SECRET, display_name="Inès M.")
        services.hide_post(p, membership(manager), reason="personal_data", passage=p.text[:12])
        return p


def test_hidden_post_shows_placeholder_reason_role_not_text(
    client: Client, org: Organization, hidden: Post
) -> None:
    for page in (url(org), url(org, pk=hidden.pk), url(org, "feed.atom")[:-1]):
        response = client.get(page, {"lang": "en"})
        assert response.status_code == 200
        html = response.content.decode()
        assert SECRET not in html
        assert "Jean Dupont" not in html
        if "feed" not in page:
            assert 'data-placeholder="personal_data"' in html
            assert "Someone else&#x27;s personal data" in html or "personal data" in html
            assert "a manager" in html


def test_author_sees_own_hidden_text_and_appeals_once(
    client: Client, org: Organization, known: Customer, hidden: Post
) -> None:
    open_space(client, org, known)
    html = client.get(url(org, pk=hidden.pk)).content.decode()
    assert "Jean Dupont" in html
    assert 'data-form="appeal"' in html
    response = client.post(url(org, "appeal", hidden.pk), {"text": "Ce n'est pas une adresse."})
    assert response.status_code == 302
    response = client.post(url(org, "appeal", hidden.pk), {"text": "Encore"})
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        assert Appeal.objects.filter(post=hidden).count() == 1
        assert ModerationEvent.objects.filter(post=hidden, action=Action.APPEAL).count() == 1
    html = client.get(url(org, pk=hidden.pk)).content.decode()
    assert 'data-form="appeal"' not in html
    assert 'data-appealed="1"' in html


def test_only_the_author_appeals(client: Client, org: Organization, hidden: Post) -> None:
    open_space(client, org, CustomerFactory(organization=org))
    html = client.get(url(org, pk=hidden.pk)).content.decode()
    assert "Jean Dupont" not in html and 'data-form="appeal"' not in html
    client.post(url(org, "appeal", hidden.pk), {"text": "pas moi"})
    assert Appeal.objects.unscoped().count() == 0


def test_hidden_post_cannot_be_edited(
    client: Client, org: Organization, known: Customer, hidden: Post
) -> None:
    open_space(client, org, known)
    response = client.post(url(org, "edit", hidden.pk), {"text": "Nouveau texte"})
    assert response.status_code == 400
    with tenancy.tenant_context(org):
        assert hidden.versions.count() == 1


# --------------------------------------------------------------------------- feed


def test_atom_feed_is_valid_xml_with_escaped_content(
    client: Client, org: Organization, known: Customer, hidden: Post, owner: User
) -> None:
    with tenancy.tenant_context(org):
        p = services.create_post(
            known, kind="suggestion", text="<script>alert('x')</script> & <b>gras</b>",
            display_name="<img src=x onerror=alert(1)>",
        )  # fmt: skip
        services.reply(p, membership(owner), text="Bonne idée")
    response = client.get(url(org, "feed.atom")[:-1])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert "<script>" not in body and "<img" not in body
    root = ET.fromstring(response.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1  # the hidden post is not in the feed
    summary = entries[0].find("a:summary", ns)
    assert summary is not None and summary.text is not None
    # The summary is HTML for the reader: the customer's text arrives escaped inside it.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in (
        summary.text
    )
    assert "<script>" not in summary.text and "<b>" not in summary.text
    assert summary.text.endswith("</p>") and "<p>1 " in summary.text  # the replies count


def test_public_pages_add_the_community_link(client: Client, org: Organization) -> None:
    assert url(org).encode() in client.get(f"/o/{org.slug}/join/thanks/").content
