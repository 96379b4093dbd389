"""Reading the community page. The public moderation summary is computed from the log only."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Avg, Count, Min
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from cueillette.community.models import (
    VISIBILITY_ACTIONS,
    Action,
    Appeal,
    HideReason,
    MeToo,
    ModerationEvent,
    Post,
    PostKind,
    PostStatus,
    PostVersion,
    Reply,
)
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer

# Short public words for each reason, as in "2 spam, 1 insult".
SHORT_REASONS: dict[str, str] = {
    HideReason.INSULT_HARASSMENT: gettext_noop("insult"),
    HideReason.HATE: gettext_noop("hate"),
    HideReason.SPAM_ADVERTISING: gettext_noop("spam"),
    HideReason.PERSONAL_DATA: gettext_noop("personal data"),
    HideReason.ILLEGAL: gettext_noop("illegal"),
}


@dataclass(frozen=True)
class PublicSummary:
    posts: int
    hidden: int
    by_reason: dict[str, int] = field(default_factory=dict)  # reason of the current hiding
    appeals: int = 0
    upheld: int = 0
    rejected: int = 0
    pending: int = 0
    criticism: int = 0  # of the hidden posts: complaints or posts read as criticism

    def text(self) -> str:
        """ "3 of 412 posts hidden: 2 spam, 1 insult; 1 appeal, upheld"."""
        numbers = {"hidden": self.hidden, "posts": self.posts}
        # English agrees with the number of posts, French with the number hidden ("1 message
        # masqué sur 47"): one sentence for a single post, then plural forms by ``hidden``.
        if self.posts == 1:
            head = _("%(hidden)d of 1 post hidden") % numbers
        else:
            head = (
                ngettext(
                    "%(hidden)d of %(posts)d posts hidden",
                    "%(hidden)d of %(posts)d posts hidden",
                    self.hidden,
                )
                % numbers
            )
        if self.by_reason:
            reasons = ", ".join(
                f"{n} {_(SHORT_REASONS[r])}"
                for r, n in sorted(self.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            head = _("%(summary)s: %(reasons)s") % {"summary": head, "reasons": reasons}
        if self.criticism:
            # Counted apart: hiding criticism is what a reader most needs to be able to check.
            head = ngettext(
                "%(summary)s (including %(n)d criticism hidden)",
                "%(summary)s (including %(n)d criticisms hidden)",
                self.criticism,
            ) % {"summary": head, "n": self.criticism}
        if not self.appeals:
            return head
        appeals = ngettext("%(n)d appeal", "%(n)d appeals", self.appeals) % {"n": self.appeals}
        outcomes = []
        if self.upheld:
            outcomes.append(
                ngettext("%(n)d upheld", "%(n)d upheld", self.upheld) % {"n": self.upheld}
                if self.appeals > 1
                else _("upheld")
            )
        if self.rejected:
            outcomes.append(
                ngettext("%(n)d rejected", "%(n)d rejected", self.rejected) % {"n": self.rejected}
                if self.appeals > 1
                else _("rejected")
            )
        if self.pending:
            outcomes.append(
                ngettext("%(n)d pending", "%(n)d pending", self.pending) % {"n": self.pending}
                if self.appeals > 1
                else _("pending")
            )
        return _("%(summary)s; %(appeals)s, %(outcomes)s") % {
            "summary": head,
            "appeals": appeals,
            "outcomes": ", ".join(outcomes),
        }


def visibility_from_log() -> dict[int, str]:
    """For each post that was ever hidden: the reason it is hidden now, or "" if shown."""
    return {pk: reason for pk, (reason, _criticism) in _hidings_from_log().items()}


def _hidings_from_log() -> dict[int, tuple[str, bool]]:
    """For each post ever hidden: (reason in force or "", whether that hiding was of
    criticism). Acts on customers' answers in a thread are not the post's visibility."""
    state: dict[int, tuple[str, bool]] = {}
    events = (
        ModerationEvent.objects.filter(action__in=VISIBILITY_ACTIONS, reply__isnull=True)
        .order_by("id")
        .values_list("post_id", "action", "reason", "data")
    )
    for post_id, action, reason, data in events:
        hidden = action == Action.HIDE
        state[post_id] = (reason if hidden else "", hidden and bool((data or {}).get("criticism")))
    return state


def public_summary() -> PublicSummary:
    """What moderation did, from the append-only log (never from the cached flags)."""
    hidings = [state for state in _hidings_from_log().values() if state[0]]
    hidden_reasons = [reason for reason, _criticism in hidings]
    counts = Counter(
        ModerationEvent.objects.filter(
            action__in=[Action.APPEAL, Action.APPEAL_UPHELD, Action.APPEAL_REJECTED],
            reply__isnull=True,
        ).values_list("action", flat=True)
    )
    appeals = counts[Action.APPEAL]
    upheld = counts[Action.APPEAL_UPHELD]
    rejected = counts[Action.APPEAL_REJECTED]
    return PublicSummary(
        posts=Post.objects.count(),
        hidden=len(hidden_reasons),
        by_reason=dict(Counter(hidden_reasons)),
        appeals=appeals,
        upheld=upheld,
        rejected=rejected,
        pending=appeals - upheld - rejected,
        criticism=sum(1 for _reason, criticism in hidings if criticism),
    )


def history(post: Post) -> list[ModerationEvent]:
    """The post's public log, oldest first."""
    return list(post.events.select_related("actor_user").order_by("id"))


