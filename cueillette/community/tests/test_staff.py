# ruff: noqa: E501  (tables of cases read best one per line)
"""The staff pages of the community page: inbox, thread and its acts, settings; roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.accounts.models import User
from cueillette.community import queries, services
from cueillette.community.models import (
    Action,
    Appeal,
    CommunitySettings,
    HideReason,
    ModerationEvent,
    Post,
    PostVersion,
)
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import Customer

from .staff_helpers import counts, make_post, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(tenant: Organization, customer: Customer) -> Post:
    return make_post(customer)


@pytest.fixture
def hidden_post(tenant: Organization, customer: Customer, manager: User) -> Post:
    item = make_post(customer, kind="review", text="Achetez mes montres sur example.com !")
    services.hide_post(
        item, member(manager), reason=HideReason.SPAM_ADVERTISING, passage=item.text[:12]
    )
    item.refresh_from_db()
    return item


def url(name: str, **kwargs: Any) -> str:
    return reverse(f"community:{name}", kwargs=kwargs or None)


# --------------------------------------------------------------------------- roles

# (url name, needs a post / appeal, form data, roles allowed)
ACTS: list[tuple[str, dict[str, str], frozenset[str]]] = [
    ("reply", {"text": "Merci, nous regardons."}, frozenset({"owner", "manager", "counter"})),
    ("themes", {"themes": "waiting"}, frozenset({"owner", "manager", "counter"})),
    ("acknowledge", {"note": "Nous étions en sous-effectif."}, frozenset({"owner", "manager"})),
    ("status", {"status": "resolved", "note": "Un caissier de plus."}, frozenset({"owner", "manager"})),
    ("hide", {"reason": "insult_harassment", "confirmed": "1", "passage": "vraiment lent"}, frozenset({"owner", "manager"})),
]  # fmt: skip


@pytest.mark.parametrize("role", ["owner", "manager", "counter"])
@pytest.mark.parametrize(("name", "data", "allowed"), ACTS)
def test_each_act_per_role(
    role: str,
    name: str,
    data: dict[str, str],
    allowed: frozenset[str],
    post: Post,
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
) -> None:
    user = request.getfixturevalue(role)
    before = counts()
    response = client_for(user).post(url(name, pk=post.pk), data)
    if role in allowed:
        assert response.status_code == 302, response.content[:500]
        assert counts() != before
    else:
        assert response.status_code == 403
        assert counts() == before


@pytest.mark.parametrize(
    ("role", "allowed"), [("owner", True), ("manager", False), ("counter", False)]
)
def test_only_the_owner_decides_appeals(
    role: str,
    allowed: bool,
    hidden_post: Post,
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
) -> None:
    item = services.appeal(hidden_post, hidden_post.author, text="Ce n'est pas de la pub.")  # type: ignore[arg-type]
    user = request.getfixturevalue(role)
    before = counts()
    response = client_for(user).post(url("decide_appeal", pk=item.pk), {"decision": "upheld"})
    hidden_post.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert not hidden_post.hidden
        assert hidden_post.events.last().action == Action.APPEAL_UPHELD  # type: ignore[union-attr]
    else:
        assert response.status_code == 403
        assert counts() == before
        assert hidden_post.hidden


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("manager", 200), ("counter", 403)])
@pytest.mark.parametrize("name", ["dashboard", "settings"])
def test_listening_pages_for_owner_and_manager(
    role: str,
    status: int,
    name: str,
    tenant: Organization,
    request: pytest.FixtureRequest,
    client_for: Callable[[User], Client],
) -> None:
    user = request.getfixturevalue(role)
    assert client_for(user).get(url(name)).status_code == status


def test_counter_sees_inbox_and_thread_without_moderation(
    post: Post, counter_client: Client, customer: Customer
) -> None:
    page = counter_client.get(url("inbox"))
    assert page.status_code == 200
    assert f'data-post="{post.pk}"' in page.content.decode()
    thread = counter_client.get(url("thread", pk=post.pk)).content.decode()
    assert 'id="reply-form"' in thread
    assert 'id="hide-form"' not in thread
    assert 'id="ack-form"' not in thread
    assert counter_client.post(url("restore", pk=post.pk)).status_code == 403
    # The author's record is named, not numbered.
    author = re.search(r'<a href="([^"]+)" id="author-record">([^<]+)</a>', thread)
    assert author is not None
    assert author.group(1) == f"/app/customers/{customer.pk}/"
    assert author.group(2) == escape(customer.full_name)


def test_anonymous_is_sent_to_login(post: Post, client: Client) -> None:
    response = client.get(url("thread", pk=post.pk))
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]


def test_another_organizations_post_is_404(
    other_org: Organization, post: Post, client_for: Callable[[User], Client]
) -> None:
    from cueillette.core import tenancy
    from cueillette.core.tests.factories import MembershipFactory, UserFactory

    stranger = UserFactory()
    with tenancy.tenant_context(other_org):
        MembershipFactory(organization=other_org, user=stranger, role="owner")
    c = client_for(stranger)
    assert c.get(url("thread", pk=post.pk)).status_code == 404
    before = counts()
    assert c.post(url("hide", pk=post.pk), {"reason": "hate"}).status_code == 404
    assert counts() == before


# --------------------------------------------------------------------------- every act is logged


def test_every_act_appends_an_event_and_an_audit_row(
    post: Post, owner_client: Client, tenant: Organization
) -> None:
    record = CustomerFactory(organization=tenant, first_name="Jeanne", last_name="Client")
    acts = [
        ("reply", {"text": "Désolés, nous corrigeons."}, Action.REPLY, "community.replied"),
        ("acknowledge", {"note": "Notre faute."}, Action.ACKNOWLEDGE, "community.acknowledged"),
        ("status", {"status": "resolved", "note": "Réglé."}, Action.STATUS_CHANGE, "community.status_changed"),
        ("link", {"customer": str(record.pk)}, Action.LINK_CUSTOMER, "community.customer_linked"),
        ("themes", {"themes": ["waiting", "staff"]}, Action.TAG, "community.tagged"),
        ("hide", {"reason": "hate", "note": "Propos haineux.", "confirmed": "1", "passage": "je suis déçu"}, Action.HIDE, "community.post_hidden"),
        ("restore", {"note": "Erreur de notre part."}, Action.RESTORE, "community.post_restored"),
    ]  # fmt: skip
    for name, data, action, audit_action in acts:
        events = ModerationEvent.objects.filter(post=post).count()
        audits = AuditEvent.objects.filter(action=audit_action).count()
        response = owner_client.post(url(name, pk=post.pk), data)
        assert response.status_code == 302, (name, response.content[:400])
        assert ModerationEvent.objects.filter(post=post).count() > events, name
        assert ModerationEvent.objects.filter(post=post).order_by("id").last().action in {  # type: ignore[union-attr]
            action,
            Action.STATUS_CHANGE,
        }
        assert ModerationEvent.objects.filter(post=post, action=action).exists(), name
        assert AuditEvent.objects.filter(action=audit_action).count() == audits + 1, name
    post.refresh_from_db()
    assert post.acknowledged and post.status == "resolved" and not post.hidden
    assert post.linked_customer == record
    assert post.themes == ["waiting", "staff"]
    # The history is on the thread page, in order.
    page = owner_client.get(url("thread", pk=post.pk)).content.decode()
    positions = [page.index(f'data-action="{a}"') for _n, _d, a, _x in acts]
    assert positions == sorted(positions)


# --------------------------------------------------------------------------- hide: listed reasons only


def test_hide_reasons_offered_are_exactly_the_listed_ones(post: Post, owner_client: Client) -> None:
    page = owner_client.get(url("thread", pk=post.pk)).content.decode()
    start = page.index('id="hide-reason"')
    select = page[start : page.index("</select>", start)]
    import re

    offered = [v for v in re.findall(r'value="([^"]*)"', select) if v]
    assert offered == list(HideReason.values)
    assert "delete" not in page.lower() or "deleted afterwards" in page.lower()


@pytest.mark.parametrize("reason", ["negative", "rude", "", "SPAM_ADVERTISING", "spam"])
def test_hide_with_an_unlisted_reason_is_refused_and_writes_nothing(
    reason: str, post: Post, owner_client: Client
) -> None:
    before = counts()
    response = owner_client.post(
        url("hide", pk=post.pk),
        {"reason": reason, "confirmed": "1", "passage": "vraiment lent"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="hide-error"' in body
    assert 'data-field="reason"' in body
    assert counts() == before
    post.refresh_from_db()
    assert not post.hidden


def test_hidden_post_keeps_its_text_and_can_be_shown_again(
    hidden_post: Post, manager_client: Client
) -> None:
    text = hidden_post.text
    page = manager_client.get(url("thread", pk=hidden_post.pk)).content.decode()
    assert 'id="hidden-notice"' in page and 'id="restore-form"' in page
    assert manager_client.post(url("restore", pk=hidden_post.pk)).status_code == 302
    hidden_post.refresh_from_db()
    assert not hidden_post.hidden and hidden_post.text == text


def test_restore_waits_for_the_owner_when_appealed(
    hidden_post: Post, manager_client: Client
) -> None:
    services.appeal(hidden_post, hidden_post.author)  # type: ignore[arg-type]
    page = manager_client.get(url("thread", pk=hidden_post.pk)).content.decode()
    assert 'id="restore-form"' not in page
    before = counts()
    response = manager_client.post(url("restore", pk=hidden_post.pk))
    assert response.status_code == 409
    assert counts() == before


def test_owner_rejects_an_appeal(hidden_post: Post, owner_client: Client) -> None:
    item = services.appeal(hidden_post, hidden_post.author)  # type: ignore[arg-type]
    response = owner_client.post(
        url("decide_appeal", pk=item.pk),
        {"decision": "rejected", "note": "Publicité pour un autre site."},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    hidden_post.refresh_from_db()
    assert item.decision == "rejected" and hidden_post.hidden
    # A second decision is refused.
    before = counts()
    again = owner_client.post(url("decide_appeal", pk=item.pk), {"decision": "upheld"})
    assert again.status_code == 409 and counts() == before
    bad = owner_client.post(url("decide_appeal", pk=item.pk), {"decision": "maybe"})
    assert bad.status_code == 400 and counts() == before


# --------------------------------------------------------------------------- bad input


def test_empty_reply_and_bad_status_are_refused(post: Post, owner_client: Client) -> None:
    before = counts()
    empty = owner_client.post(url("reply", pk=post.pk), {"text": "   "})
    assert empty.status_code == 400 and 'id="reply-error"' in empty.content.decode()
    bad = owner_client.post(url("status", pk=post.pk), {"status": "deleted"})
    assert bad.status_code == 400 and 'id="status-error"' in bad.content.decode()
    long = owner_client.post(url("reply", pk=post.pk), {"text": "x" * 5001})
    assert long.status_code == 400
    assert counts() == before


def test_link_search_and_link(post: Post, owner_client: Client, tenant: Organization) -> None:
    record = CustomerFactory(organization=tenant, first_name="Jeanne", last_name="Zébulon")
    page = owner_client.get(url("thread", pk=post.pk), {"q": "Zébulon"}).content.decode()
    assert f'name="customer" value="{record.pk}"' in page
    assert owner_client.post(url("link", pk=post.pk), {"customer": record.pk}).status_code == 302
    post.refresh_from_db()
    assert post.linked_customer_id == record.pk
    assert owner_client.post(url("link", pk=post.pk), {"customer": ""}).status_code == 302
    post.refresh_from_db()
    assert post.linked_customer_id is None
    before = counts()
    assert owner_client.post(url("link", pk=post.pk), {"customer": "abc"}).status_code == 400
    assert owner_client.post(url("link", pk=post.pk), {"customer": "999999"}).status_code == 404
    assert counts() == before


# --------------------------------------------------------------------------- inbox filters


def test_inbox_filters(
    tenant: Organization, customer: Customer, owner: User, owner_client: Client
) -> None:
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    old = make_post(customer, text="Pourquoi fermé le lundi ?", kind="question", rating=None,
                    now=now - dt.timedelta(days=9))  # fmt: skip
    newer = make_post(customer, text="Nul, horrible, jamais plus.", now=now - dt.timedelta(days=2))
    answered = make_post(customer, kind="review", text="Très bon accueil, merci !", rating=5,
                         now=now - dt.timedelta(days=5))  # fmt: skip
    services.reply(answered, member(owner), text="Merci à vous !")
    spam = make_post(customer, kind="review", text="Promo sur example.com", rating=5)
    services.hide_post(spam, member(owner), reason="spam_advertising", passage=spam.text[:12])
    services.appeal(spam, customer)

    def ids(params: dict[str, str]) -> list[int]:
        page = owner_client.get(url("inbox"), params).content.decode()
        import re

        return [int(x) for x in re.findall(r'<li class="inbox-item[^"]*" data-post="(\d+)"', page)]

    assert ids({"show": "unanswered"}) == [old.pk, newer.pk]  # oldest first, hidden left out
    assert ids({})[0] == spam.pk  # newest first otherwise
    assert set(ids({})) == {old.pk, newer.pk, answered.pk, spam.pk}
    assert ids({"show": "negative"}) == [newer.pk]
    assert ids({"show": "hidden"}) == [spam.pk]
    assert ids({"show": "appeals"}) == [spam.pk]
    assert ids({"kind": "question"}) == [old.pk]
    assert ids({"status": "open", "kind": "review"}) == [spam.pk, answered.pk]
    assert old.pk in ids({"theme": "opening_hours"})
    assert ids({"theme": "opening_hours", "show": "negative"}) == []
    assert answered.pk in ids({"show": "look"}) or ids({"show": "look"}) == [
        p.pk for p in Post.objects.filter(needs_human_look=True).order_by("-created_at")
    ]


def test_empty_inbox_says_what_to_do(tenant: Organization, owner_client: Client) -> None:
    page = owner_client.get(url("inbox"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No posts yet" in page


# --------------------------------------------------------------------------- settings


def test_settings_edit_the_theme_list_and_digest(
    tenant: Organization, owner_client: Client, customer: Customer
) -> None:
    data = {
        "rows": "3",
        "theme-0-name": "Terrasse",
        "theme-0-keywords": "terrasse, soleil; parasol",
        "theme-1-name": "Café",
        "theme-1-keywords": "café\nexpresso",
        "theme-2-name": "",
        "theme-2-keywords": "",
        "action": "save",
    }
    response = owner_client.post(url("settings"), data)
    assert response.status_code == 302
    current = CommunitySettings.objects.get()
    assert current.themes == {
        "Terrasse": ["terrasse", "soleil", "parasol"],
        "Café": ["café", "expresso"],
    }
    assert current.digest_enabled is False  # the box was not ticked
    assert AuditEvent.objects.filter(action="community.settings_updated").count() == 1
    # New posts use the organization's list.
    item = make_post(customer, kind="review", text="La terrasse au soleil, un bonheur.", rating=5)
    assert item.detected_themes == ["Terrasse"]
    # Rename one theme, remove the other.
    data.update({"theme-0-name": "Extérieur", "theme-1-name": "", "theme-1-keywords": "",
                 "digest_enabled": "1"})  # fmt: skip
    assert owner_client.post(url("settings"), data).status_code == 302
    current.refresh_from_db()
    assert list(current.themes) == ["Extérieur"] and current.digest_enabled


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ({"theme-0-name": "A", "theme-0-keywords": "a", "theme-1-name": "a", "theme-1-keywords": "b"}, "theme-1-name"),
        ({"theme-0-name": "Prix", "theme-0-keywords": " , "}, "theme-0-keywords"),
        ({"theme-0-name": "", "theme-0-keywords": "prix"}, "theme-0-name"),
        ({"theme-0-name": "x" * 41, "theme-0-keywords": "prix"}, "theme-0-name"),
        ({"theme-0-name": "Prix", "theme-0-keywords": "p" * 61}, "theme-0-keywords"),
        ({"theme-0-name": "", "theme-0-keywords": ""}, "themes"),
    ],
)  # fmt: skip
def test_settings_errors_are_clear_and_write_nothing(
    rows: dict[str, str], field: str, tenant: Organization, owner_client: Client
) -> None:
    before = AuditEvent.objects.count()
    data = {"rows": "2", "action": "save", **rows}
    response = owner_client.post(url("settings"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'data-field="{field}"' in body
    if field != "themes":
        assert f'id="{field}"' in body
        start = body.index(f'id="{field}"')
        assert 'aria-invalid="true"' in body[start : start + 400]
    assert AuditEvent.objects.count() == before
    assert not (CommunitySettings.objects.first() or CommunitySettings()).themes


def test_reset_and_reanalyse(
    tenant: Organization, owner_client: Client, customer: Customer, monkeypatch: Any
) -> None:
    item = make_post(customer, kind="review", text="La terrasse au soleil.", rating=5)
    assert "Terrasse" not in item.detected_themes
    owner_client.post(url("settings"), {"rows": "1", "action": "save",
                      "theme-0-name": "Terrasse", "theme-0-keywords": "terrasse"})  # fmt: skip
    assert owner_client.post(url("reanalyse")).status_code == 302
    item.refresh_from_db()
    assert item.detected_themes == ["Terrasse"]
    assert AuditEvent.objects.filter(action="community.reanalysed").count() == 1
    # Beyond the inline bound, the work goes to a task (run at once by the test backend).
    monkeypatch.setattr(services, "REANALYSE_INLINE_MAX", 0)
    owner_client.post(url("settings"), {"rows": "0", "action": "reset"})
    assert CommunitySettings.objects.get().themes == {}
    assert owner_client.post(url("reanalyse")).status_code == 302
    item.refresh_from_db()
    assert "Terrasse" not in item.detected_themes
    assert AuditEvent.objects.filter(action="community.reanalysed", data__queued=True).exists()
    # Analysis never moderates.
    assert not ModerationEvent.objects.exists()


# --------------------------------------------------------------------------- no delete


def test_no_staff_route_deletes() -> None:
    from cueillette.community import urls

    for pattern in urls.urlpatterns:
        assert "delete" not in str(pattern.pattern) and "delete" not in (pattern.name or "")


# --------------------------------------------------------------------------- random sequences


@pytest.fixture
def staff_clients(
    tenant: Organization, owner: User, manager: User, counter: User
) -> dict[str, Client]:
    clients = {}
    for role, user in (("owner", owner), ("manager", manager), ("counter", counter)):
        c = Client()
        c.force_login(user)
        clients[role] = c
    return clients


WORDS = "abcdeéèàç !?<>&'\""
ROLES = st.sampled_from(["owner", "manager", "manager", "counter"])
OPS = st.one_of(
    st.tuples(st.just("post"), st.integers(0, 2), st.text(alphabet=WORDS, max_size=20)),
    st.tuples(st.just("edit"), st.integers(0, 9), st.text(alphabet=WORDS, max_size=20)),
    st.tuples(st.just("hide"), st.integers(0, 9), ROLES, st.sampled_from([*HideReason.values, "negative"])),
    st.tuples(st.just("restore"), st.integers(0, 9), ROLES),
    st.tuples(st.just("appeal"), st.integers(0, 9)),
    st.tuples(st.just("decide"), st.integers(0, 9), st.sampled_from(["owner", "owner", "manager"]), st.booleans()),
    st.tuples(st.just("reply"), st.integers(0, 9), ROLES),
)  # fmt: skip


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=3, max_size=12))
def test_random_sequences_through_the_pages(
    tenant: Organization, staff_clients: dict[str, Client], ops: list[tuple[Any, ...]]
) -> None:
    """Staff acts through the pages, customer acts through the services: the log only grows,
    the public summary equals a recount of the log, ``hidden`` equals the log's verdict and a
    hidden post's text never changes."""
    with transaction.atomic():
        authors = [CustomerFactory(organization=tenant) for _ in range(3)]
        for who in authors:
            make_post(who, text="Premier avis", kind="review", rating=4)
        seen_events: list[tuple[Any, ...]] = list(
            ModerationEvent.objects.order_by("id").values_list("id", "action", "reason", "note")
        )
        texts_when_hidden: dict[int, str] = {}
        for op in ops:
            posts = list(Post.objects.order_by("id"))
            post = posts[op[1] % len(posts)] if op[0] != "post" else None
            kind = op[0]
            if kind == "post":
                make_post(authors[op[1]], text=op[2].strip() or "Texte", kind="complaint")
            elif kind == "edit" and post is not None and post.author is not None:
                try:
                    services.edit_post(post, post.author, text=op[2].strip() or "Texte modifié")
                except Exception as exc:  # hidden posts cannot be edited
                    assert getattr(exc, "code", "") in {"post_hidden", "empty"}
            elif kind == "hide" and post is not None:
                r = staff_clients[op[2]].post(
                    url("hide", pk=post.pk),
                    {"reason": op[3], "confirmed": "1", "passage": post.text[:12]},
                )
                assert r.status_code in {302, 400, 403, 409}
                if r.status_code == 302:
                    assert op[3] in HideReason.values and op[2] != "counter"
            elif kind == "restore" and post is not None:
                r = staff_clients[op[2]].post(url("restore", pk=post.pk))
                assert r.status_code in {302, 400, 403, 409}
            elif kind == "appeal" and post is not None and post.author is not None:
                try:
                    services.appeal(post, post.author, text="Ce n'était pas un abus.")
                except Exception as exc:
                    assert getattr(exc, "code", "") in {"not_hidden", "already_appealed"}
            elif kind == "decide":
                pending = list(Appeal.objects.filter(decision="pending").order_by("id"))
                if pending:
                    item = pending[op[1] % len(pending)]
                    decision = "upheld" if op[3] else "rejected"
                    r = staff_clients[op[2]].post(
                        url("decide_appeal", pk=item.pk),
                        {"decision": decision, "note": "Le passage cité enfreint la règle."},
                    )
                    assert r.status_code == (302 if op[2] == "owner" else 403)
            elif kind == "reply" and post is not None:
                r = staff_clients[op[2]].post(url("reply", pk=post.pk), {"text": "Merci"})
                assert r.status_code == 302

            # The log only grows: every earlier row is still there, unchanged, in order.
            now_events = list(
                ModerationEvent.objects.order_by("id").values_list("id", "action", "reason", "note")
            )
            assert now_events[: len(seen_events)] == seen_events
            seen_events = now_events
            # The public summary equals a recount of the log.
            state: dict[int, str] = {}
            appeals = upheld = rejected = 0
            for row in ModerationEvent.objects.order_by("id"):
                if row.action == Action.HIDE:
                    state[row.post_id] = row.reason
                elif row.action in (Action.RESTORE, Action.APPEAL_UPHELD):
                    state[row.post_id] = ""
                appeals += row.action == Action.APPEAL
                upheld += row.action == Action.APPEAL_UPHELD
                rejected += row.action == Action.APPEAL_REJECTED
            summary = queries.public_summary()
            assert summary.posts == Post.objects.count()
            assert summary.hidden == sum(1 for r in state.values() if r)
            assert (summary.appeals, summary.upheld, summary.rejected) == (
                appeals,
                upheld,
                rejected,
            )
            for item in Post.objects.all():
                assert item.hidden == bool(state.get(item.pk)), item.pk
                last = PostVersion.objects.filter(post=item).order_by("-number").first()
                assert last is not None and item.text == last.text
                if item.hidden:
                    # A hidden post's text does not change while it is hidden.
                    texts_when_hidden.setdefault(item.pk, item.text)
                    assert item.text == texts_when_hidden[item.pk]
                else:
                    texts_when_hidden.pop(item.pk, None)
        transaction.set_rollback(True)


