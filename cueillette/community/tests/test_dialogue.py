"""Issue 10, items 1 and 2, through the front door: criticism cannot be buried in one click,
and a thread is a dialogue (customers answer, the author resolves or withdraws, erasure
removes the name everywhere)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cueillette.accounts.models import User
from cueillette.apikeys.services import create_api_key
from cueillette.community import queries, services
from cueillette.community.models import (
    Action,
    Appeal,
    HideReason,
    ModerationEvent,
    Post,
    PostDraft,
    PostVersion,
    Reply,
)
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import portal
from cueillette.customers.models import Customer

from .staff_helpers import consent, counts, make_post, member

pytestmark = pytest.mark.django_db

COMPLAINT = "Le bus gratuit n'existe plus, je ne peux plus venir faire mes courses."
SPAM = "Achetez des montres pas chères sur montres-example.com, livraison offerte"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def open_space(client: Client, org: Organization, customer: Customer) -> None:
    session = client.session
    session[f"portal_customer_{org.pk}"] = {
        "customer": customer.pk,
        "org": org.pk,
        "expires": time.time() + 3600,
    }
    session.save()


def public(org: Organization, name: str = "community_post", **kw: Any) -> str:
    return reverse(f"public:{name}", kwargs={"slug": org.slug, **kw})


def staff(name: str, **kw: Any) -> str:
    return reverse(f"community:{name}", kwargs=kw or None)


def en(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def author(org: Organization) -> Customer:
    return CustomerFactory(
        organization=org, first_name="Séraphine", last_name="Vautrin", email="sera@example.net"
    )


@pytest.fixture
def complaint(org: Organization, author: Customer) -> Post:
    with tenancy.tenant_context(org):
        return make_post(author, kind="complaint", text=COMPLAINT, display_name="Séraphine V.")


# --------------------------------------------------------------------------- 1. hiding


def test_hiding_criticism_shows_the_warning_and_asks_for_the_exact_passage(
    complaint: Post, manager_client: Client, org: Organization
) -> None:
    client = en(manager_client)
    page = client.get(staff("hide", pk=complaint.pk), {"reason": "spam_advertising"})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="criticism-warning"' in body and "Criticism is not abuse" in body
    # Every listed reason with what it covers; the chosen one ticked.
    assert all(f'data-definition="{value}"' in body for value in HideReason.values)
    assert 'id="reason-spam_advertising" value="spam_advertising" checked' in body
    assert 'name="passage"' in body and "required" in body.split('id="hide-passage"')[1][:200]
    with tenancy.tenant_context(org):
        before = counts()
    # One click from the thread's old form (no confirmation) hides nothing.
    shown = client.post(staff("hide", pk=complaint.pk), {"reason": "spam_advertising"})
    assert shown.status_code == 200 and 'id="hide-confirm-form"' in shown.content.decode()
    # Confirmed without the passage, or with words that are not in the text: refused.
    for passage, code in (("", "passage_required"), ("prix en hausse", "passage_not_found")):
        refused = client.post(
            staff("hide", pk=complaint.pk),
            {"reason": "spam_advertising", "confirmed": "1", "passage": passage},
        )
        assert refused.status_code == 400
        assert f'data-code="{code}"' in refused.content.decode()
        assert 'data-field="passage"' in refused.content.decode()
    with tenancy.tenant_context(org):
        assert counts() == before
    complaint.refresh_from_db()
    assert not complaint.hidden
    done = client.post(
        staff("hide", pk=complaint.pk),
        {"reason": "spam_advertising", "confirmed": "1", "passage": "le bus GRATUIT"},
    )
    assert done.status_code == 302
    with tenancy.tenant_context(org):
        event = ModerationEvent.objects.get(post=complaint, action=Action.HIDE)
    assert event.data == {"criticism": True, "passage": "le bus GRATUIT"}


def test_a_post_that_is_not_criticism_needs_no_passage(
    org: Organization, owner_client: Client
) -> None:
    with tenancy.tenant_context(org):
        spam = make_post(CustomerFactory(organization=org), kind="review", text=SPAM, rating=5)
    page = en(owner_client).get(staff("hide", pk=spam.pk)).content.decode()
    assert 'id="criticism-warning"' not in page
    done = owner_client.post(
        staff("hide", pk=spam.pk), {"reason": "spam_advertising", "confirmed": "1"}
    )
    assert done.status_code == 302
    spam.refresh_from_db()
    assert spam.hidden


def test_the_api_requires_the_passage_for_criticism(complaint: Post, org: Organization) -> None:
    with tenancy.tenant_context(org):
        raw = create_api_key("Till", "write", actor=Actor.system("test"))[1]
    headers = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/community/posts/{complaint.pk}/hide"

    def post(body: dict[str, str], key: str) -> Any:
        return Client().post(
            url,
            json.dumps(body),
            content_type="application/json",
            headers={**headers, "Idempotency-Key": key},
        )

    refused = post({"reason": "insult_harassment"}, "k1")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "passage_required"
    assert refused.json()["error"]["field"] == "passage"
    missing = post({"reason": "", "passage": "le bus"}, "k2")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "reason"
    complaint.refresh_from_db()
    assert not complaint.hidden
    done = post({"reason": "insult_harassment", "passage": "je ne peux plus venir"}, "k3")
    assert done.status_code == 200 and done.json()["hidden"]


def _hide(post: Post, manager: User, org: Organization, passage: str = "le bus gratuit") -> None:
    with tenancy.tenant_context(org):
        services.hide_post(
            post, member(manager), reason=HideReason.INSULT_HARASSMENT, passage=passage
        )


def test_the_public_stub_keeps_author_date_kind_reason_and_the_appeal(
    complaint: Post,
    author: Customer,
    manager: User,
    owner_client: Client,
    org: Organization,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _hide(complaint, manager, org)
    # The author is told, with the passage, and may appeal.
    [told] = [m for m in mail.outbox if m.to == ["sera@example.net"]]
    assert "le bus gratuit" in told.body and "appeal" in told.body.lower()
    stub = client.get(public(org, pk=complaint.pk), {"lang": "en"}).content.decode()
    assert "Complaint by Séraphine V., posted on" in stub
    assert "for this reason: Insult or harassment" in stub
    assert "attack a person" in stub  # the reason's definition, in words
    assert COMPLAINT not in stub
    wall = client.get(public(org, "community"), {"lang": "en"}).content.decode()
    assert "including 1 criticism hidden" in wall
    # The author appeals: the public page says an appeal waits.
    open_space(client, org, author)
    client.post(
        public(org, "community_appeal", pk=complaint.pk), {"text": "Ce n'est pas insultant."}
    )
    waiting = client.get(public(org, pk=complaint.pk)).content.decode()
    assert 'data-appeal-state="pending"' in waiting
    # A rejection needs a written reason, shown publicly.
    with tenancy.tenant_context(org):
        item = Appeal.objects.get(post=complaint)
    with tenancy.tenant_context(org):
        before = counts()
    short = en(owner_client).post(
        staff("decide_appeal", pk=item.pk), {"decision": "rejected", "note": "Non."}
    )
    assert short.status_code == 400 and 'data-field="note"' in short.content.decode()
    with tenancy.tenant_context(org):
        assert counts() == before
    reason = "Le message vise une vendeuse nommément : règle sur le harcèlement."
    owner_client.post(staff("decide_appeal", pk=item.pk), {"decision": "rejected", "note": reason})
    rejected = Client().get(public(org, pk=complaint.pk)).content.decode()
    assert 'data-appeal-state="rejected"' in rejected
    assert "vise une vendeuse nommément" in rejected


def test_figures_count_hidden_criticism_apart_in_french(
    complaint: Post, manager: User, org: Organization, client: Client
) -> None:
    _hide(complaint, manager, org)
    wall = client.get(public(org, "community"), {"lang": "fr"}).content.decode()
    assert "dont 1 critique masquée" in wall


# --------------------------------------------------------------------------- 2. dialogue


def test_the_author_and_others_answer_followers_are_told(
    complaint: Post,
    author: Customer,
    org: Organization,
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    other = CustomerFactory(organization=org, first_name="Noé", email="noe@example.net")
    with tenancy.tenant_context(org):
        consent(author)
        services.subscribe(complaint, author)
        consent(other)
        services.subscribe(complaint, other)
        services.reply(complaint, member(owner), text="Nous remettons une navette le samedi.")
    mail.outbox.clear()
    client = Client()
    open_space(client, org, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            public(org, "community_answer", pk=complaint.pk),
            {"text": "Merci, mais <b>le mardi</b> aussi ?", "display_name": "Séraphine V."},
        )
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        answer = Reply.objects.get(post=complaint, author_role="customer")
    assert answer.customer_id == author.pk
    # The other follower is emailed; the writer is not.
    assert [m.to for m in mail.outbox] == [["noe@example.net"]]
    assert "Séraphine V." in mail.outbox[0].body
    page = Client().get(public(org, pk=complaint.pk)).content.decode()
    assert "&lt;b&gt;le mardi&lt;/b&gt;" in page  # escaped like posts
    assert 'data-by="customer"' in page and 'data-by="business"' in page


def test_an_anonymous_answer_waits_for_the_email_link(
    complaint: Post, org: Organization, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            public(org, "community_answer", pk=complaint.pk),
            {"text": "Même souci pour moi.", "display_name": "Jo", "email": "jo@example.net"},
        )
    assert sent.status_code == 302
    with tenancy.tenant_context(org):
        assert not Reply.objects.filter(post=complaint).exists()
        assert PostDraft.objects.get(email="jo@example.net").reply_to_id == complaint.pk
    [link_mail] = mail.outbox
    link = re.search(r"https?://\S+/confirm/\S+/", link_mail.body)
    assert link is not None
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    assert client.post("/" + path).status_code == 302
    with tenancy.tenant_context(org):
        answer = Reply.objects.get(post=complaint)
    assert answer.text == "Même souci pour moi." and answer.author_role == "customer"


def test_answers_have_the_honeypot_and_the_rate_limit(
    complaint: Post, org: Organization, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = public(org, "community_answer", pk=complaint.pk)
    bot = client.post(
        url, {"text": "spam", "display_name": "b", "email": "b@example.net", "website": "x"}
    )
    assert bot.status_code == 302
    with tenancy.tenant_context(org):
        assert not PostDraft.objects.exists()
    monkeypatch.setattr("cueillette.public.views.RATE_LIMIT", 2)
    cache.clear()
    statuses = [
        client.post(
            url, {"text": "Moi aussi", "display_name": "c", "email": f"c{i}@example.net"}
        ).status_code
        for i in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_an_answer_is_moderated_like_a_post(
    complaint: Post, org: Organization, manager_client: Client, owner_client: Client
) -> None:
    writer = CustomerFactory(organization=org, email="mo@example.net")
    with tenancy.tenant_context(org):
        answer = services.customer_reply(
            complaint, writer, text="La caissière du soir est nulle et incompétente.",
            display_name="Mo",
        )  # fmt: skip
    page = en(manager_client).get(staff("hide_reply", pk=answer.pk)).content.decode()
    assert 'id="criticism-warning"' in page
    refused = manager_client.post(
        staff("hide_reply", pk=answer.pk), {"reason": "insult_harassment", "confirmed": "1"}
    )
    assert refused.status_code == 400
    manager_client.post(
        staff("hide_reply", pk=answer.pk),
        {"reason": "insult_harassment", "confirmed": "1", "passage": "nulle et incompétente"},
    )
    answer.refresh_from_db()
    assert answer.hidden
    stub = Client().get(public(org, pk=complaint.pk), {"lang": "en"}).content.decode()
    assert "This answer is hidden." in stub and "Answer by Mo" in stub
    assert "incompétente" not in stub
    # The writer appeals from the thread; the owner upholds: shown again.
    client = Client()
    open_space(client, org, writer)
    client.post(public(org, "community_answer_appeal", pk=answer.pk), {"text": "Exagéré ?"})
    with tenancy.tenant_context(org):
        item = Appeal.objects.get(hide_event__reply=answer)
    owner_client.post(staff("decide_appeal", pk=item.pk), {"decision": "upheld"})
    answer.refresh_from_db()
    complaint.refresh_from_db()
    assert not answer.hidden and not complaint.hidden


def test_the_author_marks_resolved_and_reopens(
    complaint: Post, author: Customer, org: Organization
) -> None:
    client = Client()
    stranger = Client()
    open_space(stranger, org, CustomerFactory(organization=org))
    assert (
        stranger.post(
            public(org, "community_resolve", pk=complaint.pk), {"resolved": "1"}
        ).status_code
        == 302
    )
    complaint.refresh_from_db()
    assert complaint.status == "open"  # not the author: refused
    open_space(client, org, author)
    page = client.get(public(org, pk=complaint.pk)).content.decode()
    assert 'data-action="resolved"' in page
    client.post(public(org, "community_resolve", pk=complaint.pk), {"resolved": "1"})
    complaint.refresh_from_db()
    assert complaint.status == "resolved"
    assert 'data-action="reopen"' in client.get(public(org, pk=complaint.pk)).content.decode()
    client.post(public(org, "community_resolve", pk=complaint.pk), {"resolved": "0"})
    complaint.refresh_from_db()
    assert complaint.status == "open"
    with tenancy.tenant_context(org):
        roles = list(
            ModerationEvent.objects.filter(post=complaint, action=Action.STATUS_CHANGE)
            .order_by("id")
            .values_list("actor_role", "data")
        )
    assert [r for r, _d in roles] == ["customer", "customer"]


def test_the_author_withdraws_and_the_business_replies_stay(
    complaint: Post, author: Customer, org: Organization, owner: User
) -> None:
    with tenancy.tenant_context(org):
        services.reply(complaint, member(owner), text="Nous regardons pour la navette.")
    client = Client()
    open_space(client, org, author)
    ask = client.get(public(org, "community_withdraw", pk=complaint.pk))
    assert ask.status_code == 200 and b'data-action="confirm-withdraw"' in ask.content
    assert client.post(public(org, "community_withdraw", pk=complaint.pk)).status_code == 302
    page = Client().get(public(org, pk=complaint.pk), {"lang": "en"}).content.decode()
    assert "Withdrawn by its author." in page
    assert COMPLAINT not in page
    assert "Nous regardons pour la navette." in page
    assert 'id="answer"' not in page  # the thread takes no new answer
    # Nothing is deleted: the text stays in the versions (the author's export has it).
    with tenancy.tenant_context(org):
        assert PostVersion.objects.get(post=complaint).text == COMPLAINT
        assert ModerationEvent.objects.filter(post=complaint, action=Action.WITHDRAW).exists()
    # Withdrawn posts cannot be hidden (nothing is shown) nor answered.
    with tenancy.tenant_context(org), pytest.raises(Exception):
        services.customer_reply(complaint, author, text="encore", display_name="S")


def test_after_erasure_the_name_appears_nowhere(
    complaint: Post, author: Customer, org: Organization, owner: User
) -> None:
    neighbour = CustomerFactory(organization=org)
    with tenancy.tenant_context(org):
        services.reply(complaint, member(owner), text="Bonjour Séraphine V., la navette revient.")
        services.customer_reply(
            complaint, author, text="Merci, signé Séraphine V.", display_name="Séraphine V."
        )
        services.customer_reply(
            complaint, neighbour, text="Comme séraphine, j'attends la navette.", display_name="Léa"
        )
        services.set_status(
            complaint, member(owner), status="acknowledged", note="Séraphine a raison."
        )
        portal.erase_customer(author, actor=Actor.customer(), reason="self")
    for lang, word in (("fr", "un client"), ("en", "A customer")):
        page = Client().get(public(org, pk=complaint.pk), {"lang": lang}).content.decode()
        assert "Séraphine" not in page and "séraphine" not in page and "Vautrin" not in page
    fr = Client().get(public(org, pk=complaint.pk), {"lang": "fr"}).content.decode()
    assert "Bonjour un client, la navette revient." in fr
    assert "Comme un client, j&#x27;attends la navette." in fr or "Comme un client, j'attends" in fr
    assert "Un client" in fr  # the shown name, in the reader's language
    en_page = Client().get(public(org, pk=complaint.pk), {"lang": "en"}).content.decode()
    assert "A customer" in en_page
    with tenancy.tenant_context(org):
        redaction = ModerationEvent.objects.get(post=complaint, action=Action.REDACT)
    assert len(redaction.data["replies"]) == 3 and redaction.data["notes"]
    assert "Séraphine" not in json.dumps(redaction.data)


def test_a_customer_answer_does_not_count_as_the_business_answering(
    complaint: Post, author: Customer, org: Organization, manager_client: Client
) -> None:
    with tenancy.tenant_context(org):
        services.customer_reply(complaint, author, text="Toujours rien ?", display_name="S.")
        figures = queries.responsiveness()
    assert figures.answered == 0
    inbox = manager_client.get(staff("inbox"), {"show": "unanswered"}).content.decode()
    assert f'data-post="{complaint.pk}"' in inbox
