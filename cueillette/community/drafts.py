"""A first post by someone the page does not know yet: held as a draft until they confirm.

:func:`start_draft` checks the post with the same rules as :mod:`services` (nothing is stored
when one is broken), keeps it as a :class:`PostDraft` whose token is stored hashed, and emails a
link. The link shows a button; only the button's POST (:func:`confirm_draft`) publishes, once:
mail scanners open links, they do not press buttons.

Confirming finds the active customer with that email in the organization, or creates one (the
display name as first name, nothing else, no consent but the one they ticked), publishes the
post through :func:`services.create_post` and, if they asked to follow the replies and gave the
"community notifications" consent on the form, records that consent (current wording, in the
ledger) and subscribes them. The page then opens their space (see ``views_public``).

Drafts never confirmed hold an email address: :func:`purge_expired` deletes them after their
expiry (the daily retention run calls it for each organization).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from cueillette.community import services
from cueillette.community.models import (
    MAX_DISPLAY_NAME,
    Post,
    PostDraft,
    PostKind,
    Reply,
    ThreadSubscription,
)
from cueillette.core import audit, scheduling
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.mail import send_templated
from cueillette.core.models import Organization
from cueillette.core.tenancy import current_org, tenant_context
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers import services as customer_services
from cueillette.customers.errors import Code as CustomerCode
from cueillette.customers.models import Customer, CustomerStatus, Purpose, Source
from cueillette.customers.normalize import normalize_email

DRAFT_MAX_AGE = dt.timedelta(hours=48)
ACTOR_LABEL = "community page"
# A customer created by confirming a first post, and the consents given on that form.
SOURCE = Source.COMMUNITY


def actor() -> Actor:
    return Actor.customer(ACTOR_LABEL)


@dataclass(frozen=True)
class Confirmed:
    post: Post  # the post published, or the thread answered
    customer: Customer
    subscription: ThreadSubscription | None
    created_customer: bool
    reply: Reply | None = None  # the answer published, for a draft of an answer


def _clean_email(value: Any) -> str:
    email = normalize_email(value if isinstance(value, str) else "")
    if not email:
        raise ServiceError(CustomerCode.REQUIRED, _("email is required"), field="email")
    return email


@transaction.atomic
def start_draft(
    email: Any,
    display_name: Any,
    kind: Any,
    text: Any,
    rating: Any = None,
    subscribe: bool = False,
    language: str = "fr",
    *,
    now: dt.datetime | None = None,
) -> PostDraft:
    """Check and hold a first post, email its confirmation link. Bad input writes nothing.

    ``subscribe`` is true only when the visitor asked to follow the replies **and** ticked the
    community notifications consent on the form (the view checks both).
    """
    errors: list[dict[str, Any]] = []
    cleaned: dict[str, Any] = {}
    checks: dict[str, Callable[[], Any]] = {
        "kind": lambda: services._clean_kind(kind),
        "text": lambda: services.clean_text(text),
        "display_name": lambda: services.clean_text(
            display_name, "display_name", max_length=MAX_DISPLAY_NAME
        ),
        # An unknown kind is reported once, on "kind": the stars are then judged as a review's.
        "rating": lambda: services.clean_rating_for(
            kind if kind in PostKind.values else PostKind.REVIEW, rating
        ),
        "email": lambda: _clean_email(email),
    }
    for name, check in checks.items():
        try:
            cleaned[name] = check()
        except ServiceError as exc:
            errors.append({"code": exc.code, "field": exc.field or name, "message": exc.message})
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
    now = now or timezone.now()
    lang = language if language in ("fr", "en") else current_org().language
    raw = new_token()
    draft = PostDraft.objects.create(
        email=cleaned["email"],
        display_name=cleaned["display_name"],
        kind=cleaned["kind"],
        rating=cleaned["rating"],
        text=cleaned["text"],
        language=lang,
        subscribe=bool(subscribe),
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + DRAFT_MAX_AGE,
    )
    org = current_org()
    url = settings.SITE_URL + reverse(
        "public:community_confirm", kwargs={"slug": org.slug, "token": raw}
    )
    send_templated(
        "community/email/draft_confirm",
        draft.email,
        {
            "organization": org,
            "url": url,
            "hours": int(DRAFT_MAX_AGE.total_seconds() // 3600),
            "kind": draft.get_kind_display(),
            "text": draft.text,
        },
        language=lang,
    )
    audit.record(actor(), "community.draft_started", draft, kind=draft.kind)
    return draft


@transaction.atomic
def start_reply_draft(
    post: Post,
    email: Any,
    display_name: Any,
    text: Any,
    language: str = "fr",
    *,
    now: dt.datetime | None = None,
) -> PostDraft:
    """Check and hold an answer in a thread by someone not identified; email its link."""
    errors: list[dict[str, Any]] = []
    cleaned: dict[str, Any] = {}
    checks: dict[str, Callable[[], Any]] = {
        "text": lambda: services.clean_text(text),
        "display_name": lambda: services.clean_text(
            display_name, "display_name", max_length=MAX_DISPLAY_NAME
        ),
        "email": lambda: _clean_email(email),
    }
    for name, check in checks.items():
        try:
            cleaned[name] = check()
        except ServiceError as exc:
            errors.append({"code": exc.code, "field": exc.field or name, "message": exc.message})
    if errors:
        first = errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=errors)
    now = now or timezone.now()
    org = current_org()
    lang = language if language in ("fr", "en") else org.language
    raw = new_token()
    draft = PostDraft.objects.create(
        email=cleaned["email"],
        display_name=cleaned["display_name"],
        kind=post.kind,
        text=cleaned["text"],
        language=lang,
        reply_to=post,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + DRAFT_MAX_AGE,
    )
    url = settings.SITE_URL + reverse(
        "public:community_confirm", kwargs={"slug": org.slug, "token": raw}
    )
    send_templated(
        "community/email/draft_confirm",
        draft.email,
        {
            "organization": org,
            "url": url,
            "hours": int(DRAFT_MAX_AGE.total_seconds() // 3600),
            "kind": _("Answer"),
            "text": draft.text,
        },
        language=lang,
    )
    audit.record(actor(), "community.draft_started", draft, reply_to=post.pk)
    return draft


def draft_for_token(raw: Any, *, now: dt.datetime | None = None) -> PostDraft:
    """The draft behind a link, or a ServiceError saying why it cannot be used."""
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise ServiceError(CustomerCode.TOKEN_INVALID, _("this link is not valid"))
    draft = PostDraft.objects.filter(token_hash=hash_token(raw)).first()
    if draft is None:
        raise ServiceError(CustomerCode.TOKEN_INVALID, _("this link is not valid"))
    if draft.used_at is not None:
        raise ServiceError(
            CustomerCode.TOKEN_USED, _("this link has already been used"), status=410
        )
    if draft.expires_at < (now or timezone.now()):
        raise ServiceError(
            CustomerCode.TOKEN_EXPIRED,
            _("this link has expired: please write your post again"),
            status=410,
        )
    return draft


@transaction.atomic
def confirm_draft(raw: Any, *, now: dt.datetime | None = None) -> Confirmed:
    """The confirmation button's POST: publish the draft once, as its author's post."""
    now = now or timezone.now()
    draft = draft_for_token(raw, now=now)
    # Single use even under two concurrent clicks: only one UPDATE flips used_at.
    flipped = PostDraft.objects.filter(pk=draft.pk, used_at__isnull=True).update(used_at=now)
    if not flipped:
        raise ServiceError(
            CustomerCode.TOKEN_USED, _("this link has already been used"), status=410
        )
    customer = (
        Customer.objects.filter(email=draft.email, status=CustomerStatus.ACTIVE)
        .order_by("id")
        .first()
    )
    created = customer is None
    if customer is None:
        customer = customer_services.create_customer(
            customer_services.CustomerInput(
                first_name=draft.display_name, email=draft.email, language=draft.language
            ),
            actor=actor(),
            source=SOURCE,
        )
    if draft.reply_to_id is not None:
        thread = Post.objects.get(pk=draft.reply_to_id)
        answer = services.customer_reply(
            thread,
            customer,
            text=draft.text,
            display_name=draft.display_name,
            actor=actor(),
            now=now,
        )
        customer_services.touch_activity(customer, now)
        audit.record(
            actor(), "community.draft_confirmed", draft, reply=answer.pk, new_customer=created
        )
        return Confirmed(
            post=thread,
            customer=customer,
            subscription=None,
            created_customer=created,
            reply=answer,
        )
    post = services.create_post(
        customer,
        kind=draft.kind,
        text=draft.text,
        display_name=draft.display_name,
        rating=draft.rating,
        actor=actor(),
        now=now,
    )
    subscription = None
    if draft.subscribe:
        customer_services.record_consent(
            customer,
            Purpose.COMMUNITY,
            True,
            source=SOURCE,
            actor=actor(),
            language=draft.language,
            wording=customer_services.current_wording(Purpose.COMMUNITY, draft.language),
            evidence={"form": "community first post", "confirmed_email": True},
        )
        subscription = services.subscribe(post, customer, now=now)
    PostDraft.objects.filter(pk=draft.pk).update(post=post)
    customer_services.touch_activity(customer, now)
    audit.record(actor(), "community.draft_confirmed", draft, post=post.pk, new_customer=created)
    return Confirmed(
        post=post, customer=customer, subscription=subscription, created_customer=created
    )


def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the current organization's drafts past their expiry (they hold an email address).

    Confirmed drafts go too once expired: the post they made lives on as a post. Returns how
    many were deleted.
    """
    now = now or timezone.now()
    deleted, _by_model = PostDraft.objects.filter(expires_at__lt=now).delete()
    return int(deleted)


# --------------------------------------------------------------------------- daily pass
# A daily job (registered in CommunityConfig.ready()): one organization at a time.


def run_daily(org: Organization, now: dt.datetime | None = None) -> dict[str, int]:
    with tenant_context(org):
        return {"drafts_purged": purge_expired(now=now)}


@task()
def daily(org_id: int) -> dict[str, int]:
    org = scheduling.organization(org_id)
    return run_daily(org) if org is not None else {}


def run_all(now: dt.datetime | None = None) -> dict[str, Any]:
    """Every organization, inline (``run_scheduler --inline``)."""
    return scheduling.run_for_each(run_daily, now)


def enqueue_all() -> int:
    """Queue the pass for every organization (``run_scheduler``); how many were queued."""
    return scheduling.enqueue_for_each(daily)