def export_files(customer: Customer) -> dict[str, bytes]:
    """``community.json`` for the customer's data export: their posts with every version,
    their answers in threads, their appeals and me-too marks (registered in ``apps.py``)."""
    posts = list(Post.objects.filter(author=customer).order_by("created_at", "id"))
    answers = list(Reply.objects.filter(customer=customer).order_by("created_at", "id"))
    appeals = list(Appeal.objects.filter(author=customer).order_by("created_at", "id"))
    me_toos = list(MeToo.objects.filter(customer=customer).order_by("created_at", "id"))
    if not (posts or answers or appeals or me_toos):
        return {}
    data = {
        "posts": [
            {
                "id": p.pk,
                "kind": p.kind,
                "rating": p.rating,
                "display_name": p.display_name,
                "created_at": p.created_at.isoformat(),
                "status": p.status,
                "hidden": p.hidden,
                "withdrawn_at": p.withdrawn_at.isoformat() if p.withdrawn_at else None,
                "versions": [
                    {
                        "number": v.number,
                        "text": v.text,
                        "rating": v.rating,
                        "created_at": v.created_at.isoformat(),
                    }
                    for v in p.versions.order_by("number")
                ],
            }
            for p in posts
        ],
        "answers": [
            {
                "post": r.post_id,
                "display_name": r.display_name,
                "text": r.text,
                "created_at": r.created_at.isoformat(),
                "hidden": r.hidden,
            }
            for r in answers
        ],
        "appeals": [
            {
                "post": a.post_id,
                "text": a.text,
                "created_at": a.created_at.isoformat(),
                "decision": a.decision,
            }
            for a in appeals
        ],
        "me_too": [{"post": m.post_id, "created_at": m.created_at.isoformat()} for m in me_toos],
    }
    return {"community.json": json.dumps(data, ensure_ascii=False, indent=2).encode()}


# --------------------------------------------------------------------------- the public page

WALL_PAGE_SIZE = 20
# Moderation log entries shown on a thread's public history (linking a post to a customer
# record is a staff matter: not public).
PUBLIC_ACTIONS = frozenset(
    {
        Action.HIDE,
        Action.RESTORE,
        Action.APPEAL,
        Action.APPEAL_UPHELD,
        Action.APPEAL_REJECTED,
        Action.STATUS_CHANGE,
        Action.ACKNOWLEDGE,
        Action.REPLY,
        Action.WITHDRAW,
    }
)