# --------------------------------------------------------------------------- demo


def test_demo_history(tenant: Organization, owner: User, mailoutbox: Any) -> None:
    import datetime as dt
    import random

    from django.utils import timezone

    from cueillette.community import demo

    customers = [{"id": CustomerFactory(organization=tenant).pk} for _ in range(12)]
    with_org = [*demo.COMMON]
    demo.load(tenant, customers, random.Random(4), timezone.now())
    posts = Post.objects.all()
    assert posts.count() == len(with_org) + 2
    assert posts.filter(hidden=True).count() == 2
    assert Appeal.objects.filter(decision="pending").count() == 1
    assert posts.filter(acknowledged=True).count() == 1
    assert posts.filter(status="resolved").count() == 1
    assert posts.filter(replies__isnull=False).distinct().count() >= 8
    assert posts.filter(language="en").exists()
    assert not posts.filter(created_at__gt=timezone.now() + dt.timedelta(seconds=1)).exists()
    summary = queries.public_summary()
    assert summary.hidden == 2 and summary.pending == 1
    assert mailoutbox == []  # demo history sends no email


def _posted_settings(page: str) -> dict[str, str]:
    """The settings form as the browser would send it back unchanged."""
    data = {"action": "save"}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        data[name] = value
    for name, value in re.findall(
        r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)"', page
    ):
        data[name] = value
    for name, value in re.findall(
        r'<textarea id="[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page
    ):
        data[name] = value
    data.pop("csrfmiddlewaretoken", None)
    return {k: v.replace("&#x27;", "'").replace("&amp;", "&") for k, v in data.items()}


