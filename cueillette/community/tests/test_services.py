"""The community write services: validation, roles, moderation log, appeal, erasure."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from cueillette.accounts.models import Membership, User
from cueillette.community import queries, services
from cueillette.community.models import (
    ANONYMOUS,
    Action,
    Appeal,
    HideReason,
    MeToo,
    ModerationEvent,
    Post,
    PostStatus,
    PostVersion,
    Reply,
    ThreadSubscription,
)
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import portal
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, Purpose

pytestmark = pytest.mark.django_db


def member(user: User) -> Membership:
    return Membership.objects.get(user=user)


@pytest.fixture
def post(tenant: Organization, customer: Customer) -> Post:
    return services.create_post(
        customer,
        kind="review",
        text="Le service était vraiment lent, je suis déçu.",
        display_name="Marie",
        rating=2,
    )


def counts() -> tuple[int, ...]:
    return (
        Post.objects.count(),
        PostVersion.objects.count(),
        Reply.objects.count(),
        ModerationEvent.objects.count(),
        Appeal.objects.count(),
        MeToo.objects.count(),
        ThreadSubscription.objects.count(),
        AuditEvent.objects.count(),
    )


# --------------------------------------------------------------------------- posting


def test_create_post_writes_version_sentiment_and_audit(post: Post) -> None:
    assert post.kind == "review"
    assert post.rating == 2
    assert post.status == PostStatus.OPEN
    assert not post.hidden
    assert post.sentiment == "negative"
    assert post.sentiment_score < 0
    assert [v.text for v in post.versions.all()] == [post.text]
    row = AuditEvent.objects.get(action="community.post_created")
    assert row.object_id == str(post.pk)
    assert "Marie" not in str(row.data)


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"text": ""}, "text", "empty"),
        ({"text": "   \n "}, "text", "empty"),
        ({"text": "x" * 5001}, "text", "too_long"),
        ({"rating": 0}, "rating", "invalid_rating"),
        ({"rating": 6}, "rating", "invalid_rating"),
        ({"rating": "abc"}, "rating", "invalid_rating"),
        ({"rating": 3.5}, "rating", "invalid_rating"),
        ({"rating": True}, "rating", "invalid_rating"),
        ({"text": "nul\x00byte"}, "text", "invalid"),
        ({"kind": "rant"}, "kind", "unknown_kind"),
        ({"display_name": ""}, "display_name", "empty"),
        ({"display_name": "n" * 61}, "display_name", "too_long"),
    ],
)
def test_bad_post_input_names_the_field_and_writes_nothing(
    tenant: Organization, customer: Customer, kwargs: dict[str, Any], field: str, code: str
) -> None:
    args: dict[str, Any] = {"kind": "review", "text": "Très bien", "display_name": "M", **kwargs}
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.create_post(customer, **args)
    assert exc.value.field == field
    assert exc.value.code == code
    assert counts() == before


def test_rating_is_optional_and_5000_chars_is_fine(
    tenant: Organization, customer: Customer
) -> None:
    post = services.create_post(customer, kind="question", text="q" * 5000, display_name="M")
    assert post.rating is None
    assert len(post.text) == 5000


def test_edit_keeps_every_version(post: Post, customer: Customer) -> None:
    first = post.text
    services.edit_post(post, customer, text="Finalement ça allait.", rating=4)
    services.edit_post(post, customer, text="Finalement très bien !", rating=5)
    post.refresh_from_db()
    assert post.text == "Finalement très bien !"
    assert post.rating == 5
    assert post.edited_at is not None
    assert [v.text for v in post.versions.order_by("number")] == [
        first,
        "Finalement ça allait.",
        "Finalement très bien !",
    ]
    assert post.sentiment == "positive"


def test_only_the_author_edits(post: Post, org: Organization) -> None:
    other = CustomerFactory(organization=org)
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.edit_post(post, other, text="hijacked")
    assert exc.value.code == "not_author"
    assert exc.value.status == 403
    assert counts() == before


def test_bad_edit_writes_nothing(post: Post, customer: Customer) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.edit_post(post, customer, text="", rating=3)
    assert exc.value.field == "text"
    with pytest.raises(ServiceError) as exc:
        services.edit_post(post, customer, text="ok", rating=9)
    assert exc.value.field == "rating"
    assert counts() == before


def test_me_too_once(post: Post, org: Organization) -> None:
    other = CustomerFactory(organization=org)
    services.add_me_too(post, other)
    with pytest.raises(ServiceError) as exc:
        services.add_me_too(post, other)
    assert exc.value.code == "already_me_too"
    assert post.me_toos.count() == 1


def test_the_author_cannot_say_me_too_to_their_own_post(post: Post, customer: Customer) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.add_me_too(post, customer)
    assert exc.value.code == "own_post"
    assert counts() == before


@pytest.mark.parametrize("kind", ["question", "suggestion", "complaint"])
def test_stars_go_with_reviews_only(kind: str, tenant: Organization, customer: Customer) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.create_post(customer, kind=kind, text="Un texte", display_name="A", rating=2)
    assert (exc.value.code, exc.value.field) == ("invalid_rating", "rating")
    assert counts() == before
    item = services.create_post(customer, kind=kind, text="Un texte", display_name="A")
    assert item.rating is None
    with pytest.raises(ServiceError) as exc:
        services.edit_post(item, customer, text="Autre texte", rating=4)
    assert exc.value.field == "rating"


def test_errors_name_the_field_in_words_not_its_code(
    tenant: Organization, customer: Customer
) -> None:
    with translation.override("fr"), pytest.raises(ServiceError) as exc:
        services.create_post(customer, kind="review", text="  ", display_name="A")
    assert exc.value.message == "Le texte est vide" and exc.value.field == "text"
    with translation.override("en"), pytest.raises(ServiceError) as exc:
        services.create_post(customer, kind="rant", text="x", display_name="A")
    assert "review" not in exc.value.message and "Review" in exc.value.message
    with translation.override("en"), pytest.raises(ServiceError) as exc:
        services.create_post(customer, kind="review", text="x", display_name="")
    assert exc.value.message == "The display name is empty"


def test_subscription_needs_community_consent(post: Post, customer: Customer) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.subscribe(post, customer)
    assert exc.value.code == "no_consent"
    assert counts() == before
    customer_services.record_consent(
        customer, Purpose.COMMUNITY, True, source="counter", actor=Actor.system()
    )
    sub = services.subscribe(post, customer)
    assert sub.active
    assert services.subscribers(post) == [customer]
    services.unsubscribe(sub)
    assert services.subscribers(post) == []
    assert services.subscribe(post, customer).active


def test_nothing_can_be_deleted(post: Post, customer: Customer, manager: User) -> None:
    services.reply(post, member(manager), text="Merci, nous regardons.")
    event = services.hide_post(
        post, member(manager), reason=HideReason.SPAM_ADVERTISING, passage=post.text[:12]
    )
    for obj in [post, post.versions.get(), post.replies.get(), event]:
        with pytest.raises(ValueError):
            obj.delete()
    with pytest.raises(ValueError):
        event.note = "rewritten"
        event.save()
    with pytest.raises(ValueError):
        version = post.versions.get()
        version.text = "rewritten"
        version.save()
    assert Post.objects.filter(pk=post.pk).exists()


# --------------------------------------------------------------------------- staff


def test_reply_is_public_logged_and_audited(post: Post, counter: User) -> None:
    item = services.reply(post, member(counter), text="Nous sommes désolés.")
    assert item.author == counter
    assert item.author_role == "counter"
    assert ModerationEvent.objects.get(action=Action.REPLY).data == {"reply": item.pk}
    assert AuditEvent.objects.filter(action="community.replied", actor_user=counter).exists()


def test_empty_reply_writes_nothing(post: Post, manager: User) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.reply(post, member(manager), text=" ")
    assert exc.value.field == "text"
    assert counts() == before


def test_acknowledge_and_status(post: Post, manager: User) -> None:
    services.acknowledge(post, member(manager), note="Nous avons eu tort.")
    post.refresh_from_db()
    assert post.acknowledged
    assert post.status == PostStatus.ACKNOWLEDGED
    with pytest.raises(ServiceError) as exc:
        services.acknowledge(post, member(manager))
    assert exc.value.code == "already_acknowledged"
    services.set_status(post, member(manager), status="resolved", note="Un serveur de plus.")
    post.refresh_from_db()
    assert post.status == PostStatus.RESOLVED
    actions = list(post.events.order_by("id").values_list("action", flat=True))
    assert actions == [Action.ACKNOWLEDGE, Action.STATUS_CHANGE, Action.STATUS_CHANGE]
    assert post.events.order_by("id").last().note == "Un serveur de plus."  # type: ignore[union-attr]
    audited = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"community.acknowledged", "community.status_changed"} <= audited


def test_counter_cannot_set_status_or_acknowledge(post: Post, counter: User) -> None:
    before = counts()
    for call in (
        lambda: services.set_status(post, member(counter), status="resolved"),
        lambda: services.acknowledge(post, member(counter)),
    ):
        with pytest.raises(ServiceError) as exc:
            call()
        assert exc.value.code == "forbidden"
        assert exc.value.status == 403
    assert counts() == before


def test_unknown_status_refused(post: Post, owner: User) -> None:
    with pytest.raises(ServiceError) as exc:
        services.set_status(post, member(owner), status="deleted")
    assert (exc.value.code, exc.value.field) == ("unknown_status", "status")


def test_link_customer_and_tag(post: Post, counter: User, org: Organization) -> None:
    record = CustomerFactory(organization=org)
    services.link_customer(post, member(counter), record)
    services.tag_themes(post, member(counter), ["waiting", " welcome ", "waiting"])
    post.refresh_from_db()
    assert post.linked_customer == record
    assert post.themes == ["waiting", "welcome"]
    with pytest.raises(ServiceError) as exc:
        services.tag_themes(post, member(counter), [""])
    assert exc.value.field == "themes"
    # Only the organization's own themes: anything else is refused, nothing written.
    with pytest.raises(ServiceError) as exc:
        services.tag_themes(post, member(counter), ["waiting", "parking"])
    assert (exc.value.code, exc.value.field) == ("unknown_theme", "themes")
    assert "parking" in exc.value.message
    post.refresh_from_db()
    assert post.themes == ["waiting", "welcome"]
    assert post.events.filter(action=Action.TAG).count() == 1
    assert post.events.filter(action=Action.LINK_CUSTOMER).count() == 1


def test_a_theme_that_left_the_list_may_stay_on_a_post(post: Post, owner: User) -> None:
    services.tag_themes(post, member(owner), ["waiting", "price"])
    services.update_settings(member(owner), themes=[("Attente", "attente")])
    # The staff page sends back the themes already on the post: they are kept...
    services.tag_themes(post, member(owner), ["waiting", "Attente"])
    post.refresh_from_db()
    assert post.themes == ["waiting", "Attente"]
    # ...but one the post had dropped cannot come back while it is off the list.
    with pytest.raises(ServiceError) as exc:
        services.tag_themes(post, member(owner), ["waiting", "price"])
    assert exc.value.code == "unknown_theme"


# --------------------------------------------------------------------------- moderation


def test_counter_cannot_hide(post: Post, counter: User) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.hide_post(
            post, member(counter), reason=HideReason.SPAM_ADVERTISING, passage=post.text[:12]
        )
    assert exc.value.code == "forbidden"
    assert exc.value.status == 403
    assert counts() == before
    post.refresh_from_db()
    assert not post.hidden


@pytest.mark.parametrize("reason", ["negative", "", None, "off_topic", "SPAM", "criticism"])
def test_unknown_reason_refused(post: Post, manager: User, reason: Any) -> None:
    before = counts()
    with pytest.raises(ServiceError) as exc:
        services.hide_post(post, member(manager), reason=reason)
    assert (exc.value.code, exc.value.field) == ("unknown_reason", "reason")
    assert counts() == before


def test_negative_is_not_a_reason() -> None:
    assert set(HideReason.values) == {
        "insult_harassment",
        "hate",
        "spam_advertising",
        "personal_data",
        "illegal",
    }


def test_hide_appeal_upheld_restores_the_same_text(
    post: Post, customer: Customer, manager: User, owner: User
) -> None:
    text = post.text
    services.hide_post(
        post,
        member(manager),
        reason=HideReason.INSULT_HARASSMENT,
        note="Propos injurieux",
        passage=post.text[:12],
    )
    post.refresh_from_db()
    assert post.hidden
    assert Post.objects.get(pk=post.pk).text == text  # hidden, not deleted
    with pytest.raises(ServiceError) as exc:
        services.hide_post(post, member(manager), reason=HideReason.HATE, passage=post.text[:12])
    assert exc.value.code == "already_hidden"
    with pytest.raises(ServiceError) as exc:
        services.edit_post(post, customer, text="other")
    assert exc.value.code == "post_hidden"

    item = services.appeal(post, customer, text="Ce n'était pas une insulte.")
    with pytest.raises(ServiceError) as exc:
        services.appeal(post, customer, text="encore")
    assert exc.value.code == "already_appealed"
    with pytest.raises(ServiceError) as exc:
        services.restore_post(post, member(manager))
    assert exc.value.code == "appeal_pending"
    with pytest.raises(ServiceError) as exc:
        services.decide_appeal(item, member(manager), upheld=True)
    assert exc.value.code == "forbidden"

    services.decide_appeal(item, member(owner), upheld=True, note="Vous avez raison.")
    post.refresh_from_db()
    assert not post.hidden
    assert post.text == text
    with pytest.raises(ServiceError) as exc:
        services.decide_appeal(item, member(owner), upheld=False)
    assert exc.value.code == "already_decided"

    actions = list(post.events.order_by("id").values_list("action", flat=True))
    assert actions == [Action.HIDE, Action.APPEAL, Action.APPEAL_UPHELD]
    audited = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    for action in ("community.post_hidden", "community.appealed", "community.appeal_decided"):
        assert action in audited
    hide = post.events.get(action=Action.HIDE)
    assert (hide.reason, hide.actor_role, hide.actor_user) == (
        "insult_harassment",
        "manager",
        manager,
    )
    summary = queries.public_summary()
    with translation.override("en"):
        assert summary.text() == "0 of 1 post hidden; 1 appeal, upheld"


def test_rejected_appeal_keeps_hidden_and_only_author_appeals(
    post: Post, customer: Customer, manager: User, owner: User, org: Organization
) -> None:
    services.hide_post(
        post, member(manager), reason=HideReason.SPAM_ADVERTISING, passage=post.text[:12]
    )
    with pytest.raises(ServiceError) as exc:
        services.appeal(post, CustomerFactory(organization=org))
    assert exc.value.code == "not_author"
    item = services.appeal(post, customer)
    services.decide_appeal(
        item,
        member(owner),
        upheld=False,
        note="Le texte enfreint la règle citée, nous le laissons masqué.",
    )
    post.refresh_from_db()
    assert post.hidden
    with pytest.raises(ServiceError) as exc:
        services.appeal(post, customer)
    assert exc.value.code == "already_appealed"
    with translation.override("en"):
        assert (
            queries.public_summary().text()
            == "1 of 1 post hidden: 1 spam (including 1 criticism hidden); 1 appeal, rejected"
        )


def test_appeal_needs_a_hidden_post(post: Post, customer: Customer) -> None:
    with pytest.raises(ServiceError) as exc:
        services.appeal(post, customer)
    assert exc.value.code == "not_hidden"


def test_restore_by_manager(post: Post, manager: User, counter: User) -> None:
    services.hide_post(
        post, member(manager), reason=HideReason.PERSONAL_DATA, passage=post.text[:12]
    )
    with pytest.raises(ServiceError) as exc:
        services.restore_post(post, member(counter))
    assert exc.value.code == "forbidden"
    services.restore_post(post, member(manager), note="Erreur de notre part")
    post.refresh_from_db()
    assert not post.hidden


def test_public_summary_wording(tenant: Organization, manager: User, owner: User) -> None:
    posts = [
        services.create_post(
            CustomerFactory(organization=tenant), kind="review", text=f"Post {i}", display_name="A"
        )
        for i in range(5)
    ]
    m = member(manager)
    services.hide_post(posts[0], m, reason=HideReason.SPAM_ADVERTISING, passage=posts[0].text[:12])
    services.hide_post(posts[1], m, reason=HideReason.SPAM_ADVERTISING, passage=posts[1].text[:12])
    services.hide_post(posts[2], m, reason=HideReason.INSULT_HARASSMENT, passage=posts[2].text[:12])
    services.hide_post(posts[3], m, reason=HideReason.HATE, passage=posts[3].text[:12])
    item = services.appeal(posts[3], posts[3].author)  # type: ignore[arg-type]
    services.decide_appeal(item, member(owner), upheld=True)
    summary = queries.public_summary()
    with translation.override("en"):
        assert summary.text() == "3 of 5 posts hidden: 2 spam, 1 insult; 1 appeal, upheld"
    with translation.override("fr"):
        assert summary.text() == (
            "3 messages masqués sur 5 : 2 spam, 1 insulte ; 1 contestation, acceptée"
        )
    assert summary.by_reason == {"spam_advertising": 2, "insult_harassment": 1}
    # French agrees with the number hidden, English with the number of posts.
    services.restore_post(posts[0], m)
    services.restore_post(posts[1], m)
    with translation.override("fr"):
        assert queries.public_summary().text().startswith("1 message masqué sur 5 : 1 insulte ;")
    with translation.override("en"):
        assert queries.public_summary().text().startswith("1 of 5 posts hidden: 1 insult;")


# --------------------------------------------------------------------------- erasure


def test_erasure_anonymises_author_not_replies(
    post: Post, customer: Customer, manager: User
) -> None:
    services.reply(post, member(manager), text="Merci Marie, nous corrigeons.")
    customer_services.record_consent(
        customer, Purpose.COMMUNITY, True, source="counter", actor=Actor.system()
    )
    services.subscribe(post, customer)
    portal.erase_customer(customer, actor=Actor.customer(), reason="self")
    post.refresh_from_db()
    assert post.author is None
    assert post.display_name == ANONYMOUS
    # The name quoted in a reply is replaced in the text's language, and the redaction logged.
    assert post.replies.get().text == "Merci un client, nous corrigeons."
    assert post.events.filter(action="redact").count() == 1
    assert post.replies.get().author == manager
    assert services.subscribers(post) == []
    with pytest.raises(ServiceError):
        services.edit_post(post, customer, text="after erasure")


def test_posts_are_in_the_customers_data_export(post: Post, customer: Customer) -> None:
    import io
    import json
    import zipfile

    services.edit_post(post, customer, text="Deuxième version")
    with zipfile.ZipFile(io.BytesIO(portal.export_zip(customer))) as archive:
        data = json.loads(archive.read("community.json"))
    assert [v["text"] for v in data["posts"][0]["versions"]] == [
        "Le service était vraiment lent, je suis déçu.",
        "Deuxième version",
    ]


def test_answers_and_withdrawals_are_in_the_customers_data_export(
    post: Post, customer: Customer
) -> None:
    import io
    import json
    import zipfile

    services.customer_reply(post, customer, text="Précision : c'était samedi.", display_name="M")
    services.withdraw_post(post, customer)
    with zipfile.ZipFile(io.BytesIO(portal.export_zip(customer))) as archive:
        data = json.loads(archive.read("community.json"))
    assert data["answers"][0]["text"] == "Précision : c'était samedi."
    assert data["posts"][0]["withdrawn_at"]
    # Withdrawn, the text is still the author's: it is in their export.
    assert data["posts"][0]["versions"][0]["text"].startswith("Le service")