@dataclass(frozen=True)
class Responsiveness:
    """The business's own figures, shown at the top of its public page."""

    posts: int  # visible posts
    answered: int  # of which with at least one public reply
    median_first_reply: dt.timedelta | None
    acknowledged: int  # "we got this wrong", publicly

    @property
    def share_answered(self) -> float | None:
        return self.answered / self.posts if self.posts else None

    @property
    def percent_answered(self) -> int | None:
        share = self.share_answered
        return None if share is None else round(share * 100)

    @property
    def median_hours(self) -> float | None:
        if self.median_first_reply is None:
            return None
        return self.median_first_reply.total_seconds() / 3600


def responsiveness() -> Responsiveness:
    """Share of visible posts answered publicly, median time to the first public reply, and
    how many faults the business acknowledged. Three queries, whatever the number of posts."""
    rows = (
        Reply.objects.filter(post__hidden=False)
        .exclude(author_role="customer")
        .order_by()
        .values("post_id")
        .annotate(first=Min("created_at"), posted=Min("post__created_at"))
        .values_list("posted", "first")
    )
    delays = [max((first - posted).total_seconds(), 0.0) for posted, first in rows]
    median = dt.timedelta(seconds=statistics.median(delays)) if delays else None
    return Responsiveness(
        posts=Post.objects.filter(hidden=False).count(),
        answered=len(delays),
        median_first_reply=median,
        acknowledged=Post.objects.filter(acknowledged=True).count(),
    )


RESPONSIVENESS_CACHE_SECONDS = 60


def responsiveness_cached() -> Responsiveness:
    """:func:`responsiveness` for the public page, computed at most once a minute per
    organization (the figures move slowly; the page stays fast on a large wall)."""
    key = f"community:responsiveness:{current_org().pk}"
    figures = cache.get(key)
    if not isinstance(figures, Responsiveness):
        figures = responsiveness()
        cache.set(key, figures, RESPONSIVENESS_CACHE_SECONDS)
    return figures


@dataclass
class WallPage:
    """One page of the wall: posts newest first, with their counts and hiding."""

    posts: list[Post]
    number: int
    has_next: bool
    kind: str = ""
    status: str = ""

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _attach_counts(posts: list[Post]) -> None:
    """``post.reply_count`` and ``post.me_too_count`` for a page of posts (two grouped
    queries on the page's ids, whatever the size of the wall)."""
    ids = [p.pk for p in posts]
    replies: dict[int, int] = {}
    me_toos: dict[int, int] = {}
    if ids:
        replies = dict(
            Reply.objects.filter(post_id__in=ids)
            .order_by()
            .values("post_id")
            .annotate(n=Count("id"))
            .values_list("post_id", "n")
        )
        me_toos = dict(
            MeToo.objects.filter(post_id__in=ids)
            .order_by()
            .values("post_id")
            .annotate(n=Count("id"))
            .values_list("post_id", "n")
        )
    for p in posts:
        p.reply_count = replies.get(p.pk, 0)  # type: ignore[attr-defined]
        p.me_too_count = me_toos.get(p.pk, 0)  # type: ignore[attr-defined]


def _attach_hidings(posts: list[Post]) -> None:
    """``post.hide_event`` and ``post.hide_appeal``: the hiding in force for each hidden post
    and its appeal, if any (two queries)."""
    hidden = [p.pk for p in posts if p.hidden]
    latest: dict[int, ModerationEvent] = {}
    if hidden:
        for event in ModerationEvent.objects.filter(
            post_id__in=hidden, action=Action.HIDE, reply__isnull=True
        ).order_by("id"):
            latest[event.post_id] = event
    appeals: dict[int, Appeal] = {}
    if latest:
        for item in Appeal.objects.filter(hide_event__in=list(latest.values())):
            appeals[item.hide_event_id] = item
    for p in posts:
        p.hide_event = latest.get(p.pk)  # type: ignore[attr-defined]
        event = latest.get(p.pk)
        p.hide_appeal = appeals.get(event.pk) if event else None  # type: ignore[attr-defined]


