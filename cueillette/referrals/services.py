"""Every write of the referral program: atomic, audited, nothing written on bad input.

Abuse rules of :func:`record_referral` (checked in this order):

* **refused** (``ServiceError``, nothing written):
  - the program is closed (``referral_program_closed``);
  - an erased record on either side (``customer_inactive``);
  - **self-referral** (``self_referral``): the same record, the same person merged under two
    records (merged records are followed to their survivor first), or the same email or phone;
    a card belongs to one record, so "the same card" is the same record;
  - the friend already has a live (pending or confirmed) referral from **someone else**
    (``already_referred``, 409). The same referrer again returns the existing referral
    (a retry, a double click): a referral is recorded once.
* **flagged** for a manager's review (recorded, ``under_review``, with a deadline after which
  the organization's default applies, see :func:`apply_review_defaults`):
  - ``loop``: the friend is an ancestor of the referrer (A -> B -> A, or longer);
  - ``burst``: more than ``burst_count`` referrals from the referrer within ``burst_hours``,
    this one included (the rules page says "more than N within H hours");
  - ``existing``: the friend's record was created more than :data:`EXISTING_GRACE` before
    the referral, or the friend already has purchases;
  - ``duplicate``: another active record shares the friend's email or phone;
  - ``self``: the referrer and the friend have the same name and the same postal code or
    birthday (perhaps one person under two records).

The referrer never receives the friend's data: nothing here emails or shows the referrer
anything about the friend; staff pages show both, the member's own page shows counts only.

A manager can reject any pending referral with a reason (:func:`reject`: a wrong "who sent
you?" at the counter is corrected that way); a confirmed referral stays confirmed, because its
rewards are points already given.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences, permissions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import Conflict, NotFound, ServiceError
from cueillette.core.inputs import UNSET, Unset, given
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.customers import queries as customer_queries
from cueillette.customers import services as customer_services
from cueillette.customers.models import Customer, CustomerStatus
from cueillette.customers.normalize import fold
from cueillette.loyalty.models import Purchase
from cueillette.referrals.errors import Code
from cueillette.referrals.models import (
    Flag,
    Reason,
    Referral,
    ReferralCode,
    ReferralProgram,
    ReferralSource,
    ReferralStatus,
    ThankYou,
)

#: Short codes: no 0/O, 1/I/L to read aloud and type without doubt (31 symbols, 8 chars).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
#: 24 random bytes = 192 bits, 32 URL-safe characters.
TOKEN_BYTES = 24
#: A friend whose record is older than this when the referral is recorded was already a
#: customer (the counter records the friend, then the referral, within minutes).
EXISTING_GRACE = dt.timedelta(hours=24)
#: How far up the referral chain a loop is looked for.
MAX_CHAIN = 10_000


# --------------------------------------------------------------------------- program


def get_program() -> ReferralProgram:
    """The organization's referral rules (created with the defaults on first use)."""
    program = ReferralProgram.objects.first()
    if program is None:
        program, _created = ReferralProgram.objects.get_or_create(organization=current_org())
    return program


PROGRAM_FIELDS = (
    "enabled",
    "referrer_points",
    "friend_points",
    "min_amount",
    "monthly_cap",
    "burst_count",
    "burst_hours",
    "review_days",
    "default_action",
)


@dataclass(frozen=True)
class ProgramChange:
    """A change to the referral rules, already parsed (the form's fields): a field left
    :data:`UNSET` stays as it is; ``monthly_cap=None`` means no limit."""

    enabled: bool | Unset = UNSET
    referrer_points: int | Unset = UNSET
    friend_points: int | Unset = UNSET
    min_amount: Decimal | Unset = UNSET
    monthly_cap: int | Unset | None = UNSET
    burst_count: int | Unset = UNSET
    burst_hours: int | Unset = UNSET
    review_days: int | Unset = UNSET
    default_action: str | Unset = UNSET


