"""Every write of the community page: atomic, audited, and never a delete.

Staff writes take the staff member's :class:`Membership` (its user acts, its role decides):

* any staff member may reply publicly, link a post to a customer record and tag its themes;
* a manager or the owner may hide or show again a post, set its status and acknowledge it;
* only the owner decides an appeal, and a rejection is explained publicly in writing.

Hiding criticism (a complaint, or a post or reply read as negative or mixed) takes the exact
passage that breaks the rule: criticism is not abuse (:func:`is_criticism`).

Customer writes take the :class:`Customer` acting for themselves (identified by the customer's
space or a confirmed email: the pages' job). Each moderation or staff act appends a
:class:`ModerationEvent` and an audit row in the same transaction; ``Post.hidden`` is updated
beside the event so it always equals what the log says.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cueillette.accounts.models import Membership, Role, User
from cueillette.community import analysis, notify
from cueillette.community.errors import Code
from cueillette.community.models import (
    ANONYMOUS,
    MAX_DISPLAY_NAME,
    MAX_TEXT,
    MAX_THEME_LENGTH,
    MAX_THEMES,
    MIN_REJECTION_NOTE,
    Action,
    Appeal,
    AppealDecision,
    CommunitySettings,
    HideReason,
    MeToo,
    ModerationEvent,
    Post,
    PostKind,
    PostStatus,
    PostVersion,
    Reply,
    Sentiment,
    ThreadSubscription,
)
from cueillette.core import audit, consequences
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import Conflict, Forbidden, ServiceError
from cueillette.core.permissions import ROLE_PERMS, Perm, scopes_perms
from cueillette.customers import portal as customer_portal
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentWording, Customer, CustomerStatus, Purpose

# Kept for readers: who holds each right is decided by core.permissions.ROLE_PERMS.
MODERATOR_ROLES = frozenset({Role.OWNER, Role.MANAGER})  # Perm.MODERATE_COMMUNITY
APPEAL_DECIDER_ROLES = frozenset({Role.OWNER})  # Perm.DECIDE_APPEALS
MAX_NOTE = 2000


# --------------------------------------------------------------------------- checks

# C0 control characters but tab, line feed and carriage return (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# How a field is named in an error message ("The text is empty"): never the internal name.
FIELD_LABELS: dict[str, str] = {
    "text": gettext_noop("The text"),
    "display_name": gettext_noop("The display name"),
    "note": gettext_noop("The note"),
    "themes": gettext_noop("A theme"),
    "passage": gettext_noop("The passage"),
}


def field_label(field: str) -> str:
    """The human name of ``field`` in the current language (theme rows: "A theme name")."""
    if field.endswith("-name"):
        return _("A theme name")
    if field.endswith("-keywords"):
        return _("A keyword")
    label = FIELD_LABELS.get(field)
    return _(label) if label else _("This field")


def _check_chars(text: str, field: str) -> str:
    if _CONTROL.search(text):
        raise ServiceError(
            Code.INVALID,
            _("%(f)s contains an invisible control character: remove it")
            % {"f": field_label(field)},
            field=field,
        )
    return text


def clean_text(value: Any, field: str = "text", *, max_length: int = MAX_TEXT) -> str:
    """The text stripped; empty or over-long text is refused naming ``field``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ServiceError(Code.EMPTY, _("%(f)s is empty") % {"f": field_label(field)}, field=field)
    if len(text) > max_length:
        raise ServiceError(
            Code.TOO_LONG,
            _("%(f)s is too long: %(max)d characters at most, this one has %(n)d")
            % {"f": field_label(field), "max": max_length, "n": len(text)},
            field=field,
        )
    return _check_chars(text, field)