def wall(
    *, page: Any = 1, kind: str = "", status: str = "", size: int = WALL_PAGE_SIZE
) -> WallPage:
    """The public wall: every post (hidden ones as placeholders), newest first.

    Unknown filters are ignored; a page past the end is empty. Four queries at most.
    """
    try:
        number = max(1, min(int(page), 100_000))
    except (TypeError, ValueError):
        number = 1
    kind = kind if kind in PostKind.values else ""
    status = status if status in PostStatus.values else ""
    qs = Post.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    offset = (number - 1) * size
    rows = list(qs.order_by("-created_at", "-id")[offset : offset + size + 1])
    posts = rows[:size]
    _attach_counts(posts)
    _attach_hidings(posts)
    return WallPage(posts=posts, number=number, has_next=len(rows) > size, kind=kind, status=status)


@dataclass(frozen=True)
class RatingSummary:
    count: int
    average: float | None


def rating_summary() -> RatingSummary:
    """Visible reviews with stars: how many and their average (for schema.org)."""
    agg = Post.objects.filter(hidden=False, kind=PostKind.REVIEW, rating__isnull=False).aggregate(
        n=Count("id"), avg=Avg("rating")
    )
    avg = agg["avg"]
    return RatingSummary(count=int(agg["n"] or 0), average=float(avg) if avg is not None else None)


@dataclass
class Thread:
    post: Post
    versions: list[PostVersion]
    replies: list[Reply]
    events: list[ModerationEvent]  # the public history, oldest first
    me_too_count: int
    hide_event: ModerationEvent | None  # the hiding in force, if hidden
    status_note: str  # what was done: the note of the last status change that has one
    appealed: bool  # the author already appealed the hiding in force
    appeal: Appeal | None = None  # the appeal of the hiding in force (pending or decided)
    reply_hides: dict[int, ModerationEvent] = field(default_factory=dict)  # answer -> hiding
    reply_appeals: dict[int, Appeal] = field(default_factory=dict)  # answer -> its appeal

    @property
    def earlier_versions(self) -> list[PostVersion]:
        return self.versions[:-1]


def thread(post: Post) -> Thread:
    """One post with its versions, replies and public log (five queries)."""
    versions = list(post.versions.order_by("number"))
    replies = list(post.replies.order_by("created_at", "id"))
    events = list(post.events.filter(action__in=PUBLIC_ACTIONS).order_by("id"))
    hide_event = None
    if post.hidden:
        hides = [e for e in events if e.action == Action.HIDE and e.reply_id is None]
        hide_event = hides[-1] if hides else None
    status_note = ""
    reply_hides: dict[int, ModerationEvent] = {}
    hidden_replies = {r.pk for r in replies if r.hidden}
    for event in events:
        if event.action == Action.STATUS_CHANGE and event.note:
            status_note = event.note
        if event.action == Action.HIDE and event.reply_id in hidden_replies:
            reply_hides[event.reply_id] = event
    appeals = {a.hide_event_id: a for a in Appeal.objects.filter(post=post).order_by("id")}
    current = appeals.get(hide_event.pk) if hide_event is not None else None
    appealed = current is not None
    reply_appeals = {
        reply_id: appeals[event.pk]
        for reply_id, event in reply_hides.items()
        if event.pk in appeals
    }
    return Thread(
        post=post,
        versions=versions,
        replies=replies,
        events=events,
        me_too_count=MeToo.objects.filter(post=post).count(),
        hide_event=hide_event,
        status_note=status_note,
        appealed=appealed,
        appeal=current,
        reply_hides=reply_hides,
        reply_appeals=reply_appeals,
    )