@transaction.atomic
def update_program(change: ProgramChange, *, actor: Actor) -> ReferralProgram:
    """Save the referral rules; the rules between fields are checked here."""
    permissions.require(actor, Perm.MANAGE_REFERRALS)
    data = given(change)
    program = ReferralProgram.objects.select_for_update().get(pk=get_program().pk)
    changed = {}
    for name in PROGRAM_FIELDS:
        if name in data and getattr(program, name) != data[name]:
            setattr(program, name, data[name])
            changed[name] = str(data[name])
    if program.burst_count < 2:
        raise ServiceError(
            Code.INVALID, _("a burst needs at least 2 referrals"), field="burst_count"
        )
    if program.burst_hours < 1:
        raise ServiceError(Code.INVALID, _("at least one hour"), field="burst_hours")
    if program.min_amount < 0:
        raise ServiceError(Code.INVALID, _("must be zero or more"), field="min_amount")
    if program.default_action not in ReferralProgram.Default.values:
        raise ServiceError(Code.INVALID, _("choose accept or reject"), field="default_action")
    program.save()
    audit.record(actor, "referrals.program_updated", program, changed=changed)
    return program


# --------------------------------------------------------------------------- codes


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def normalize_code(value: str) -> str:
    """What people type for a code: any case, spaces or hyphens ('abcd-efgh')."""
    return "".join(c for c in (value or "").upper() if c.isalnum())


def code_for(customer: Customer) -> ReferralCode:
    """The customer's referral code and link token, created on first use."""
    existing = ReferralCode.objects.filter(customer=customer).first()
    if existing is not None:
        return existing
    for _attempt in range(8):
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(
                    customer=customer, code=_new_code(), token=secrets.token_urlsafe(TOKEN_BYTES)
                )
        except IntegrityError:
            # Either a code collision (retry) or the same customer created in parallel.
            found = ReferralCode.objects.filter(customer=customer).first()
            if found is not None:
                return found
    raise ServiceError(
        Code.INVALID, _("could not issue a referral code, try again")
    )  # pragma: no cover


def find_code(value: str) -> ReferralCode:
    """A referral code by its short code (any case, spaces, hyphens) or its link token.

    Unknown, or belonging to a record that is no longer active: ``NotFound`` on field "code".
    """
    raw = (value or "").strip()
    found = None
    if raw and len(raw) <= 64:
        short = normalize_code(raw)
        if len(short) == CODE_LENGTH:
            found = ReferralCode.objects.select_related("customer").filter(code=short).first()
        if found is None:
            found = ReferralCode.objects.select_related("customer").filter(token=raw).first()
    if found is None or found.customer.status != CustomerStatus.ACTIVE:
        raise NotFound(Code.UNKNOWN_CODE, _("this referral code is not known"), field="code")
    return found


def referrer_search(query: str, *, limit: int = 10) -> list[Customer]:
    """Who sent you? The counter's search (name, phone, email, card number)."""
    q = (query or "").strip()
    if not q:
        return []
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) >= 8 and len(digits) == len(q.replace(" ", "").replace("-", "")):
        from cueillette.loyalty.models import Card

        card = Card.objects.select_related("customer").filter(number=digits).first()
        if card is not None and card.customer.is_active:
            return [card.customer]
    return list(customer_queries.search(q, limit=limit))


# --------------------------------------------------------------------------- recording


def survivor(customer: Customer) -> Customer:
    """Follow a merged record to the record it was merged into."""
    seen = set()
    while customer.status == CustomerStatus.MERGED and customer.merged_into_id:
        if customer.pk in seen:  # pragma: no cover - merges never form a cycle
            break
        seen.add(customer.pk)
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def _self_refusal(referrer: Customer, friend: Customer) -> str | None:
    if referrer.pk == friend.pk:
        return _("a customer cannot refer themselves (the same record, or records merged together)")
    if referrer.email and referrer.email.lower() == (friend.email or "").lower():
        return _("a customer cannot refer themselves: the friend has the referrer's email")
    if referrer.phone and referrer.phone == friend.phone:
        return _("a customer cannot refer themselves: the friend has the referrer's phone")
    return None


def live_referral_of(friend: Customer) -> Referral | None:
    return (
        Referral.objects.filter(
            friend=friend, status__in=[ReferralStatus.PENDING, ReferralStatus.CONFIRMED]
        )
        .select_related("referrer")
        .first()
    )


def _is_ancestor(candidate: Customer, of: Customer) -> bool:
    """Is ``candidate`` above ``of`` in the live referral chain (friend -> referrer -> ...)?"""
    current = of.pk
    seen = {current}
    for _step in range(MAX_CHAIN):
        up = (
            Referral.objects.filter(
                friend_id=current, status__in=[ReferralStatus.PENDING, ReferralStatus.CONFIRMED]
            )
            .values_list("referrer_id", flat=True)
            .first()
        )
        if up is None or up in seen:
            return False
        if up == candidate.pk:
            return True
        seen.add(up)
        current = up
    return False