def _clean_note(value: Any) -> str:
    note = value.strip() if isinstance(value, str) else ""
    if len(note) > MAX_NOTE:
        raise ServiceError(
            Code.TOO_LONG,
            _("%(f)s is too long: %(max)d characters at most, this one has %(n)d")
            % {"f": field_label("note"), "max": MAX_NOTE, "n": len(note)},
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


def clean_rating_for(kind: str, value: Any) -> int | None:
    """Stars belong to reviews: a question, suggestion or complaint carries none (so the public
    average and the dashboard's count the same posts)."""
    stars = clean_rating(value)
    if stars is not None and kind != PostKind.REVIEW:
        raise ServiceError(
            Code.INVALID_RATING,
            _("stars go with a review only: choose “Review”, or leave the stars out"),
            field="rating",
        )
    return stars


def _clean_kind(value: Any) -> str:
    if value not in PostKind.values:
        raise ServiceError(
            Code.UNKNOWN_KIND,
            _("choose what the post is: %(kinds)s")
            % {"kinds": ", ".join(str(label) for label in PostKind.labels)},
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


@dataclass(frozen=True)
class Staff:
    """Who acts for the business: a staff member (with their role) or a till's API key.

    ``role`` is what the public log shows ("owner", "manager", "counter" or "api"), never a
    name; ``perms`` decides what it may do (the same :data:`ROLE_PERMS` as the pages).
    """

    role: str
    user: User | None
    actor: Actor
    perms: frozenset[Perm]

    @classmethod
    def of(cls, membership: Membership) -> Staff:
        return cls(
            role=membership.role,
            user=membership.user,
            actor=Actor.of_membership(membership),
            perms=ROLE_PERMS.get(membership.role, frozenset()),
        )

    @classmethod
    def api(cls, key_name: str, scopes: Iterable[str] | None = None) -> Staff:
        """An API key: replies and moderates as far as its permissions (community:reply,
        community:moderate) allow; appeals stay with the owner."""
        perms = API_PERMS if scopes is None else scopes_perms(scopes) & API_PERMS
        return cls(role=API_ROLE, user=None, actor=Actor.api(key_name, scopes), perms=perms)


StaffLike = Membership | Staff
API_ROLE = "api"
API_PERMS = frozenset({Perm.REPLY_COMMUNITY, Perm.MODERATE_COMMUNITY})


def _require(who: StaffLike, perm: Perm, what: str) -> Staff:
    staff = who if isinstance(who, Staff) else Staff.of(who)
    if perm not in staff.perms:
        raise Forbidden(
            Code.FORBIDDEN,
            _("your role does not allow you to %(what)s") % {"what": what},
            field="role",
        )
    return staff


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


def theme_list(current: CommunitySettings | None = None) -> dict[str, list[str]]:
    """The organization's theme list (``{name: [keywords]}``); empty means the defaults."""
    if current is None:
        current = CommunitySettings.objects.first()
    themes = current.themes if current is not None else None
    if themes:
        return {str(k): [str(w) for w in v] for k, v in themes.items()}
    return {name: list(words) for name, words in analysis.DEFAULT_THEMES.items()}


@functools.lru_cache(maxsize=64)
def _index_for(content: str) -> analysis.ThemeIndex:
    return analysis.compile_themes(json.loads(content))


def theme_index(current: CommunitySettings | None = None) -> analysis.ThemeIndex:
    """The organization's theme list compiled, cached per list content (not per org)."""
    return _index_for(json.dumps(theme_list(current), sort_keys=True, ensure_ascii=False))


def _apply(post: Post, result: analysis.Analysis) -> None:
    post.language = result.language
    post.sentiment = result.sentiment
    post.sentiment_score = result.score
    post.needs_human_look = result.needs_human_look
    post.look_reasons = list(result.reasons)
    post.detected_themes = sorted(result.themes)
    post.emerging_words = list(result.emerging)[:20]


def _analyse(post: Post) -> None:
    result = analysis.analyse(post.text, themes=theme_index(), lemmatizer="lookup")
    _apply(post, result)


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
    stars = clean_rating_for(kind, rating)
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
    consequences.fire(
        Consequence.POST_PUBLISHED,
        organization_id=post.organization_id,
        post=post,
        actor=actor or Actor.customer(),
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
    if post.withdrawn:
        raise Conflict(Code.WITHDRAWN, _("you withdrew this post"), field="text")
    body = clean_text(text)
    stars = clean_rating_for(post.kind, rating)
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
    if post.author_id == customer.pk:
        raise Conflict(Code.OWN_POST, _("this is your own post: others may say “me too” here"))
    if MeToo.objects.filter(post=post, customer=customer).exists():
        raise Conflict(Code.ALREADY_ME_TOO, _("you already said “me too” here"))
    mark = MeToo.objects.create(post=post, customer=customer, created_at=now or timezone.now())
    audit.record(Actor.customer(), "community.me_too", post)
    return mark


@transaction.atomic
def publish_post(
    customer: Customer,
    *,
    kind: Any,
    text: Any,
    display_name: Any,
    rating: Any = None,
    actor: Actor | None = None,
    follow: bool = False,
    consent_wording: ConsentWording | None = None,
    language: str = "fr",
) -> Post:
    """A new post and, if asked, following its replies (with the community consent given in
    the same form when ``consent_wording`` is the wording it showed): all or nothing."""
    post = create_post(
        customer, kind=kind, text=text, display_name=display_name, rating=rating, actor=actor
    )
    if follow:
        if consent_wording is not None:
            customer_portal.change_consent(
                customer, Purpose.COMMUNITY, True, language=language, wording=consent_wording
            )
        subscribe(post, customer)
    return post


@transaction.atomic
def follow_thread(
    post: Post,
    customer: Customer,
    *,
    consent_wording: ConsentWording | None = None,
    language: str = "fr",
) -> ThreadSubscription:
    """Follow a thread, recording the community consent first if the visitor ticked it
    (``consent_wording``: the text the page showed), all or nothing."""
    if consent_wording is not None and not customer_services.has_consent(
        customer, Purpose.COMMUNITY
    ):
        customer_portal.change_consent(
            customer, Purpose.COMMUNITY, True, language=language, wording=consent_wording
        )
    return subscribe(post, customer)


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


def active_subscriptions(post: Post) -> list[ThreadSubscription]:
    """Subscriptions to email about a reply: not ended, the customer active, with an email
    and still consenting to community notifications."""
    subs = ThreadSubscription.objects.filter(post=post, ended_at__isnull=True).select_related(
        "customer"
    )
    return [
        s
        for s in subs.order_by("id")
        if s.customer.status == CustomerStatus.ACTIVE
        and s.customer.email
        and customer_services.has_consent(s.customer, Purpose.COMMUNITY)
    ]


def subscribers(post: Post) -> list[Customer]:
    """Customers to email about a reply: subscribed and still consenting."""
    return [s.customer for s in active_subscriptions(post)]


@transaction.atomic
def appeal(
    post: Post,
    customer: Customer,
    *,
    text: Any = "",
    reply: Reply | None = None,
    now: dt.datetime | None = None,
) -> Appeal:
    """The author appeals the hiding of their post (or of their answer), once per hiding;
    until the owner decides, the public stub says an appeal waits."""
    post = _lock(post)
    if reply is not None:
        reply = Reply.objects.get(pk=reply.pk, post=post)
        if reply.customer_id is None or reply.customer_id != customer.pk:
            raise Forbidden(Code.NOT_AUTHOR, _("only the author of the answer may do this"))
        if not reply.hidden:
            raise ServiceError(Code.NOT_HIDDEN, _("this answer is not hidden"), field="reply")
        hide = reply.events.filter(action=Action.HIDE).order_by("-id").first()
    else:
        _require_author(post, customer)
        if not post.hidden:
            raise ServiceError(Code.NOT_HIDDEN, _("this post is not hidden"), field="post")
        hide = post.events.filter(action=Action.HIDE, reply__isnull=True).order_by("-id").first()
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
    ModerationEvent.objects.create(
        post=post,
        reply=reply,
        action=Action.APPEAL,
        actor_role="customer",
        data={"appeal": item.pk},
        created_at=now,
    )
    audit.record(Actor.customer(), "community.appealed", post, appeal=item.pk)
    return item


@transaction.atomic
def customer_reply(
    post: Post,
    customer: Customer,
    *,
    text: Any,
    display_name: Any,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Reply:
    """A customer's answer in the thread (the author or anyone else), moderated like posts;
    the thread's followers but its writer are emailed on commit (consent checked)."""
    _require_active(customer)
    body = clean_text(text)
    name = _clean_display_name(display_name)
    post = _lock(post)
    if post.hidden or post.withdrawn:
        raise Conflict(
            Code.POST_HIDDEN,
            _("this thread is closed: its post is hidden or was withdrawn"),
            field="text",
        )
    now = now or timezone.now()
    item = Reply.objects.create(
        post=post,
        author_role="customer",
        customer=customer,
        display_name=name,
        text=body,
        created_at=now,
    )
    _event(post, Action.REPLY, role="customer", now=now, reply=item.pk)
    audit.record(actor or Actor.customer(), "community.customer_replied", post, reply=item.pk)
    others = [s for s in active_subscriptions(post) if s.customer_id != customer.pk]
    notify.reply_posted(post, item, others)
    # The same consequence as the business's reply: ``reply.author_role`` tells them apart.
    consequences.fire(
        Consequence.REPLY_PUBLISHED,
        organization_id=post.organization_id,
        post=post,
        reply=item,
        actor=actor or Actor.customer(),
    )
    return item


@transaction.atomic
def withdraw_post(
    post: Post, customer: Customer, *, actor: Actor | None = None, now: dt.datetime | None = None
) -> Post:
    """The author withdraws their post: a stub "withdrawn by its author" stays in its place,
    the business's replies stay; nothing is deleted (the author's export keeps the text)."""
    post = _lock(post)
    _require_author(post, customer)
    if post.withdrawn:
        raise Conflict(Code.WITHDRAWN, _("you already withdrew this post"), field="post")
    now = now or timezone.now()
    post.withdrawn_at = now
    post.save(update_fields=["withdrawn_at"])
    _event(post, Action.WITHDRAW, role="customer", now=now)
    audit.record(actor or Actor.customer(), "community.post_withdrawn", post)
    return post


@transaction.atomic
def author_set_status(
    post: Post,
    customer: Customer,
    *,
    resolved: bool,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Post:
    """The author says their question or complaint is resolved, or opens it again."""
    post = _lock(post)
    _require_author(post, customer)
    if post.withdrawn:
        raise Conflict(Code.WITHDRAWN, _("you withdrew this post"), field="status")
    status = PostStatus.RESOLVED if resolved else PostStatus.OPEN
    if post.status == status or (not resolved and post.status != PostStatus.RESOLVED):
        raise ServiceError(Code.UNCHANGED, _("the post already has this status"), field="status")
    now = now or timezone.now()
    before = post.status
    post.status = status
    post.save(update_fields=["status"])
    _event(post, Action.STATUS_CHANGE, role="customer", now=now, before=before, after=str(status))
    audit.record(
        actor or Actor.customer(), "community.status_changed", post, before=before, after=status
    )
    return post


# Words that replace an erased customer's name inside other texts, in the text's language.
A_CUSTOMER = {"fr": "un client", "en": "a customer"}
MIN_NAME_LENGTH = 3


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _names_of(
    customer: Customer, former: tuple[str, str] = ("", "")
) -> tuple[list[str], list[str]]:
    """How the customer was named, as two lists (longest first: "Inès M." before "Inès"):

    - the **full** forms, which name this person and no one else: "First Last", "First L."
      (and "First L" without the dot), and the display names the page showed with their posts
      and answers when they have two words or more ("Inès M.", what others read and quote);
    - the **bare** words, which other people may share: the first name alone, the last name
      alone, a one-word display name ("Inès").

    ``former``: the record's first and last names, which the erasure blanks before the
    community hears of it (the consequence carries them, in memory)."""
    shown = set(Post.objects.filter(author=customer).values_list("display_name", flat=True))
    shown |= set(Reply.objects.filter(customer=customer).values_list("display_name", flat=True))
    shown.discard(ANONYMOUS)
    first = (former[0] or customer.first_name or "").strip()
    last = (former[1] or customer.last_name or "").strip()
    full = {n.strip() for n in shown if len(n.split()) >= 2}
    bare = {n.strip() for n in shown if len(n.split()) == 1}
    bare |= {n.split()[0] for n in full}
    if first and last:
        full |= {f"{first} {last}", f"{first} {last[0]}.", f"{first} {last[0]}"}
    bare |= {first, last}

    def keep(names: set[str]) -> list[str]:
        return sorted((n for n in names if n and len(n) >= MIN_NAME_LENGTH), key=len, reverse=True)

    return keep(full), keep(bare - full)


class _Redactor:
    """Replaces whole-word occurrences of names, case- and accent-insensitive ("Ines",
    "INÈS" and "inès" are one name), without touching words that merely contain one
    ("Marietta" is not "Marie")."""

    def __init__(self, names: Iterable[str]) -> None:
        folded = sorted({_fold(n) for n in names if n}, key=len, reverse=True)
        alternatives = "|".join(re.escape(n) for n in folded)
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if folded else None

    def sub(self, text: str, language: str) -> str:
        if self.pattern is None or not text:
            return text
        # Fold character by character, remembering where each folded character came from, so
        # a match in the folded text replaces the original characters.
        folded: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(text):
            f = _fold(ch)
            folded.append(f)
            origin.extend([i] * len(f))
        flat = "".join(folded)
        word = A_CUSTOMER.get((language or "fr")[:2], A_CUSTOMER["fr"])
        out: list[str] = []
        pos = 0
        for m in self.pattern.finditer(flat):
            if m.start() == m.end():
                continue
            begin, end = origin[m.start()], origin[m.end() - 1] + 1
            if begin < pos:
                continue
            out.append(text[pos:begin])
            out.append(word)
            pos = end
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)


def _redact_thread(post: Post, redactor: _Redactor) -> dict[str, list[int]]:
    """Take the names out of one thread's texts (post, versions, replies, public notes)."""
    lang = post.language
    changed: dict[str, list[int]] = {"post": [], "versions": [], "replies": [], "notes": []}
    redacted = redactor.sub(post.text, lang)
    if redacted != post.text:
        Post.objects.filter(pk=post.pk).update(text=redacted)
        changed["post"].append(post.pk)
    # The history is append-only, but an erased name must leave it too: the redaction is
    # the one rewrite, and it is logged (what changed, never the name).
    for version in PostVersion.objects.filter(post=post):
        new = redactor.sub(version.text, lang)
        if new != version.text:
            PostVersion.objects.filter(pk=version.pk).update(text=new)
            changed["versions"].append(version.number)
    for item in Reply.objects.filter(post=post):
        new = redactor.sub(
            item.text, analysis.detect_language(item.text, "en" if lang == "en" else "fr")
        )
        if new != item.text:
            Reply.objects.filter(pk=item.pk).update(text=new)
            changed["replies"].append(item.pk)
    for event in ModerationEvent.objects.filter(post=post).exclude(note=""):
        new = redactor.sub(event.note, lang)
        if new != event.note:
            ModerationEvent.objects.filter(pk=event.pk).update(note=new)
            changed["notes"].append(event.pk)
    for appeal in Appeal.objects.filter(post=post).exclude(decision_note=""):
        new = redactor.sub(appeal.decision_note, lang)
        if new != appeal.decision_note:
            Appeal.objects.filter(pk=appeal.pk).update(decision_note=new)
            changed["notes"].append(appeal.hide_event_id)
    return changed


def _threads_naming(organization_id: int, redactor: _Redactor) -> set[int]:
    """The threads of the organization where a text matches (a few bulk reads, no per-thread
    query: most threads do not name the erased customer)."""
    if redactor.pattern is None:
        return set()
    pattern = redactor.pattern
    sources = [
        Post.objects.filter(organization_id=organization_id).values_list("pk", "text"),
        PostVersion.objects.filter(post__organization_id=organization_id).values_list(
            "post_id", "text"
        ),
        Reply.objects.filter(post__organization_id=organization_id).values_list("post_id", "text"),
        ModerationEvent.objects.filter(post__organization_id=organization_id)
        .exclude(note="")
        .values_list("post_id", "note"),
        Appeal.objects.filter(post__organization_id=organization_id)
        .exclude(decision_note="")
        .values_list("post_id", "decision_note"),
    ]
    return {
        pk
        for rows in sources
        for pk, text in rows.iterator()
        if text and pattern.search(_fold(text))
    }


def erase_author(customer: Customer, former_names: tuple[str, str] = ("", "")) -> None:
    """On CUSTOMER_ERASED: the author's identity leaves their posts and answers, and their name
    leaves the texts others wrote (customers' answers, the business's replies and public
    notes), replaced by "a customer" in the text's language ("un client" in French). Runs
    inside ``erase_customer``'s transaction; each thread's redaction is a REDACT event and an
    audit row (which texts changed, never the name).

    Where the name is taken out, since a first name alone is ambiguous:

    - the **full** forms ("Marie Dupont", "Marie D.", a two-word display name) in every
      thread of the organization: they name this person;
    - the **bare** words (first name alone, last name alone, a one-word display name) only in
      the threads the erased customer took part in (their own posts, and the threads they
      answered in), where "Bonjour Marie" addresses them; and not where another participant
      of that thread goes by the same first name (another Marie), who would lose hers.
    """
    full, bare = _names_of(customer, former_names)
    own = set(Post.objects.filter(author=customer).values_list("pk", flat=True))
    own |= set(Reply.objects.filter(customer=customer).values_list("post_id", flat=True))
    Post.objects.filter(author=customer).update(author=None, display_name=ANONYMOUS)
    Reply.objects.filter(customer=customer).update(customer=None, display_name=ANONYMOUS)
    Appeal.objects.filter(author=customer).update(author=None)
    ThreadSubscription.objects.filter(customer=customer, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if not full and not bare:
        return
    now = timezone.now()
    everywhere = _Redactor(full)
    posts = Post.objects.filter(
        pk__in=own | _threads_naming(customer.organization_id, everywhere)
    ).order_by("pk")
    for post in posts:
        redactor = everywhere
        if post.pk in own and bare:
            # Others in this thread who go by one of the bare names keep theirs.
            others = {
                _fold(name.split()[0])
                for name in [
                    *Post.objects.filter(pk=post.pk)
                    .exclude(author=None)
                    .values_list("display_name", flat=True),
                    *Reply.objects.filter(post=post)
                    .exclude(customer=None)
                    .values_list("display_name", flat=True),
                ]
                if name and name.split() and name != ANONYMOUS
            }
            redactor = _Redactor([*full, *(n for n in bare if _fold(n) not in others)])
        changed = _redact_thread(post, redactor)
        if any(changed.values()):
            ModerationEvent.objects.create(
                post=post, action=Action.REDACT, actor_role="system", data=changed, created_at=now
            )
            audit.record(Actor.system("erasure"), "community.name_redacted", post, changed=changed)


# --------------------------------------------------------------------------- staff


@transaction.atomic
def reply(post: Post, membership: StaffLike, *, text: Any, now: dt.datetime | None = None) -> Reply:
    """A public reply as the business; subscribers of the thread are emailed on commit."""
    staff = _require(membership, Perm.REPLY_COMMUNITY, _("reply publicly"))
    body = clean_text(text)
    post = _lock(post)
    now = now or timezone.now()
    item = Reply.objects.create(
        post=post, author=staff.user, author_role=staff.role, text=body, created_at=now
    )
    _event(post, Action.REPLY, role=staff.role, user=staff.user, now=now, reply=item.pk)
    audit.record(staff.actor, "community.replied", post, reply=item.pk)
    notify.reply_posted(post, item, active_subscriptions(post))
    consequences.fire(
        Consequence.REPLY_PUBLISHED,
        organization_id=post.organization_id,
        post=post,
        reply=item,
        actor=staff.actor,
    )
    return item


@transaction.atomic
def set_status(
    post: Post,
    membership: StaffLike,
    *,
    status: Any,
    note: Any = "",
    now: dt.datetime | None = None,
) -> Post:
    """Open -> acknowledged -> resolved (or back), with a public note of what was done."""
    staff = _require(membership, Perm.MODERATE_COMMUNITY, _("change a post's status"))
    if status not in PostStatus.values:
        raise ServiceError(
            Code.UNKNOWN_STATUS,
            _("choose a status: %(s)s") % {"s": ", ".join(str(x) for x in PostStatus.labels)},
            field="status",
        )
    text = _clean_note(note)
    post = _lock(post)
    if post.status == status:
        raise ServiceError(Code.UNCHANGED, _("the post already has this status"), field="status")
    now = now or timezone.now()
    _status_change(post, staff, str(status), text, now)
    post.save(update_fields=["status"])
    return post


def _status_change(post: Post, staff: Staff, status: str, note: str, now: dt.datetime) -> None:
    before = post.status
    post.status = status
    _event(
        post,
        Action.STATUS_CHANGE,
        role=staff.role,
        user=staff.user,
        note=note,
        now=now,
        before=before,
        after=status,
    )
    audit.record(staff.actor, "community.status_changed", post, before=before, after=status)


@transaction.atomic
def acknowledge(
    post: Post, membership: StaffLike, *, note: Any = "", now: dt.datetime | None = None
) -> Post:
    """ "We got this wrong": shown publicly; an open post becomes acknowledged."""
    staff = _require(membership, Perm.MODERATE_COMMUNITY, _("acknowledge a post"))
    text = _clean_note(note)
    post = _lock(post)
    if post.acknowledged:
        raise Conflict(Code.ALREADY_ACKNOWLEDGED, _("this post is already acknowledged"))
    now = now or timezone.now()
    post.acknowledged = True
    _event(post, Action.ACKNOWLEDGE, role=staff.role, user=staff.user, note=text, now=now)
    audit.record(staff.actor, "community.acknowledged", post)
    if post.status == PostStatus.OPEN:
        _status_change(post, staff, PostStatus.ACKNOWLEDGED, "", now)
    post.save(update_fields=["acknowledged", "status"])
    return post


@transaction.atomic
def link_customer(
    post: Post,
    membership: StaffLike,
    customer: Customer | None,
    *,
    now: dt.datetime | None = None,
) -> Post:
    """Link the post to a customer record (None removes the link). Staff only, not public."""
    staff = _require(membership, Perm.REPLY_COMMUNITY, _("link a post to a customer record"))
    if customer is not None and customer.status != CustomerStatus.ACTIVE:
        raise ServiceError(
            Code.CUSTOMER_INACTIVE, _("this customer record is not active"), field="customer"
        )
    post = _lock(post)
    now = now or timezone.now()
    post.linked_customer = customer
    post.save(update_fields=["linked_customer"])
    customer_id = customer.pk if customer is not None else None
    _event(
        post,
        Action.LINK_CUSTOMER,
        role=staff.role,
        user=staff.user,
        now=now,
        customer=customer_id,
    )
    audit.record(staff.actor, "community.customer_linked", post, customer=customer_id)
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
    post: Post, membership: StaffLike, themes: Iterable[Any], *, now: dt.datetime | None = None
) -> Post:
    staff = _require(membership, Perm.REPLY_COMMUNITY, _("tag themes"))
    cleaned = clean_themes(themes)
    post = _lock(post)
    now = now or timezone.now()
    before = list(post.themes)
    # Themes come from the organization's own list; one the post already carries may stay
    # after it left the list (renamed or removed), so saving the form never loses it.
    known = set(theme_list()) | set(before)
    unknown = [theme for theme in cleaned if theme not in known]
    if unknown:
        raise ServiceError(
            Code.UNKNOWN_THEME,
            _("“%(theme)s” is not one of your themes: add it in the community settings first")
            % {"theme": unknown[0]},
            field="themes",
        )
    post.themes = cleaned
    post.save(update_fields=["themes"])
    _event(
        post,
        Action.TAG,
        role=staff.role,
        user=staff.user,
        now=now,
        before=before,
        after=cleaned,
    )
    audit.record(staff.actor, "community.tagged", post, themes=cleaned)
    return post


CRITICISM_SENTIMENTS = frozenset({Sentiment.NEGATIVE, Sentiment.MIXED})


def is_criticism(kind: str, sentiment: str, reasons: Iterable[str] = ()) -> bool:
    """A complaint, or a text read as negative or mixed, or reporting a problem calmly:
    hiding it takes the exact passage that breaks the rule."""
    return (
        kind == PostKind.COMPLAINT
        or sentiment in CRITICISM_SENTIMENTS
        or analysis.REASON_PLAIN_COMPLAINT in reasons
    )


def post_is_criticism(post: Post) -> bool:
    return is_criticism(post.kind, post.sentiment, post.look_reasons or ())


def reply_is_criticism(reply: Reply) -> bool:
    result = analysis.analyse(reply.text, themes={}, lemmatizer="lookup")
    return is_criticism("", result.sentiment, result.reasons)


_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def clean_passage(value: Any, text: str, *, required: bool) -> str:
    """The quoted passage, which must be found in ``text`` (spaces and case aside)."""
    passage = value.strip() if isinstance(value, str) else ""
    if not passage:
        if required:
            raise ServiceError(
                Code.PASSAGE_REQUIRED,
                _(
                    "this post reads as criticism, and criticism is not abuse: quote the exact "
                    "passage that breaks the rule"
                ),
                field="passage",
            )
        return ""
    _check_chars(passage, "passage")
    if len(_squash(passage)) < min(3, len(_squash(text))) or _squash(passage) not in _squash(text):
        raise ServiceError(
            Code.PASSAGE_NOT_FOUND,
            _("the passage must be copied exactly from the text: these words are not in it"),
            field="passage",
        )
    return passage


def _clean_reason(reason: Any) -> str:
    if reason not in HideReason.values:
        raise ServiceError(
            Code.UNKNOWN_REASON,
            _("a post can be hidden only for one of these reasons: %(r)s")
            % {"r": ", ".join(str(label) for label in HideReason.labels)},
            field="reason",
        )
    return str(reason)


@transaction.atomic
def hide_post(
    post: Post,
    membership: StaffLike,
    *,
    reason: Any,
    note: Any = "",
    passage: Any = "",
    now: dt.datetime | None = None,
) -> ModerationEvent:
    """Hide a post for a listed abuse reason (criticism: with the exact passage quoted). The
    text stays; the public stub keeps author, date, kind and the reason in words."""
    staff = _require(membership, Perm.MODERATE_COMMUNITY, _("moderate posts"))
    why = _clean_reason(reason)
    text = _clean_note(note)
    post = _lock(post)
    if post.hidden:
        raise Conflict(Code.ALREADY_HIDDEN, _("this post is already hidden"), field="post")
    if post.withdrawn:
        raise Conflict(
            Code.WITHDRAWN, _("its author withdrew this post: nothing is shown"), field="post"
        )
    criticism = post_is_criticism(post)
    quoted = clean_passage(passage, post.text, required=criticism)
    now = now or timezone.now()
    event = _event(
        post,
        Action.HIDE,
        role=staff.role,
        user=staff.user,
        reason=why,
        note=text,
        now=now,
        criticism=criticism,
        passage=quoted,
    )
    post.hidden = True
    post.save(update_fields=["hidden"])
    audit.record(staff.actor, "community.post_hidden", post, reason=why, criticism=criticism)
    notify.post_hidden(post, event)
    consequences.fire(
        Consequence.POST_HIDDEN,
        organization_id=post.organization_id,
        post=post,
        event=event,
        actor=staff.actor,
    )
    return event


@transaction.atomic
def hide_reply(
    item: Reply,
    membership: StaffLike,
    *,
    reason: Any,
    note: Any = "",
    passage: Any = "",
    now: dt.datetime | None = None,
) -> ModerationEvent:
    """Hide a customer's answer in a thread, under the same rules as a post."""
    staff = _require(membership, Perm.MODERATE_COMMUNITY, _("moderate posts"))
    why = _clean_reason(reason)
    text = _clean_note(note)
    post = _lock(item.post)
    item = Reply.objects.get(pk=item.pk)
    if not item.by_customer:
        raise ServiceError(
            Code.NOT_CUSTOMER_REPLY,
            _("the business's replies are not moderated: publish a correction instead"),
            field="reply",
        )
    if item.hidden:
        raise Conflict(Code.ALREADY_HIDDEN, _("this answer is already hidden"), field="reply")
    criticism = reply_is_criticism(item)
    quoted = clean_passage(passage, item.text, required=criticism)
    now = now or timezone.now()
    event = ModerationEvent.objects.create(
        post=post,
        reply=item,
        action=Action.HIDE,
        reason=why,
        actor_user=staff.user,
        actor_role=staff.role,
        note=text,
        data={"criticism": criticism, "passage": quoted, "reply": item.pk},
        created_at=now,
    )
    # The cache of the log, written beside its event (replies are otherwise immutable).
    Reply.objects.filter(pk=item.pk).update(hidden=True)
    item.hidden = True
    audit.record(
        staff.actor, "community.reply_hidden", post, reply=item.pk, reason=why, criticism=criticism
    )
    notify.reply_hidden(post, item, event)
    return event


@transaction.atomic
def restore_post(
    post: Post, membership: StaffLike, *, note: Any = "", now: dt.datetime | None = None
) -> ModerationEvent:
    """Show a hidden post again (a moderator changing their mind)."""
    staff = _require(membership, Perm.MODERATE_COMMUNITY, _("moderate posts"))
    text = _clean_note(note)
    post = _lock(post)
    if not post.hidden:
        raise ServiceError(Code.NOT_HIDDEN, _("this post is not hidden"), field="post")
    if Appeal.objects.filter(
        post=post, hide_event__reply__isnull=True, decision=AppealDecision.PENDING
    ).exists():
        raise Conflict(
            Code.APPEAL_PENDING,
            _("the author has appealed: the owner decides the appeal"),
            field="post",
        )
    now = now or timezone.now()
    event = _event(post, Action.RESTORE, role=staff.role, user=staff.user, note=text, now=now)
    post.hidden = False
    post.save(update_fields=["hidden"])
    audit.record(staff.actor, "community.post_restored", post)
    return event


@transaction.atomic
def decide_appeal(
    item: Appeal,
    membership: StaffLike,
    *,
    upheld: bool,
    note: Any = "",
    now: dt.datetime | None = None,
) -> Appeal:
    """The owner decides: upheld shows the post (or answer) again; rejected keeps it hidden,
    with a written reason of at least :data:`MIN_REJECTION_NOTE` characters shown publicly."""
    staff = _require(membership, Perm.DECIDE_APPEALS, _("decide appeals"))
    text = _clean_note(note)
    item = Appeal.objects.select_for_update().get(pk=item.pk)
    if item.decision != AppealDecision.PENDING:
        raise Conflict(Code.ALREADY_DECIDED, _("this appeal is already decided"), field="appeal")
    if not upheld and len(text) < MIN_REJECTION_NOTE:
        raise ServiceError(
            Code.NOTE_REQUIRED,
            _(
                "say publicly why the appeal is rejected, in at least %(n)d characters: "
                "the business decides an appeal against itself, so the reason is shown"
            )
            % {"n": MIN_REJECTION_NOTE},
            field="note",
        )
    post = _lock(item.post)
    now = now or timezone.now()
    item.decision = AppealDecision.UPHELD if upheld else AppealDecision.REJECTED
    item.decided_at = now
    item.decided_by = staff.user
    item.decision_note = text
    item.save(update_fields=["decision", "decided_at", "decided_by", "decision_note"])
    reply_id = item.hide_event.reply_id
    ModerationEvent.objects.create(
        post=post,
        reply_id=reply_id,
        action=Action.APPEAL_UPHELD if upheld else Action.APPEAL_REJECTED,
        actor_user=staff.user,
        actor_role=staff.role,
        note=text,
        data={"appeal": item.pk},
        created_at=now,
    )
    if upheld and reply_id is not None:
        Reply.objects.filter(pk=reply_id).update(hidden=False)
    elif upheld and post.hidden:
        post.hidden = False
        post.save(update_fields=["hidden"])
    audit.record(
        staff.actor,
        "community.appeal_decided",
        post,
        appeal=item.pk,
        decision=item.decision,
    )
    notify.appeal_decided(item, post)
    return item


# --------------------------------------------------------------------------- settings

MAX_THEME_COUNT = 30
MAX_KEYWORDS = 60
MAX_KEYWORD_LENGTH = 60
REANALYSE_BATCH = 500
# Up to this many posts, "re-analyse all posts" runs in the request; beyond, in a task.
REANALYSE_INLINE_MAX = 300
_KEYWORD_SPLIT = re.compile(r"[,;\n]+")


def get_settings() -> CommunitySettings:
    """The current organization's settings, created with the defaults on first use."""
    current = CommunitySettings.objects.first()
    if current is None:
        current, _created = CommunitySettings.objects.get_or_create()
    return current


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        items: list[Any] = _KEYWORD_SPLIT.split(value)
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = []
    words: list[str] = []
    for item in items:
        word = " ".join(item.split()).lower() if isinstance(item, str) else ""
        if word and word not in words:
            words.append(word)
    return words


def clean_theme_list(rows: Iterable[tuple[Any, Any]]) -> dict[str, list[str]]:
    """``[(name, keywords)]`` -> ``{name: [keywords]}``; rows with neither are skipped.

    Keywords are a list or a text separated by commas, semicolons or lines. Errors name the
    row: ``theme-<i>-name`` or ``theme-<i>-keywords`` (i from 0).
    """
    themes: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, (raw_name, raw_keywords) in enumerate(rows):
        name = " ".join(raw_name.split()) if isinstance(raw_name, str) else ""
        words = _keywords(raw_keywords)
        if not name and not words:
            continue
        name_field, words_field = f"theme-{index}-name", f"theme-{index}-keywords"
        if not name:
            raise ServiceError(Code.EMPTY, _("this theme needs a name"), field=name_field)
        if len(name) > MAX_THEME_LENGTH:
            raise ServiceError(
                Code.TOO_LONG,
                _("a theme name has %(max)d characters at most") % {"max": MAX_THEME_LENGTH},
                field=name_field,
            )
        _check_chars(name, name_field)
        if name.casefold() in seen:
            raise ServiceError(
                Code.INVALID,
                _("two themes are called “%(name)s”: give each theme its own name")
                % {"name": name},
                field=name_field,
            )
        if not words:
            raise ServiceError(
                Code.EMPTY,
                _("give at least one keyword for “%(name)s”, separated by commas") % {"name": name},
                field=words_field,
            )
        if len(words) > MAX_KEYWORDS:
            raise ServiceError(
                Code.INVALID,
                _("%(max)d keywords at most per theme") % {"max": MAX_KEYWORDS},
                field=words_field,
            )
        for word in words:
            if len(word) > MAX_KEYWORD_LENGTH:
                raise ServiceError(
                    Code.TOO_LONG,
                    _("the keyword “%(word)s…” is too long: %(max)d characters at most")
                    % {"word": word[:20], "max": MAX_KEYWORD_LENGTH},
                    field=words_field,
                )
            _check_chars(word, words_field)
        seen[name.casefold()] = index
        themes[name] = words
    if len(themes) > MAX_THEME_COUNT:
        raise ServiceError(
            Code.INVALID,
            _("%(max)d themes at most") % {"max": MAX_THEME_COUNT},
            field="themes",
        )
    if not themes:
        raise ServiceError(
            Code.EMPTY,
            _("keep at least one theme (or reset to the suggested list)"),
            field="themes",
        )
    return themes


@transaction.atomic
def update_settings(
    membership: StaffLike,
    *,
    themes: Iterable[tuple[Any, Any]] | None = None,
    renames: dict[str, str] | None = None,
    reset_themes: bool = False,
    digest_enabled: bool | None = None,
) -> CommunitySettings:
    """Edit the organization's theme list (or reset it to the suggested one) and the digest.

    ``renames`` ({old name: new name}, for themes of the new list) carries the staff's tags
    over to the new name. Detected themes are not re-computed here: see
    :func:`reanalyse_posts`.
    """
    staff = _require(membership, Perm.VIEW_COMMUNITY_DASHBOARD, _("change the community settings"))
    cleaned = None if themes is None or reset_themes else clean_theme_list(themes)
    current = get_settings()
    current = CommunitySettings.objects.select_for_update().get(pk=current.pk)
    changed: list[str] = []
    retagged = 0
    if reset_themes and current.themes:
        current.themes = {}
        changed.append("themes")
    elif cleaned is not None and cleaned != current.themes:
        current.themes = cleaned
        changed.append("themes")
        retagged = _carry_tags((renames or {}), set(cleaned))
    if digest_enabled is not None and bool(digest_enabled) != current.digest_enabled:
        current.digest_enabled = bool(digest_enabled)
        changed.append("digest_enabled")
    if changed:
        current.save(update_fields=changed)
        audit.record(
            staff.actor,
            "community.settings_updated",
            current,
            changed=changed,
            themes=sorted(current.themes),
            digest_enabled=current.digest_enabled,
            renamed=dict(renames or {}) if retagged else {},
            posts_retagged=retagged,
        )
    return current


def _carry_tags(renames: dict[str, str], new_names: set[str]) -> int:
    """Replace renamed themes in the staff's tags; how many posts changed."""
    renames = {old: new for old, new in renames.items() if new in new_names and old != new}
    if not renames:
        return 0
    changed = 0
    for post in Post.objects.exclude(themes=[]).only("pk", "themes").iterator():
        themes = list(post.themes or [])
        if not any(t in renames for t in themes):
            continue
        updated: list[str] = []
        for theme in themes:
            name = renames.get(theme, theme)
            if name not in updated:
                updated.append(name)
        Post.objects.filter(pk=post.pk).update(themes=updated)
        changed += 1
    return changed


def reanalyse_posts(*, after_id: int = 0, limit: int | None = None) -> tuple[int, int]:
    """Analyse posts again with the organization's current theme list, by batches.

    Only the analysis fields change (sentiment, flag, detected themes, emerging words): no
    moderation event, nothing hidden or shown. Returns (posts analysed, last id) so that a
    caller can go on after the last id.
    """
    index = theme_index()
    done = 0
    last = after_id
    while limit is None or done < limit:
        size = REANALYSE_BATCH if limit is None else min(REANALYSE_BATCH, limit - done)
        posts = list(Post.objects.filter(pk__gt=last).order_by("pk")[:size])
        if not posts:
            break
        results = analysis.analyse_many(
            [p.text for p in posts],
            languages=[p.language for p in posts],
            themes=index,
            lemmatizer="lookup",
        )
        for post, result in zip(posts, results, strict=True):
            _apply(post, result)
        with transaction.atomic():
            Post.objects.bulk_update(
                posts,
                [
                    "language",
                    "sentiment",
                    "sentiment_score",
                    "needs_human_look",
                    "look_reasons",
                    "detected_themes",
                    "emerging_words",
                ],
            )
        done += len(posts)
        last = posts[-1].pk
    return done, last


def record_reanalysis(membership: StaffLike, count: int, *, queued: bool) -> None:
    staff = _require(membership, Perm.VIEW_COMMUNITY_DASHBOARD, _("re-analyse the posts"))
    audit.record(
        staff.actor, "community.reanalysed", object_type="community", posts=count, queued=queued
    )