def test_saving_the_suggested_list_keeps_its_keys_and_a_rename_carries_the_tags(
    tenant: Organization, owner_client: Client, customer: Customer, owner: User
) -> None:
    post = make_post(customer, text="Accueil froid et attente longue.")
    services.tag_themes(post, member(owner), ["welcome", "waiting"])
    owner_client.cookies["django_language"] = "fr"
    page = owner_client.get(url("settings") + "?lang=fr").content.decode()
    assert 'value="Accueil"' in page and 'name="theme-0-key" value="welcome"' in page
    data = _posted_settings(page)
    # Add one theme in an empty row; leave the suggested ones as shown (in French).
    empty = next(k for k, v in data.items() if k.endswith("-name") and not v)
    data[empty] = "Bio et vrac"
    data[empty.replace("-name", "-keywords")] = "bio, vrac"
    assert owner_client.post(url("settings"), data).status_code == 302
    themes = CommunitySettings.objects.get().themes
    assert "welcome" in themes and "Accueil" not in themes and "Bio et vrac" in themes
    post.refresh_from_db()
    assert post.themes == ["welcome", "waiting"]
    # Rename "Accueil" (welcome): the posts tagged with it follow.
    data = _posted_settings(owner_client.get(url("settings")).content.decode())
    row = next(k for k, v in data.items() if k.endswith("-key") and v == "welcome")
    data[row.replace("-key", "-name")] = "Bienvenue"
    assert owner_client.post(url("settings"), data).status_code == 302
    themes = CommunitySettings.objects.get().themes
    assert "Bienvenue" in themes and "welcome" not in themes
    post.refresh_from_db()
    assert post.themes == ["Bienvenue", "waiting"]
    event = AuditEvent.objects.filter(action="community.settings_updated").order_by("id").last()
    assert event is not None and event.data.get("renamed") == {"welcome": "Bienvenue"}