def _flags(
    referrer: Customer, friend: Customer, program: ReferralProgram, now: dt.datetime
) -> list[str]:
    flags: list[str] = []
    same_name = (
        fold(referrer.full_name)
        and fold(referrer.full_name) == fold(friend.full_name)
        and (
            (referrer.postal_code and referrer.postal_code == friend.postal_code)
            or (referrer.birthday and referrer.birthday == friend.birthday)
        )
    )
    if same_name:
        flags.append(Flag.SELF)
    if _is_ancestor(friend, referrer):
        flags.append(Flag.LOOP)
    since = now - dt.timedelta(hours=program.burst_hours)
    recent = Referral.objects.filter(referrer=referrer, created_at__gte=since).count()
    if recent + 1 > program.burst_count:  # "more than N", this referral included
        flags.append(Flag.BURST)
    history = customer_services.history_ids(friend)
    if (
        friend.created_at < now - EXISTING_GRACE
        or Purchase.objects.filter(card__customer_id__in=history, occurred_at__lte=now).exists()
    ):
        flags.append(Flag.EXISTING)
    others = customer_services.find_duplicates(
        email=friend.email, phone=friend.phone, exclude=[friend.pk, referrer.pk]
    )
    if others:
        flags.append(Flag.DUPLICATE)
    return flags


