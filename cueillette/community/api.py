"""The community API: read the posts and the moderation log, reply, moderate.

A thin translation to :mod:`cueillette.community.services`, under ``/community``. A key acts
as the business with the role ``api`` (shown as such in the public log): it may reply, set a
status, acknowledge, hide for a listed reason and show again, link a customer record and tag
themes. Reading needs any key; writing needs a key with the write scope.

* There is **no DELETE route**: nothing of the community page is ever deleted.
* ``reason`` of a hide must be one of :class:`HideReason` (``insult_harassment``, ``hate``,
  ``spam_advertising``, ``personal_data``, ``illegal``); anything else answers 400 with
  ``field: "reason"`` and writes nothing.
* Hiding **criticism** (a complaint, or a post read as negative or mixed) also takes
  ``passage``, the exact words that break the rule, copied from the text: without it 400
  ``passage_required``, words not in the text 400 ``passage_not_found`` (``field:
  "passage"``). Criticism is not abuse.
* Customers' answers in a thread are replies with ``author_role: "customer"``; they are
  hidden through ``POST /replies/{id}/hide`` under the same rules.
* **Appeals are decided by the owner, in the staff pages only** (``/app/community/``): an
  appeal is a person asking a person; no key may decide one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.params.functions import Query
from ninja.responses import Status
from pydantic.config import JsonDict

from cueillette.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, api_key, paginate, requires
from cueillette.community import services
from cueillette.community.models import (
    MAX_TEXT,
    Action,
    HideReason,
    ModerationEvent,
    Post,
    PostKind,
    PostStatus,
    Reply,
    Sentiment,
)
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.permissions import ApiScope
from cueillette.customers.models import Customer

router = Router(tags=["community"])

LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


# --------------------------------------------------------------------------- schemas


class VersionOut(Schema):
    number: int
    text: str
    rating: int | None
    created_at: dt.datetime


class ReplyOut(Schema):
    id: int
    text: str
    author_role: str
    created_at: dt.datetime
    display_name: str = ""  # a customer's answer: the name they chose
    hidden: bool = False


class EventOut(Schema):
    id: int
    post_id: int
    action: str
    reason: str
    actor_role: str
    note: str
    data: dict[str, Any]
    created_at: dt.datetime


class AppealOut(Schema):
    id: int
    text: str
    created_at: dt.datetime
    decision: str
    decided_at: dt.datetime | None
    decision_note: str


class PostOut(Schema):
    id: int
    kind: str
    rating: int | None
    display_name: str
    text: str
    language: str
    status: str
    acknowledged: bool
    hidden: bool
    created_at: dt.datetime
    edited_at: dt.datetime | None
    author_customer_id: int | None
    linked_customer_id: int | None
    themes: list[str]
    detected_themes: list[str]
    sentiment: str
    sentiment_score: float
    needs_human_look: bool
    look_reasons: list[str]
    replies_count: int


class PostDetailOut(PostOut):
    versions: list[VersionOut]
    replies: list[ReplyOut]
    events: list[EventOut]
    appeals: list[AppealOut]


class PostPage(Schema):
    items: list[PostOut]
    next_cursor: str | None


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


# The JSON schema states what the services check (they still answer a breach with their
# 400 and its code): a text that is not blank, the closed lists of statuses and reasons.
_TEXT: JsonDict = {"minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}


class ReplyIn(Schema):
    text: str = Field(json_schema_extra=_TEXT)


class NoteIn(Schema):
    note: str = ""


class StatusIn(Schema):
    status: str = Field(json_schema_extra={"enum": list(PostStatus.values)})
    note: str = ""


class HideIn(Schema):
    # A plain text, checked by the service: an unknown reason is a 400 on "reason".
    reason: str = Field(json_schema_extra={"enum": list(HideReason.values)})
    note: str = ""
    # Required when the post reads as criticism: the exact passage that breaks the rule.
    passage: str = ""


class LinkIn(Schema):
    customer_id: int | None = None


class ThemesIn(Schema):
    themes: list[str]


# --------------------------------------------------------------------------- helpers


def _staff(request: HttpRequest) -> services.Staff:
    key = api_key(request)
    return services.Staff.api(key.name, key.scopes)


def _post(post_id: int) -> Post:
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        raise NotFound("not_found", _("no post with this id"), field="post_id")
    return post


def _events(post: Post) -> list[dict[str, Any]]:
    return [_event_body(e) for e in post.events.order_by("id")]


def _event_body(e: ModerationEvent) -> dict[str, Any]:
    return {
        "id": e.pk,
        "post_id": e.post_id,
        "action": e.action,
        "reason": e.reason,
        "actor_role": e.actor_role,
        "note": e.note,
        "data": e.data or {},
        "created_at": e.created_at,
    }


def _post_body(post: Post, replies: int | None = None) -> dict[str, Any]:
    count = replies if replies is not None else getattr(post, "replies_count", None)
    return {
        "id": post.pk,
        "kind": post.kind,
        "rating": post.rating,
        "display_name": post.display_name,
        "text": post.text,
        "language": post.language,
        "status": post.status,
        "acknowledged": post.acknowledged,
        "hidden": post.hidden,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "author_customer_id": post.author_id,
        "linked_customer_id": post.linked_customer_id,
        "themes": list(post.themes or []),
        "detected_themes": list(post.detected_themes or []),
        "sentiment": post.sentiment,
        "sentiment_score": post.sentiment_score,
        "needs_human_look": post.needs_human_look,
        "look_reasons": list(post.look_reasons or []),
        "replies_count": count if count is not None else post.replies.count(),
    }


def _detail(post: Post) -> dict[str, Any]:
    post.refresh_from_db()
    replies = list(post.replies.order_by("created_at", "id"))
    return {
        **_post_body(post, len(replies)),
        "versions": [
            {"number": v.number, "text": v.text, "rating": v.rating, "created_at": v.created_at}
            for v in post.versions.order_by("number")
        ],
        "replies": [
            {
                "id": r.pk,
                "text": r.text,
                "author_role": r.author_role,
                "created_at": r.created_at,
                "display_name": r.shown_name if r.by_customer else "",
                "hidden": r.hidden,
            }
            for r in replies
        ],
        "events": _events(post),
        "appeals": [
            {
                "id": a.pk,
                "text": a.text,
                "created_at": a.created_at,
                "decision": a.decision,
                "decided_at": a.decided_at,
                "decision_note": a.decision_note,
            }
            for a in post.appeals.order_by("id")
        ],
    }


def _choice(value: str | None, allowed: list[str], field: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ServiceError(
            "invalid",
            _("%(f)s must be one of: %(v)s") % {"f": field, "v": ", ".join(allowed)},
            field=field,
        )
    return value


# --------------------------------------------------------------------------- reading


@router.get("/posts", response=PostPage, summary="The posts, newest first, with filters")
@requires(ApiScope.COMMUNITY_READ)
def list_posts(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = LIMIT,
    kind: str | None = None,
    status: str | None = None,
    sentiment: str | None = None,
    hidden: bool | None = None,
    unanswered: bool | None = None,
    needs_human_look: bool | None = None,
) -> dict[str, Any]:
    """Every post (hidden ones too, with ``hidden: true``: their text is kept)."""
    qs = Post.objects.annotate(
        replies_count=Count("replies", distinct=True),
        business_replies=Count(
            "replies", distinct=True, filter=~Q(replies__author_role="customer")
        ),
    )
    if value := _choice(kind, PostKind.values, "kind"):
        qs = qs.filter(kind=value)
    if value := _choice(status, PostStatus.values, "status"):
        qs = qs.filter(status=value)
    if value := _choice(sentiment, Sentiment.values, "sentiment"):
        qs = qs.filter(sentiment=value)
    if hidden is not None:
        qs = qs.filter(hidden=hidden)
    if needs_human_look is not None:
        qs = qs.filter(needs_human_look=needs_human_look)
    if unanswered is not None:
        # "Unanswered" by the business: customers' answers in the thread do not count.
        qs = qs.filter(business_replies=0) if unanswered else qs.filter(business_replies__gt=0)
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("-created_at", "-id"))
    return {"items": [_post_body(p) for p in rows], "next_cursor": next_cursor}


@router.get(
    "/posts/{int:post_id}",
    response=PostDetailOut,
    summary="One post with its versions, replies, moderation events and appeals",
)
@requires(ApiScope.COMMUNITY_READ)
def get_post(request: HttpRequest, post_id: int) -> dict[str, Any]:
    return _detail(_post(post_id))


@router.get("/moderation-log", response=EventPage, summary="The moderation log, oldest first")
@requires(ApiScope.COMMUNITY_READ)
def moderation_log(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = LIMIT,
    post_id: int | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """Every act on every post (append-only): hides, restores, appeals, replies, statuses..."""
    qs = ModerationEvent.objects.all()
    if post_id is not None:
        qs = qs.filter(post_id=post_id)
    if value := _choice(action, Action.values, "action"):
        qs = qs.filter(action=value)
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("id",))
    return {"items": [_event_body(e) for e in rows], "next_cursor": next_cursor}


# --------------------------------------------------------------------------- writing


@router.post(
    "/posts/{int:post_id}/replies",
    response={201: PostDetailOut},
    summary="Reply publicly, as the business",
)
@requires(ApiScope.COMMUNITY_REPLY)
def reply(request: HttpRequest, post_id: int, payload: ReplyIn) -> Any:
    """The reply is public and immutable; followers of the thread are emailed."""
    post = _post(post_id)
    services.reply(post, _staff(request), text=payload.text)
    return Status(201, _detail(post))


@router.post("/posts/{int:post_id}/status", response=PostDetailOut, summary="Set the status")
@requires(ApiScope.COMMUNITY_MODERATE)
def set_status(request: HttpRequest, post_id: int, payload: StatusIn) -> dict[str, Any]:
    """``open``, ``acknowledged`` or ``resolved``, with a public note of what was done."""
    post = _post(post_id)
    services.set_status(post, _staff(request), status=payload.status, note=payload.note)
    return _detail(post)


@router.post(
    "/posts/{int:post_id}/acknowledge",
    response=PostDetailOut,
    summary="“We got this wrong” (shown publicly)",
)
@requires(ApiScope.COMMUNITY_MODERATE)
def acknowledge(request: HttpRequest, post_id: int, payload: NoteIn) -> dict[str, Any]:
    post = _post(post_id)
    services.acknowledge(post, _staff(request), note=payload.note)
    return _detail(post)


@router.post(
    "/posts/{int:post_id}/hide",
    response=PostDetailOut,
    summary="Hide a post for a listed abuse reason (never for being negative)",
)
@requires(ApiScope.COMMUNITY_MODERATE)
def hide(request: HttpRequest, post_id: int, payload: HideIn) -> dict[str, Any]:
    """``reason``: insult_harassment, hate, spam_advertising, personal_data or illegal. The
    text is kept; the public page shows a notice with the reason; the author may appeal."""
    post = _post(post_id)
    services.hide_post(
        post, _staff(request), reason=payload.reason, note=payload.note, passage=payload.passage
    )
    return _detail(post)


@router.post(
    "/replies/{int:reply_id}/hide",
    response=PostDetailOut,
    summary="Hide a customer's answer in a thread (the same rules as a post)",
)
@requires(ApiScope.COMMUNITY_MODERATE)
def hide_reply(request: HttpRequest, reply_id: int, payload: HideIn) -> dict[str, Any]:
    """Only customers' answers are moderated (400 ``not_customer_reply`` otherwise)."""
    item = Reply.objects.filter(pk=reply_id).select_related("post").first()
    if item is None:
        raise NotFound("not_found", _("no reply with this id"), field="reply_id")
    services.hide_reply(
        item, _staff(request), reason=payload.reason, note=payload.note, passage=payload.passage
    )
    return _detail(item.post)


