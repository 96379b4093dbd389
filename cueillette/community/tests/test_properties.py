"""Random sequences of posts, edits, hides, appeals and decisions: the log only grows, nothing
disappears, the public summary equals a recount of the log, ``Post.hidden`` equals the log."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cueillette.accounts.models import Membership, User
from cueillette.community import queries, services
from cueillette.community.models import (
    Action,
    Appeal,
    HideReason,
    ModerationEvent,
    Post,
    PostVersion,
    Reply,
)
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "manager", "counter")
REASONS = [*HideReason.values, "negative", "rude"]

hide_op = st.tuples(
    st.just("hide"),
    st.integers(0, 9),
    st.sampled_from(REASONS),
    st.sampled_from(("owner", "manager", "manager", "counter")),
)
appeal_op = st.tuples(st.just("appeal"), st.integers(0, 9), st.integers(0, 2), st.booleans())
decide_op = st.tuples(
    st.just("decide"),
    st.integers(0, 9),
    st.booleans(),
    st.sampled_from(("owner", "owner", "owner", "manager", "counter")),
)
# Hides, appeals and decisions weigh more: they are what the properties are about.
# A whole moderation round (hide, the author appeals, the owner decides) so that appeals and
# decisions are frequent; each step still goes through the services and may be refused.
flow_op = st.tuples(
    st.just("flow"), st.integers(0, 9), st.sampled_from(HideReason.values), st.booleans()
)
op = st.one_of(
    flow_op,
    hide_op,
    appeal_op,
    decide_op,
    hide_op,
    appeal_op,
    decide_op,
    st.tuples(st.just("post"), st.integers(0, 2), st.text(min_size=0, max_size=30)),
    st.tuples(st.just("edit"), st.integers(0, 9), st.integers(0, 2), st.text(max_size=30)),
    st.tuples(st.just("restore"), st.integers(0, 9), st.sampled_from(ROLES)),
    st.tuples(st.just("reply"), st.integers(0, 9), st.sampled_from(ROLES)),
)

REJECTION = "Le texte enfreint la règle citée, nous le laissons masqué."


def recount() -> tuple[int, Counter[str], int, int, int]:
    """An independent fold of the log: hidden posts by reason, appeals and their outcomes."""
    state: dict[int, str] = {}
    appeals = upheld = rejected = 0
    for row in ModerationEvent.objects.order_by("id"):
        if row.action == Action.HIDE:
            state[row.post_id] = row.reason
        elif row.action in (Action.RESTORE, Action.APPEAL_UPHELD):
            state[row.post_id] = ""
        if row.action == Action.APPEAL:
            appeals += 1
        elif row.action == Action.APPEAL_UPHELD:
            upheld += 1
        elif row.action == Action.APPEAL_REJECTED:
            rejected += 1
    reasons = Counter(r for r in state.values() if r)
    return sum(reasons.values()), reasons, appeals, upheld, rejected


def snapshot() -> dict[str, set[tuple[Any, ...]]]:
    return {
        "events": set(
            ModerationEvent.objects.values_list("id", "post_id", "action", "reason", "note")
        ),
        "versions": set(PostVersion.objects.values_list("id", "post_id", "number", "text")),
        "posts": set(Post.objects.values_list("id", flat=True)),
        "replies": set(Reply.objects.values_list("id", "text")),
        "appeals": set(Appeal.objects.values_list("id", "post_id")),
        "audit": set(AuditEvent.objects.values_list("id", "action")),
    }


@pytest.fixture
def staff(tenant: Organization, owner: User, manager: User, counter: User) -> dict[str, Membership]:
    return {m.role: m for m in Membership.objects.all()}


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=5, max_size=30))
def test_log_only_grows_and_summary_matches(
    tenant: Organization, staff: dict[str, Membership], ops: list[tuple[Any, ...]]
) -> None:
    with transaction.atomic():
        customers = [CustomerFactory(organization=tenant) for _ in range(3)]
        expected_hidden: dict[int, bool] = {}
        for index, who in enumerate(customers):
            first = services.create_post(who, kind="review", text=f"Avis {index}", display_name="Y")
            expected_hidden[first.pk] = False
        before = snapshot()
        for item in ops:
            run(item, customers, staff, expected_hidden)
            after = snapshot()
            for name, rows in before.items():
                assert rows <= after[name], f"{name} lost rows after {item}"
            before = after

            hidden, reasons, appeals, upheld, rejected = recount()
            summary = queries.public_summary()
            assert summary.posts == Post.objects.count()
            assert summary.hidden == hidden
            assert summary.by_reason == dict(reasons)
            assert (summary.appeals, summary.upheld, summary.rejected) == (
                appeals,
                upheld,
                rejected,
            )
            assert summary.pending == Appeal.objects.filter(decision="pending").count()
            by_log = queries.visibility_from_log()
            for post in Post.objects.all():
                assert post.hidden == bool(by_log.get(post.pk)), f"post {post.pk} after {item}"
                assert post.hidden == expected_hidden.get(post.pk, False)
                # The shown text is always the last version: nothing is ever blanked.
                assert post.text == post.versions.order_by("-number").first().text  # type: ignore[union-attr]
            assert set(reasons) <= set(HideReason.values)
        transaction.set_rollback(True)


def run(
    item: tuple[Any, ...],
    customers: list[Any],
    staff: dict[str, Membership],
    expected_hidden: dict[int, bool],
) -> None:
    posts = list(Post.objects.order_by("id"))
    appeals = list(Appeal.objects.order_by("id"))
    kind = item[0]
    try:
        if kind == "post":
            post = services.create_post(
                customers[item[1]], kind="complaint", text=item[2], display_name="X"
            )
            expected_hidden[post.pk] = False
        elif kind == "edit" and posts:
            services.edit_post(posts[item[1] % len(posts)], customers[item[2]], text=item[3])
        elif kind == "hide" and posts:
            post = posts[item[1] % len(posts)]
            services.hide_post(post, staff[item[3]], reason=item[2], passage=post.text[:12])
            assert item[2] in HideReason.values and item[3] != "counter"
            expected_hidden[post.pk] = True
        elif kind == "restore" and posts:
            post = posts[item[1] % len(posts)]
            services.restore_post(post, staff[item[2]])
            expected_hidden[post.pk] = False
        elif kind == "appeal" and posts:
            # Mostly the author of a hidden post (the interesting case), sometimes anyone.
            pool = [p for p in posts if p.hidden] or posts
            post = pool[item[1] % len(pool)]
            services.appeal(post, post.author if item[3] else customers[item[2]])
        elif kind == "decide" and appeals:
            appeal = appeals[item[1] % len(appeals)]
            services.decide_appeal(appeal, staff[item[3]], upheld=item[2], note=REJECTION)
            assert item[3] == "owner"
            if item[2]:
                expected_hidden[appeal.post_id] = False
        elif kind == "flow" and posts:
            post = posts[item[1] % len(posts)]
            if not post.hidden:
                services.hide_post(post, staff["manager"], reason=item[2], passage=post.text[:12])
                expected_hidden[post.pk] = True
            if post.author is not None:
                appeal = services.appeal(post, post.author)
                services.decide_appeal(appeal, staff["owner"], upheld=item[3], note=REJECTION)
                if item[3]:
                    expected_hidden[post.pk] = False
        elif kind == "reply" and posts:
            services.reply(posts[item[1] % len(posts)], staff[item[2]], text="Merci")
        else:
            return
        event(f"{kind} done")
    except ServiceError as exc:
        event(f"{kind} refused: {exc.code}")