@transaction.atomic
def record_referral(
    referrer: Customer,
    friend: Customer,
    *,
    source: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Referral:
    """Record that ``referrer`` sent ``friend`` (after the friend joined). See the module
    docstring for what is refused and what is flagged for review."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    if source not in ReferralSource.values:
        raise ServiceError(Code.INVALID, _("unknown referral source"), field="source")
    program = get_program()
    if not program.enabled:
        raise ServiceError(Code.PROGRAM_CLOSED, _("the referral program is closed"))
    now = now or timezone.now()
    referrer = survivor(referrer)
    friend = survivor(friend)
    for who, field in ((referrer, "referrer"), (friend, "friend")):
        if who.status != CustomerStatus.ACTIVE:
            raise ServiceError(
                Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"), field=field
            )
    why = _self_refusal(referrer, friend)
    if why is not None:
        raise ServiceError(Code.SELF_REFERRAL, why, field="friend")
    # Lock the friend's row: two referrals of the same friend in parallel queue here.
    Customer.objects.select_for_update().filter(pk=friend.pk).first()
    existing = live_referral_of(friend)
    if existing is not None:
        if existing.referrer_id == referrer.pk:
            return existing
        raise Conflict(
            Code.ALREADY_REFERRED,
            _("this customer was already referred by someone else"),
            field="friend",
        )
    flags = _flags(referrer, friend, program, now)
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                referrer=referrer,
                friend=friend,
                source=source,
                status=ReferralStatus.PENDING,
                reason_code=Reason.AWAITING_REVIEW if flags else Reason.AWAITING_PURCHASE,
                flags=[str(f) for f in flags],
                under_review=bool(flags),
                review_deadline=now + dt.timedelta(days=program.review_days) if flags else None,
                created_at=now,
                created_by=actor.user,
            )
    except IntegrityError as exc:
        raise Conflict(
            Code.ALREADY_REFERRED,
            _("this customer was already referred by someone else"),
            field="friend",
        ) from exc
    audit.record(
        actor,
        "referrals.recorded",
        referral,
        referrer=referrer.pk,
        friend=friend.pk,
        source=source,
        flags=referral.flags,
    )
    consequences.fire(
        Consequence.REFERRAL_RECORDED,
        organization_id=referral.organization_id,
        referral=referral,
        actor=actor,
    )
    return referral


def record_with_code(code: str, friend: Customer, *, source: str, actor: Actor) -> Referral:
    """``record_referral`` for a friend who came with a code or a link token."""
    permissions.require(actor, Perm.SERVE_CUSTOMERS, customer=True)
    return record_referral(find_code(code).customer, friend, source=source, actor=actor)


# --------------------------------------------------------------------------- review


def _decide(
    referral: Referral,
    *,
    accept: bool,
    reason_code: str,
    reason_text: str,
    actor: Actor,
    now: dt.datetime,
) -> Referral:
    from cueillette.referrals import rewards

    fields: dict[str, Any] = {
        "under_review": False,
        "decided_at": now,
        "decided_by": actor.user,
        "reason_code": reason_code,
        "reason_text": reason_text[:300],
    }
    if not accept:
        fields["status"] = ReferralStatus.REJECTED
    elif referral.confirming_purchase_id is None:
        fields["reason_code"] = Reason.AWAITING_PURCHASE
    for k, v in fields.items():
        setattr(referral, k, v)
    referral.save(update_fields=[*fields.keys()])
    audit.record(
        actor,
        "referrals.reviewed",
        referral,
        accepted=accept,
        reason=reason_code,
        text=reason_text[:300],
    )
    if accept and referral.confirming_purchase_id is not None:
        # The friend already bought while the referral waited: reward now.
        rewards.confirm(referral, actor=actor, now=now, reason_code=reason_code)
    return referral


@transaction.atomic
def review(referral: Referral, *, accept: bool, reason: str, actor: Actor) -> Referral:
    """A manager accepts or rejects a flagged referral (a reason is required to reject)."""
    permissions.require(actor, Perm.MANAGE_REFERRALS)
    if not accept:
        return reject(referral, reason=reason, actor=actor)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not referral.under_review or referral.status != ReferralStatus.PENDING:
        raise Conflict(
            Code.NOT_FLAGGED, _("this referral is not waiting for a review"), field="referral"
        )
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ServiceError(Code.REASON_REQUIRED, _("say why it is rejected"), field="reason")
    return _decide(
        referral,
        accept=accept,
        reason_code=Reason.REVIEW_CONFIRMED if accept else Reason.REVIEW_REJECTED,
        reason_text=reason,
        actor=actor,
        now=timezone.now(),
    )


@transaction.atomic
def reject(referral: Referral, *, reason: str, actor: Actor) -> Referral:
    """A manager rejects a pending referral, flagged or not, with a reason (required).

    A confirmed referral stays confirmed: its rewards are points already given (a refund of
    the friend's first purchase takes them back). A rejected one is rejected already.
    """
    permissions.require(actor, Perm.MANAGE_REFERRALS)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status == ReferralStatus.CONFIRMED:
        raise Conflict(
            Code.ALREADY_CONFIRMED,
            _(
                "a confirmed referral stays confirmed: its rewards are points already given "
                "(refunding the friend's first purchase takes them back)"
            ),
            field="referral",
        )
    if referral.status != ReferralStatus.PENDING:
        raise Conflict(Code.NOT_FLAGGED, _("this referral is already rejected"), field="referral")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(Code.REASON_REQUIRED, _("say why it is rejected"), field="reason")
    return _decide(
        referral,
        accept=False,
        reason_code=Reason.REVIEW_REJECTED,
        reason_text=reason,
        actor=actor,
        now=timezone.now(),
    )


def apply_review_defaults(now: dt.datetime | None = None) -> int:
    """Flagged referrals left unreviewed past their deadline take the organization's default.

    One transaction per referral (a failure leaves the others done). Returns how many.
    """
    now = now or timezone.now()
    program = get_program()
    accept = program.default_action == ReferralProgram.Default.CONFIRM
    actor = Actor.system("referral review deadline")
    done = 0
    due = Referral.objects.filter(
        under_review=True, status=ReferralStatus.PENDING, review_deadline__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            referral = Referral.objects.select_for_update().get(pk=pk)
            if not referral.under_review or referral.status != ReferralStatus.PENDING:
                continue
            _decide(
                referral,
                accept=accept,
                reason_code=Reason.DEADLINE_CONFIRMED if accept else Reason.DEADLINE_REJECTED,
                reason_text="",
                actor=actor,
                now=now,
            )
            done += 1
    return done


# --------------------------------------------------------------------------- reads


def referrals() -> QuerySet[Referral]:
    return Referral.objects.select_related("referrer", "friend")


def review_queue() -> QuerySet[Referral]:
    return (
        referrals()
        .filter(under_review=True, status=ReferralStatus.PENDING)
        .order_by("review_deadline", "id")
    )


def member_summary(customer: Customer) -> dict[str, int]:
    """What a member may see of their own referrals: counts and points, never who."""
    from django.db.models import Sum

    from cueillette.loyalty.models import PointsEntry

    made = Referral.objects.filter(referrer=customer)
    counts = made.aggregate(
        total=Count("id", filter=~Q(status=ReferralStatus.REJECTED)),
        confirmed=Count("id", filter=Q(status=ReferralStatus.CONFIRMED)),
        pending=Count("id", filter=Q(status=ReferralStatus.PENDING)),
    )
    # What they earned and kept: their rewards minus what a refund took back.
    entry_ids = [
        e
        for pair in made.values_list("referrer_entry_id", "referrer_reversal_id")
        for e in pair
        if e
    ]
    points = PointsEntry.objects.filter(pk__in=entry_ids).aggregate(s=Sum("points"))["s"]
    return {
        "total": counts["total"] or 0,
        "confirmed": counts["confirmed"] or 0,
        "pending": counts["pending"] or 0,
        "points": int(points or 0),
    }


def referred_by(customer: Customer) -> Referral | None:
    """The live referral that brought this customer (staff pages)."""
    return live_referral_of(customer)


# --------------------------------------------------------------------------- thanks

#: The most points a gift may carry (a typo guard, like loyalty's manual adjustments).
MAX_GIFT = 10_000


def may_email_thanks(customer: Customer) -> bool:
    """A thank-you is a personal message about the programs the advocate takes part in: it is
    emailed only to an active customer with an email whose loyalty or email-news consent is
    current. Otherwise it is recorded (and can be said at the counter)."""
    from cueillette.customers.models import Purpose

    return (
        customer.status == CustomerStatus.ACTIVE
        and bool(customer.email)
        and (
            customer_services.has_consent(customer, Purpose.LOYALTY)
            or customer_services.has_consent(customer, Purpose.NEWS_EMAIL)
        )
    )


@transaction.atomic
def thank(
    advocate: Customer, *, message: str = "", points: int | None = None, actor: Actor
) -> ThankYou:
    """Record a thank-you: a message (emailed when allowed) and/or a gift of points
    (a loyalty adjustment with its reason, on the advocate's open card)."""
    permissions.require(actor, Perm.MANAGE_REFERRALS)
    from django.conf import settings as django_settings
    from django.urls import reverse

    from cueillette.core.mail import send_templated
    from cueillette.loyalty import services as loyalty

    message = (message or "").strip()
    if len(message) > 2000:
        raise ServiceError(Code.INVALID, _("2000 characters at most"), field="message")
    if points is not None and (points < 0 or points > MAX_GIFT):
        raise ServiceError(
            Code.INVALID,
            _("a gift is between 1 and %(max)d points") % {"max": MAX_GIFT},
            field="points",
        )
    if not message and not points:
        raise ServiceError(
            Code.NOTHING_TO_THANK, _("write a message or give some points"), field="message"
        )
    if advocate.status != CustomerStatus.ACTIVE:
        raise ServiceError(
            Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"), field="advocate"
        )
    entry = None
    if points:
        card = loyalty.open_card_for(advocate)
        if card is None:
            raise ServiceError(
                Code.NO_CARD, _("a gift of points needs an open loyalty card"), field="points"
            )
        entry = loyalty.adjust(card, points, reason=_("Thank you for your referrals"), actor=actor)
    emailed = bool(message) and may_email_thanks(advocate)
    thanks = ThankYou.objects.create(
        advocate=advocate,
        kind=ThankYou.Kind.GIFT if points else ThankYou.Kind.MESSAGE,
        message=message,
        points=points or None,
        entry=entry,
        emailed=emailed,
        created_by=actor.user,
    )
    if emailed:
        org = current_org()
        send_templated(
            "referrals/email/thank_you",
            advocate.email,
            {
                "organization": org,
                "message": message,
                "points": points or 0,
                "url": django_settings.SITE_URL
                + reverse("public:portal_request", kwargs={"slug": org.slug}),
            },
            language=advocate.language or org.language,
            kind="referral_thanks",
            klass="service",
            customer=advocate,
            purposes=("loyalty", "news_email"),
        )
    audit.record(
        actor,
        "referrals.thanked",
        advocate,
        thank_you=thanks.pk,
        points=points or 0,
        emailed=emailed,
    )
    return thanks