@router.post("/posts/{int:post_id}/restore", response=PostDetailOut, summary="Show a post again")
@requires(ApiScope.COMMUNITY_MODERATE)
def restore(request: HttpRequest, post_id: int, payload: NoteIn) -> dict[str, Any]:
    """Refused (409 ``appeal_pending``) while an appeal waits: the owner decides it."""
    post = _post(post_id)
    services.restore_post(post, _staff(request), note=payload.note)
    return _detail(post)


@router.post(
    "/posts/{int:post_id}/customer",
    response=PostDetailOut,
    summary="Link the post to a customer record (null removes the link)",
)
@requires(ApiScope.COMMUNITY_REPLY)
def link_customer(request: HttpRequest, post_id: int, payload: LinkIn) -> dict[str, Any]:
    post = _post(post_id)
    customer = None
    if payload.customer_id is not None:
        customer = Customer.objects.filter(pk=payload.customer_id).first()
        if customer is None:
            raise NotFound("not_found", _("no customer with this id"), field="customer_id")
    services.link_customer(post, _staff(request), customer)
    return _detail(post)


@router.post("/posts/{int:post_id}/themes", response=PostDetailOut, summary="Tag themes")
@requires(ApiScope.COMMUNITY_REPLY)
def tag_themes(request: HttpRequest, post_id: int, payload: ThemesIn) -> dict[str, Any]:
    """Replace the staff's themes of the post (10 at most)."""
    post = _post(post_id)
    services.tag_themes(post, _staff(request), payload.themes)
    return _detail(post)
