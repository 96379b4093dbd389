"""Emails of the community page: replies to followers, hidden posts, appeal decisions, digest."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cueillette.accounts.models import User
from cueillette.community import notify, services, tasks
from cueillette.community.models import CommunitySettings, HideReason, Post
from cueillette.core import tenancy
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose

from .staff_helpers import consent, make_post, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(tenant: Organization) -> Customer:
    return CustomerFactory(organization=tenant, email="marie@example.net", language="fr")


@pytest.fixture
def post(author: Customer) -> Post:
    return make_post(author)


def test_reply_reaches_followers_by_real_smtp_with_unsubscribe_headers(
    post: Post,
    author: Customer,
    owner: User,
    tenant: Organization,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    consent(author)
    services.subscribe(post, author)
    follower = CustomerFactory(organization=tenant, email="paul@example.net", language="en")
    consent(follower)
    services.subscribe(post, follower)
    # Subscribed but consent withdrawn since: no email.
    gone = CustomerFactory(organization=tenant, email="gone@example.net")
    consent(gone)
    services.subscribe(post, gone)
    from cueillette.core.audit import Actor

    customer_services.record_consent(
        gone, Purpose.COMMUNITY, False, source="counter", actor=Actor.system()
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.reply(post, member(owner), text="Désolés <b>vraiment</b>, une caisse de plus.")
    messages = smtp_server.wait_for(2)
    assert sorted(m["X-Envelope-To"] for m in messages) == ["marie@example.net", "paul@example.net"]
    for message in messages:
        header = "".join(str(message["List-Unsubscribe"]).split())  # unfold the header
        # The send gate's one-click link (withdraws the community consent) and a mailto.
        assert header.startswith("<http") and f"/o/{tenant.slug}/unsubscribe/" in header
        assert "<mailto:" in header
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = smtp_server.body(message)
        assert f"/o/{tenant.slug}/community/{post.pk}/" in body
        # The body keeps the finer link: stop following this one thread.
        unsubscribe = body.split("/community/unsubscribe/", 1)[1].split()[0]
        # Plain text is not HTML-escaped; the HTML part escapes the reply.
        assert "Désolés <b>vraiment</b>" in body
        assert "&lt;b&gt;vraiment" in smtp_server.body(message, "html")
        token = unsubscribe.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        assert notify.subscription_for_token(token).customer.email == message["X-Envelope-To"]
    english = next(m for m in messages if m["X-Envelope-To"] == "paul@example.net")
    # An English email opens English pages, and says it is English.
    assert f"/community/{post.pk}/?lang=en" in smtp_server.body(english)
    assert "/?lang=en>" in "".join(str(english["List-Unsubscribe"]).split())
    assert "/community/unsubscribe/" in smtp_server.body(english)
    assert '<html lang="en">' in smtp_server.body(english, "html")
    assert "replied" in english["Subject"] or "replied" in str(english["Subject"]).replace("_", " ")
    french = next(m for m in messages if m["X-Envelope-To"] == "marie@example.net")
    assert smtp_server.body(french).startswith("Bonjour,")  # the customer's language
    assert smtp_server.body(english).startswith("Hello,")


def test_no_email_without_subscription_or_when_refused(
    post: Post,
    manager: User,
    counter: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.reply(post, member(counter), text="Merci")
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):
        services.reply(post, member(manager), text="")
    assert mailoutbox == []


def test_author_told_when_hidden_and_of_the_appeal_decision(
    post: Post,
    author: Customer,
    manager: User,
    owner: User,
    tenant: Organization,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.hide_post(
            post,
            member(manager),
            reason=HideReason.INSULT_HARASSMENT,
            note="Insulte",
            passage=post.text[:12],
        )
    [hidden] = mailoutbox
    assert hidden.to == ["marie@example.net"]
    assert f"/o/{tenant.slug}/community/{post.pk}/#appeal" in hidden.body  # the thread (GET)
    assert "Insulte ou harcèlement" in hidden.body or "Insult or harassment" in hidden.body
    assert "&#x27;" not in hidden.body and "&amp;" not in hidden.body
    item = services.appeal(post, author, text="Je n'ai insulté personne.")
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_appeal(item, member(owner), upheld=True, note="Vous avez raison.")
    decision = mailoutbox[1]
    assert decision.to == ["marie@example.net"]
    assert "Vous avez raison." in decision.body
    assert f"/o/{tenant.slug}/community/{post.pk}/" in decision.body


def test_author_without_email_is_not_emailed(
    tenant: Organization, manager: User, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    anonymous = CustomerFactory(organization=tenant, email="", phone="+33612345678")
    item = make_post(anonymous)
    with django_capture_on_commit_callbacks(execute=True):
        services.hide_post(
            item, member(manager), reason=HideReason.SPAM_ADVERTISING, passage=item.text[:12]
        )
    assert mailoutbox == []


# --------------------------------------------------------------------------- digest


def _owner_emails(messages: list[Any]) -> list[str]:
    return sorted(address for m in messages for address in m.to)


def test_digest_once_per_week_to_owners_only(
    org: Organization,
    owner: User,
    manager: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    now = timezone.now()
    with tenancy.tenant_context(org):
        author = CustomerFactory(organization=org)
        make_post(author, now=now - dt.timedelta(days=2))
        make_post(author, kind="review", text="Parfait, merci !", rating=5,
                  now=now - dt.timedelta(days=20))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_weekly_digest.call(org.pk, now=now.isoformat()) == 1
    assert _owner_emails(mailoutbox) == [owner.email]
    digest = mailoutbox[0]
    assert "/app/community/" in digest.body
    assert re.search(r"\b1\b", digest.subject)  # one new post this week
    with tenancy.tenant_context(org):
        current = CommunitySettings.objects.get()
    assert current.digest_last_sent_at == now
    # The scheduler runs daily: nothing more until a week has passed.
    for days in (1, 3, 6):
        with django_capture_on_commit_callbacks(execute=True):
            later = (now + dt.timedelta(days=days)).isoformat()
            assert tasks.send_weekly_digest.call(org.pk, now=later) == 0
    assert len(mailoutbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        later = (now + dt.timedelta(days=7)).isoformat()
        assert tasks.send_weekly_digest.call(org.pk, now=later) == 1
    assert len(mailoutbox) == 2
    with tenancy.tenant_context(org):
        assert AuditEvent.objects.filter(action="community.digest_sent").count() == 2


def test_digest_respects_the_setting(
    org: Organization, owner: User, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with tenancy.tenant_context(org):
        services.update_settings(member(owner), digest_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_weekly_digest.call(org.pk) == 0
        assert tasks.run_all() == {org.slug: 0}
    assert mailoutbox == []
    with tenancy.tenant_context(org):
        assert CommunitySettings.objects.get().digest_last_sent_at is None


def test_digest_by_real_smtp_in_the_owners_language(
    org: Organization,
    owner: User,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner.language = "en"
    owner.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.enqueue_all() >= 1
    [message] = smtp_server.wait_for(1)
    assert message["X-Envelope-To"] == owner.email
    from email.header import decode_header, make_header

    subject = str(make_header(decode_header(message["Subject"])))
    assert "0 new posts on your community page" in subject
    assert "No posts" not in smtp_server.body(message)


def test_scheduler_lists_the_digest() -> None:
    from cueillette.customers.management.commands import run_scheduler

    assert "cueillette.community.tasks" in run_scheduler.DAILY_MODULES
