"""Every write of the community page: atomic, audited, and never a delete.

Staff writes take the staff member's :class:`Membership` (its user acts, its role decides):

* any staff member may reply publicly, link a post to a customer record and tag its themes;
* a manager or the owner may hide or show again a post, set its status and acknowledge it;
* only the owner decides an appeal.

Customer writes take the :class:`Customer` acting for themselves (identified by the customer's
space or a confirmed email: the pages' job). Each moderation or staff act appends a
:class:`ModerationEvent` and an audit row in the same transaction; ``Post.hidden`` is updated
beside the event so it always equals what the log says.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.accounts.models import Membership, Role
from cueillette.community import analysis
from cueillette.community.errors import Code
from cueillette.community.models import (
    ANONYMOUS,
    MAX_DISPLAY_NAME,
    MAX_TEXT,
    MAX_THEME_LENGTH,
    MAX_THEMES,
    Action,
    Appeal,
    AppealDecision,
    HideReason,
    MeToo,
    ModerationEvent,
    Post,
    PostKind,
    PostStatus,
    PostVersion,
    Reply,
    ThreadSubscription,
)
from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.errors import Conflict, Forbidden, ServiceError
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, CustomerStatus, Purpose

MODERATOR_ROLES = frozenset({Role.OWNER, Role.MANAGER})
APPEAL_DECIDER_ROLES = frozenset({Role.OWNER})
MAX_NOTE = 2000


# --------------------------------------------------------------------------- checks

# C0 control characters but tab, line feed and carriage return (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _check_chars(text: str, field: str) -> str:
    if _CONTROL.search(text):
        raise ServiceError(
            Code.INVALID, _("%(f)s contains a control character") % {"f": field}, field=field
        )
    return text


def clean_text(value: Any, field: str = "text", *, max_length: int = MAX_TEXT) -> str:
    """The text stripped; empty or over-long text is refused naming ``field``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ServiceError(Code.EMPTY, _("%(f)s is empty") % {"f": field}, field=field)
    if len(text) > max_length:
        raise ServiceError(
            Code.TOO_LONG,
            _("%(f)s is too long: %(max)d characters at most, this one has %(n)d")
            % {"f": field, "max": max_length, "n": len(text)},
            field=field,
        )
    return _check_chars(text, field)


def _clean_note(value: Any) -> str:
    note = value.strip() if isinstance(value, str) else ""
    if len(note) > MAX_NOTE:
        raise ServiceError(
            Code.TOO_LONG,
            _("note is too long: %(max)d characters at most") % {"max": MAX_NOTE},
            field="note",
        )
    return _check_chars(note, "note")


