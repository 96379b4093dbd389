"""Reading the community page. The public moderation summary is computed from the log only."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

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
)
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

    def text(self) -> str:
        """ "3 of 412 posts hidden: 2 spam, 1 insult; 1 appeal, upheld"."""
        head = ngettext(
            "%(hidden)d of %(posts)d post hidden",
            "%(hidden)d of %(posts)d posts hidden",
            self.posts,
        ) % {"hidden": self.hidden, "posts": self.posts}
        if self.by_reason:
            reasons = ", ".join(
                f"{n} {_(SHORT_REASONS[r])}"
                for r, n in sorted(self.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            head = f"{head}: {reasons}"
        if not self.appeals:
            return head
        appeals = ngettext("%(n)d appeal", "%(n)d appeals", self.appeals) % {"n": self.appeals}
        outcomes = []
        if self.upheld:
            outcomes.append(
                _("%(n)d upheld") % {"n": self.upheld} if self.appeals > 1 else _("upheld")
            )
        if self.rejected:
            outcomes.append(
                _("%(n)d rejected") % {"n": self.rejected} if self.appeals > 1 else _("rejected")
            )
        if self.pending:
            outcomes.append(
                _("%(n)d pending") % {"n": self.pending} if self.appeals > 1 else _("pending")
            )
        return f"{head}; {appeals}, {', '.join(outcomes)}"


def visibility_from_log() -> dict[int, str]:
    """For each post that was ever hidden: the reason it is hidden now, or "" if shown."""
    state: dict[int, str] = {}
    events = (
        ModerationEvent.objects.filter(action__in=VISIBILITY_ACTIONS)
        .order_by("id")
        .values_list("post_id", "action", "reason")
    )
    for post_id, action, reason in events:
        state[post_id] = reason if action == Action.HIDE else ""
    return state


def public_summary() -> PublicSummary:
    """What moderation did, from the append-only log (never from the cached flags)."""
    hidden_reasons = [r for r in visibility_from_log().values() if r]
    counts = Counter(
        ModerationEvent.objects.filter(
            action__in=[Action.APPEAL, Action.APPEAL_UPHELD, Action.APPEAL_REJECTED]
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
    )


def history(post: Post) -> list[ModerationEvent]:
    """The post's public log, oldest first."""
    return list(post.events.select_related("actor_user").order_by("id"))


def export_files(customer: Customer) -> dict[str, bytes]:
    """``community.json`` for the customer's data export: their posts with every version,
    their appeals and me-too marks (registered as an exporter in ``apps.py``)."""
    posts = list(Post.objects.filter(author=customer).order_by("created_at", "id"))
    appeals = list(Appeal.objects.filter(author=customer).order_by("created_at", "id"))
    me_toos = list(MeToo.objects.filter(customer=customer).order_by("created_at", "id"))
    if not (posts or appeals or me_toos):
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