def clean_rating(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        rating = None
    elif isinstance(value, int):
        rating = value
    elif isinstance(value, str) and value.strip().isdigit():
        rating = int(value.strip())
    else:
        rating = None
    if rating is None or not 1 <= rating <= 5:
        raise ServiceError(
            Code.INVALID_RATING, _("rating must be a whole number from 1 to 5"), field="rating"
        )
    return rating


def _clean_kind(value: Any) -> str:
    if value not in PostKind.values:
        raise ServiceError(
            Code.UNKNOWN_KIND,
            _("kind must be one of: %(kinds)s") % {"kinds": ", ".join(PostKind.values)},
            field="kind",
        )
    return str(value)


def _clean_display_name(value: Any) -> str:
    return clean_text(value, "display_name", max_length=MAX_DISPLAY_NAME)


def _require_active(customer: Customer) -> None:
    if customer.status != CustomerStatus.ACTIVE:
        raise ServiceError(
            Code.CUSTOMER_INACTIVE, _("this customer record is not active"), field="customer"
        )


def _require_author(post: Post, customer: Customer) -> None:
    if post.author_id is None or post.author_id != customer.pk:
        raise Forbidden(Code.NOT_AUTHOR, _("only the author of the post may do this"))


def _require_role(membership: Membership, roles: frozenset[Role], what: str) -> None:
    if membership.role not in roles:
        raise Forbidden(
            Code.FORBIDDEN,
            _("your role does not allow you to %(what)s") % {"what": what},
            field="role",
        )


def _lock(post: Post) -> Post:
    """The post row locked for the transaction (writers queue on SQLite anyway)."""
    return Post.objects.select_for_update().get(pk=post.pk)


def _event(
    post: Post,
    action: Action,
    *,
    role: str,
    user: Any = None,
    reason: str = "",
    note: str = "",
    now: dt.datetime,
    **data: Any,
) -> ModerationEvent:
    return ModerationEvent.objects.create(
        post=post,
        action=action,
        reason=reason,
        actor_user=user,
        actor_role=role,
        note=note,
        data=data,
        created_at=now,
    )


def _analyse(post: Post) -> None:
    result = analysis.analyse(post.text, lemmatizer="lookup")
    post.language = result.language
    post.sentiment = result.sentiment
    post.sentiment_score = result.score
    post.needs_human_look = result.needs_human_look
    post.look_reasons = list(result.reasons)
    post.detected_themes = sorted(result.themes)
    post.emerging_words = list(result.emerging)[:20]


# --------------------------------------------------------------------------- customers


@transaction.atomic
def create_post(
    customer: Customer,
    *,
    kind: Any,
    text: Any,
    display_name: Any,
    rating: Any = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Post:
    """A customer's new post, with its first version and its sentiment. Bad input writes
    nothing."""
    _require_active(customer)
    kind = _clean_kind(kind)
    body = clean_text(text)
    name = _clean_display_name(display_name)
    stars = clean_rating(rating)
    now = now or timezone.now()
    post = Post(
        kind=kind, rating=stars, author=customer, display_name=name, text=body, created_at=now
    )
    _analyse(post)
    post.save()
    PostVersion.objects.create(post=post, number=1, text=body, rating=stars, created_at=now)
    audit.record(
        actor or Actor.customer(),
        "community.post_created",
        post,
        kind=kind,
        rating=stars,
        sentiment=post.sentiment,
    )
    return post


@transaction.atomic
def edit_post(
    post: Post,
    customer: Customer,
    *,
    text: Any,
    rating: Any = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Post:
    """The author's edit: a new version; the earlier ones stay visible as history."""
    post = _lock(post)
    _require_author(post, customer)
    if post.hidden:
        raise ServiceError(
            Code.POST_HIDDEN, _("a hidden post cannot be edited; you may appeal"), field="text"
        )
    body = clean_text(text)
    stars = clean_rating(rating)
    if body == post.text and stars == post.rating:
        return post
    now = now or timezone.now()
    number = post.versions.count() + 1
    PostVersion.objects.create(post=post, number=number, text=body, rating=stars, created_at=now)
    post.text = body
    post.rating = stars
    post.edited_at = now
    _analyse(post)
    post.save()
    audit.record(actor or Actor.customer(), "community.post_edited", post, version=number)
    return post


@transaction.atomic
def add_me_too(post: Post, customer: Customer, *, now: dt.datetime | None = None) -> MeToo:
    _require_active(customer)
    if MeToo.objects.filter(post=post, customer=customer).exists():
        raise Conflict(Code.ALREADY_ME_TOO, _("you already said “me too” here"))
    mark = MeToo.objects.create(post=post, customer=customer, created_at=now or timezone.now())
    audit.record(Actor.customer(), "community.me_too", post)
    return mark


@transaction.atomic
def subscribe(
    post: Post, customer: Customer, *, now: dt.datetime | None = None
) -> ThreadSubscription:
    """Email on replies to this thread: only with the "community" consent."""
    _require_active(customer)
    if not customer_services.has_consent(customer, Purpose.COMMUNITY):
        raise ServiceError(
            Code.NO_CONSENT,
            _("community notifications need your consent first"),
            field="consent",
        )
    now = now or timezone.now()
    sub, created = ThreadSubscription.objects.get_or_create(
        post=post, customer=customer, defaults={"created_at": now}
    )
    if not created and sub.ended_at is not None:
        sub.ended_at = None
        sub.created_at = now
        sub.save(update_fields=["ended_at", "created_at"])
    audit.record(Actor.customer(), "community.subscribed", post)
    return sub


@transaction.atomic
def unsubscribe(
    subscription: ThreadSubscription, *, now: dt.datetime | None = None
) -> ThreadSubscription:
    if subscription.ended_at is None:
        subscription.ended_at = now or timezone.now()
        subscription.save(update_fields=["ended_at"])
        audit.record(Actor.customer(), "community.unsubscribed", subscription.post)
    return subscription


def subscribers(post: Post) -> list[Customer]:
    """Customers to email about a reply: subscribed and still consenting."""
    subs = ThreadSubscription.objects.filter(post=post, ended_at__isnull=True).select_related(
        "customer"
    )
    return [
        s.customer
        for s in subs
        if s.customer.status == CustomerStatus.ACTIVE
        and s.customer.email
        and customer_services.has_consent(s.customer, Purpose.COMMUNITY)
    ]


@transaction.atomic
def appeal(
    post: Post, customer: Customer, *, text: Any = "", now: dt.datetime | None = None
) -> Appeal:
    """The author appeals the hiding of their post, once per hiding."""
    post = _lock(post)
    _require_author(post, customer)
    if not post.hidden:
        raise ServiceError(Code.NOT_HIDDEN, _("this post is not hidden"), field="post")
    hide = post.events.filter(action=Action.HIDE).order_by("-id").first()
    if hide is None:  # pragma: no cover - hidden implies a hide event
        raise ServiceError(Code.NOT_HIDDEN, _("this post is not hidden"), field="post")
    if Appeal.objects.filter(hide_event=hide).exists():
        raise Conflict(Code.ALREADY_APPEALED, _("you have already appealed"), field="post")
    body = text.strip() if isinstance(text, str) else ""
    if len(body) > MAX_NOTE:
        raise ServiceError(
            Code.TOO_LONG,
            _("text is too long: %(max)d characters at most") % {"max": MAX_NOTE},
            field="text",
        )
    _check_chars(body, "text")
    now = now or timezone.now()
    item = Appeal.objects.create(
        post=post, hide_event=hide, author=customer, text=body, created_at=now
    )
    _event(post, Action.APPEAL, role="customer", now=now, appeal=item.pk)
    audit.record(Actor.customer(), "community.appealed", post, appeal=item.pk)
    return item


def erase_author(customer: Customer) -> None:
    """Registered eraser: the author's identity leaves their posts; the business's replies and
    the posts' text stay. Runs inside ``erase_customer``'s transaction."""
    Post.objects.filter(author=customer).update(author=None, display_name=ANONYMOUS)
    Appeal.objects.filter(author=customer).update(author=None)
    ThreadSubscription.objects.filter(customer=customer, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )


# --------------------------------------------------------------------------- staff


@transaction.atomic
def reply(
    post: Post, membership: Membership, *, text: Any, now: dt.datetime | None = None
) -> Reply:
    """A public reply as the business."""
    body = clean_text(text)
    post = _lock(post)
    now = now or timezone.now()
    item = Reply.objects.create(
        post=post, author=membership.user, author_role=membership.role, text=body, created_at=now
    )
    _event(post, Action.REPLY, role=membership.role, user=membership.user, now=now, reply=item.pk)
    audit.record(Actor.staff(membership.user), "community.replied", post, reply=item.pk)
    return item


@transaction.atomic
def set_status(
    post: Post,
    membership: Membership,
    *,
    status: Any,
    note: Any = "",
    now: dt.datetime | None = None,
) -> Post:
    """Open -> acknowledged -> resolved (or back), with a public note of what was done."""
    _require_role(membership, MODERATOR_ROLES, _("change a post's status"))
    if status not in PostStatus.values:
        raise ServiceError(
            Code.UNKNOWN_STATUS,
            _("status must be one of: %(s)s") % {"s": ", ".join(PostStatus.values)},
            field="status",
        )
    text = _clean_note(note)
    post = _lock(post)
    if post.status == status:
        raise ServiceError(Code.UNCHANGED, _("the post already has this status"), field="status")
    now = now or timezone.now()
    _status_change(post, membership, str(status), text, now)
    post.save(update_fields=["status"])
    return post


def _status_change(
    post: Post, membership: Membership, status: str, note: str, now: dt.datetime
) -> None:
    before = post.status
    post.status = status
    _event(
        post,
        Action.STATUS_CHANGE,
        role=membership.role,
        user=membership.user,
        note=note,
        now=now,
        before=before,
        after=status,
    )
    audit.record(
        Actor.staff(membership.user), "community.status_changed", post, before=before, after=status
    )


@transaction.atomic
def acknowledge(
    post: Post, membership: Membership, *, note: Any = "", now: dt.datetime | None = None
) -> Post:
    """ "We got this wrong": shown publicly; an open post becomes acknowledged."""
    _require_role(membership, MODERATOR_ROLES, _("acknowledge a post"))
    text = _clean_note(note)
    post = _lock(post)
    if post.acknowledged:
        raise Conflict(Code.ALREADY_ACKNOWLEDGED, _("this post is already acknowledged"))
    now = now or timezone.now()
    post.acknowledged = True
    _event(post, Action.ACKNOWLEDGE, role=membership.role, user=membership.user, note=text, now=now)
    audit.record(Actor.staff(membership.user), "community.acknowledged", post)
    if post.status == PostStatus.OPEN:
        _status_change(post, membership, PostStatus.ACKNOWLEDGED, "", now)
    post.save(update_fields=["acknowledged", "status"])
    return post


@transaction.atomic
def link_customer(
    post: Post,
    membership: Membership,
    customer: Customer | None,
    *,
    now: dt.datetime | None = None,
) -> Post:
    """Link the post to a customer record (None removes the link). Staff only, not public."""
    post = _lock(post)
    now = now or timezone.now()
    post.linked_customer = customer
    post.save(update_fields=["linked_customer"])
    customer_id = customer.pk if customer is not None else None
    _event(
        post,
        Action.LINK_CUSTOMER,
        role=membership.role,
        user=membership.user,
        now=now,
        customer=customer_id,
    )
    audit.record(
        Actor.staff(membership.user), "community.customer_linked", post, customer=customer_id
    )
    return post


def clean_themes(values: Iterable[Any]) -> list[str]:
    themes: list[str] = []
    for value in values:
        theme = value.strip() if isinstance(value, str) else ""
        if not theme or len(theme) > MAX_THEME_LENGTH:
            raise ServiceError(
                Code.INVALID,
                _("each theme must be a text of 1 to %(max)d characters")
                % {"max": MAX_THEME_LENGTH},
                field="themes",
            )
        _check_chars(theme, "themes")
        if theme not in themes:
            themes.append(theme)
    if len(themes) > MAX_THEMES:
        raise ServiceError(
            Code.INVALID,
            _("%(max)d themes at most") % {"max": MAX_THEMES},
            field="themes",
        )
    return themes


@transaction.atomic
def tag_themes(
    post: Post, membership: Membership, themes: Iterable[Any], *, now: dt.datetime | None = None
) -> Post:
    cleaned = clean_themes(themes)
    post = _lock(post)
    now = now or timezone.now()
    before = list(post.themes)
    post.themes = cleaned
    post.save(update_fields=["themes"])
    _event(
        post,
        Action.TAG,
        role=membership.role,
        user=membership.user,
        now=now,
        before=before,
        after=cleaned,
    )
    audit.record(Actor.staff(membership.user), "community.tagged", post, themes=cleaned)
    return post


@transaction.atomic
def hide_post(
    post: Post,
    membership: Membership,
    *,
    reason: Any,
    note: Any = "",
    now: dt.datetime | None = None,
) -> ModerationEvent:
    """Hide a post for a listed abuse reason. The text stays; a placeholder shows the reason."""
    _require_role(membership, MODERATOR_ROLES, _("moderate posts"))
    if reason not in HideReason.values:
        raise ServiceError(
            Code.UNKNOWN_REASON,
            _("a post can be hidden only for one of these reasons: %(r)s")
            % {"r": ", ".join(HideReason.values)},
            field="reason",
        )
    text = _clean_note(note)
    post = _lock(post)
    if post.hidden:
        raise Conflict(Code.ALREADY_HIDDEN, _("this post is already hidden"), field="post")
    now = now or timezone.now()
    event = _event(
        post,
        Action.HIDE,
        role=membership.role,
        user=membership.user,
        reason=str(reason),
        note=text,
        now=now,
    )
    post.hidden = True
    post.save(update_fields=["hidden"])
    audit.record(Actor.staff(membership.user), "community.post_hidden", post, reason=str(reason))
    return event


@transaction.atomic
def restore_post(
    post: Post, membership: Membership, *, note: Any = "", now: dt.datetime | None = None
) -> ModerationEvent:
    """Show a hidden post again (a moderator changing their mind)."""
    _require_role(membership, MODERATOR_ROLES, _("moderate posts"))
    text = _clean_note(note)
    post = _lock(post)
    if not post.hidden:
        raise ServiceError(Code.NOT_HIDDEN, _("this post is not hidden"), field="post")
    if Appeal.objects.filter(post=post, decision=AppealDecision.PENDING).exists():
        raise Conflict(
            Code.APPEAL_PENDING,
            _("the author has appealed: the owner decides the appeal"),
            field="post",
        )
    now = now or timezone.now()
    event = _event(
        post, Action.RESTORE, role=membership.role, user=membership.user, note=text, now=now
    )
    post.hidden = False
    post.save(update_fields=["hidden"])
    audit.record(Actor.staff(membership.user), "community.post_restored", post)
    return event


@transaction.atomic
def decide_appeal(
    item: Appeal,
    membership: Membership,
    *,
    upheld: bool,
    note: Any = "",
    now: dt.datetime | None = None,
) -> Appeal:
    """The owner decides: upheld shows the post again, rejected keeps it hidden."""
    _require_role(membership, APPEAL_DECIDER_ROLES, _("decide appeals"))
    text = _clean_note(note)
    item = Appeal.objects.select_for_update().get(pk=item.pk)
    if item.decision != AppealDecision.PENDING:
        raise Conflict(Code.ALREADY_DECIDED, _("this appeal is already decided"), field="appeal")
    post = _lock(item.post)
    now = now or timezone.now()
    item.decision = AppealDecision.UPHELD if upheld else AppealDecision.REJECTED
    item.decided_at = now
    item.decided_by = membership.user
    item.decision_note = text
    item.save(update_fields=["decision", "decided_at", "decided_by", "decision_note"])
    _event(
        post,
        Action.APPEAL_UPHELD if upheld else Action.APPEAL_REJECTED,
        role=membership.role,
        user=membership.user,
        note=text,
        now=now,
        appeal=item.pk,
    )
    if upheld and post.hidden:
        post.hidden = False
        post.save(update_fields=["hidden"])
    audit.record(
        Actor.staff(membership.user),
        "community.appeal_decided",
        post,
        appeal=item.pk,
        decision=item.decision,
    )
    return item
