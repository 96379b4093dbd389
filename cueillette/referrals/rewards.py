"""Referral rewards: granted once at the friend's first qualifying purchase, reversed by its
refund. Both are loyalty ledger entries (kind REFERRAL) written by
``loyalty.services.credit_referral`` / ``take_back``, inside the purchase's transaction.

The rules:

* **When**: the friend's first *qualifying* purchase recorded after the referral: an amount
  above zero and at least the program's ``min_amount``. A flagged referral waits for its review;
  the purchase is remembered (``confirming_purchase``) and rewarded when a manager accepts it
  (or the deadline's default accepts it).
* **Who**: the referrer gets ``referrer_points``, the friend ``friend_points`` (a welcome bonus),
  each only with an open loyalty card. A friend without a card (joined without the loyalty
  consent) cannot record purchases on a card, so a manager confirms that referral by hand
  (``confirm_manually``): it is confirmed and only the referrer is rewarded.
* **Cap**: at most ``monthly_cap`` rewarded referrals per referrer per calendar month (the
  organization's time zone). Over the cap the referral is confirmed and the referrer gets
  nothing, with the reason in ``reward_notes`` (codes, worded when shown); the friend still
  gets their welcome bonus.
* **Once**: the referral row is locked, the grant is a conditional UPDATE on
  ``rewarded_at IS NULL``, and each reward slot is a one-to-one link to its entry.
* **Refunds**: a refund that brings the confirming purchase below the qualifying minimum (a
  full refund always does) reverses both rewards with CORRECTION entries pointing at the
  originals, and the referral becomes rejected, reason ``first_purchase_refunded``. A partial
  refund that leaves at least the minimum keeps the referral. Points already spent cannot be
  taken back below zero: what the card holds is taken back, the rest is recorded in
  ``reversal_shortfall`` (and in the audit log) - the business absorbs it, like a refund of
  spent purchase points.
* **Undo at the counter**: a sale undone within minutes (loyalty's ``undo_last``, a refund with
  reason ``"undo"``) never happened. The rewards it granted are taken back the same way, but
  the referral is not rejected: it goes back to pending, waiting for the friend's first
  qualifying purchase, which confirms and rewards it again. The ledger then reads grant,
  take-back, grant: one live reward per side at any time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cueillette.core import audit, consequences, permissions
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.core.errors import Conflict, ServiceError
from cueillette.core.permissions import Perm
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, CardStatus, PointsEntry, Purchase, Refund
from cueillette.referrals.errors import Code
from cueillette.referrals.models import (
    Reason,
    Referral,
    ReferralProgram,
    ReferralStatus,
    RewardNote,
)

#: The refund reason of loyalty's counter undo (``loyalty.services.undo_last``): a mistake
#: fixed within minutes, not a refund. ``loyalty.services.is_undo`` also checks its source.
UNDO_REASON = loyalty.UNDO_REASON


def register_hooks() -> None:
    """Subscribe, inside the action's transaction (a failure rolls it back)."""
    consequences.subscribe(
        Consequence.CUSTOMER_JOINED, _on_customer_joined, phase=Phase.IN_TRANSACTION
    )
    consequences.subscribe(
        Consequence.PURCHASE_RECORDED, _on_purchase_recorded, phase=Phase.IN_TRANSACTION
    )
    consequences.subscribe(
        Consequence.PURCHASE_REFUNDED, _on_purchase_refunded, phase=Phase.IN_TRANSACTION
    )


def _on_customer_joined(fired: Fired) -> None:
    """A customer registered with "who sent you?" answered: the referral, in the same
    transaction (a refusal, said next to the field, creates nothing)."""
    referrer = fired.get("referrer")
    if referrer is not None:
        from cueillette.referrals import counter

        counter.credit(referrer, fired["customer"], actor=fired["actor"])


def _on_purchase_recorded(fired: Fired) -> None:
    on_purchase(fired["purchase"], fired["actor"])


def _on_purchase_refunded(fired: Fired) -> None:
    on_refund(fired["purchase"], fired["refund"], fired["actor"])


def qualifies(purchase: Purchase, program: ReferralProgram) -> bool:
    remaining = purchase.amount - purchase.refunded_amount
    return remaining > 0 and remaining >= Decimal(program.min_amount)


@functools.cache
def _waiting_sql() -> str:
    q, meta = connection.ops.quote_name, Referral._meta
    column = {f.name: q(f.column) for f in meta.concrete_fields if f.column}
    return (
        f"SELECT {column['id']} FROM {q(meta.db_table)} "  # noqa: S608 (names, not values)
        f"WHERE {column['organization']} = %s AND {column['friend']} = %s "
        f"AND {column['status']} = %s AND {column['confirming_purchase']} IS NULL "
        f"ORDER BY {column['created_at']} DESC, {column['id']} DESC LIMIT 1"
    )


def _waiting_referral(friend_id: int) -> int | None:
    """The friend's latest pending, unconfirmed referral (``Meta.ordering``), if any.

    Every purchase asks (and nearly always hears "none"): one typed statement, no queryset
    built on the till's hot path."""
    with connection.cursor() as cursor:
        cursor.execute(_waiting_sql(), [current_org().pk, friend_id, ReferralStatus.PENDING])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def on_purchase(purchase: Purchase, actor: Actor) -> None:
    """Loyalty hook: a friend's first qualifying purchase confirms their referral."""
    friend_id = purchase.card.customer_id
    pk = _waiting_referral(friend_id)
    if pk is None:
        return
    from cueillette.referrals.services import get_program

    program = get_program()
    if not qualifies(purchase, program):
        return
    referral = Referral.objects.select_for_update().get(pk=pk)
    if referral.status != ReferralStatus.PENDING or referral.confirming_purchase_id is not None:
        return
    if purchase.occurred_at < referral.created_at:
        return  # a backdated sale from before the referral is not the friend's first visit
    Referral.objects.filter(pk=pk).update(confirming_purchase=purchase)
    referral.confirming_purchase = purchase
    if not referral.under_review:
        confirm(referral, actor=actor, now=timezone.now(), reason_code=Reason.FIRST_PURCHASE)


def month_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now, current_org().tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def confirm(
    referral: Referral,
    *,
    actor: Actor,
    now: dt.datetime,
    reason_code: str,
    reason_text: str = "",
) -> Referral:
    """Confirm a pending referral and reward both sides once (the caller holds the
    transaction). A referral already rewarded is returned unchanged."""
    from cueillette.referrals.services import get_program

    program = get_program()
    # Lock the referrer: two friends confirming at once cannot both pass the monthly cap.
    Customer.objects.select_for_update().filter(pk=referral.referrer_id).first()
    won = Referral.objects.filter(
        pk=referral.pk, status=ReferralStatus.PENDING, rewarded_at__isnull=True
    ).update(status=ReferralStatus.CONFIRMED, rewarded_at=now)
    if not won:
        referral.refresh_from_db()
        return referral
    referral.status = ReferralStatus.CONFIRMED
    referral.rewarded_at = now
    notes: list[dict[str, Any]] = []
    purchase = referral.confirming_purchase
    cause = f"referrals:{referral.pk}"
    fields: dict[str, Any] = {}

    if program.referrer_points:
        referrer_card = loyalty.open_card_for(referral.referrer)
        rewarded_this_month = rewarded_this_month_by(
            [referral.referrer_id], now, exclude=referral.pk
        ).get(referral.referrer_id, 0)
        if referrer_card is None:
            notes.append({"code": RewardNote.REFERRER_NO_CARD})
        elif program.monthly_cap is not None and rewarded_this_month >= program.monthly_cap:
            notes.append({"code": RewardNote.REFERRER_CAP, "cap": program.monthly_cap})
        else:
            fields["referrer_entry"] = loyalty.credit_referral(
                referrer_card,
                program.referrer_points,
                occurred_at=now,
                actor=actor,
                purchase=purchase,
                reason=_("Referral: a friend you sent made their first purchase"),
                cause=cause,
            )
    if program.friend_points:
        friend_card = loyalty.open_card_for(referral.friend)
        if friend_card is None:
            notes.append({"code": RewardNote.FRIEND_NO_CARD})
        else:
            fields["friend_entry"] = loyalty.credit_referral(
                friend_card,
                program.friend_points,
                occurred_at=now,
                actor=actor,
                purchase=purchase,
                reason=_("Referral: welcome bonus"),
                cause=cause,
            )
    fields["reward_notes"] = notes
    fields["reward_note"] = ""
    if referral.reason_code in (Reason.AWAITING_PURCHASE, Reason.AWAITING_REVIEW) or (
        reason_code == Reason.FIRST_PURCHASE
    ):
        fields["reason_code"] = reason_code
    if reason_text:
        fields["reason_text"] = reason_text[:300]
    if referral.decided_at is None:
        fields["decided_at"] = now
    for k, v in fields.items():
        setattr(referral, k, v)
    referral.save(update_fields=list(fields.keys()))
    audit.record(
        actor,
        "referrals.confirmed",
        referral,
        purchase=purchase.pk if purchase else None,
        referrer_points=referral.referrer_entry.points if referral.referrer_entry else 0,
        friend_points=referral.friend_entry.points if referral.friend_entry else 0,
        notes=[n["code"] for n in notes],
    )
    consequences.fire(
        Consequence.REFERRAL_CONFIRMED,
        organization_id=referral.organization_id,
        referral=referral,
        actor=actor,
    )
    return referral


@transaction.atomic
def confirm_manually(referral: Referral, *, reason: str, actor: Actor) -> Referral:
    """A manager confirms a pending referral without a recorded purchase (typically a friend
    who joined without the loyalty program, so no purchase is recorded on a card)."""
    permissions.require(actor, Perm.MANAGE_REFERRALS)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status != ReferralStatus.PENDING or referral.under_review:
        raise Conflict(
            Code.NOT_FLAGGED,
            _("only a pending referral that is not under review can be confirmed"),
            field="referral",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(Code.REASON_REQUIRED, _("say why it is confirmed"), field="reason")
    now = timezone.now()
    referral.decided_by = actor.user
    referral.decided_at = now
    referral.save(update_fields=["decided_by", "decided_at"])
    return confirm(
        referral, actor=actor, now=now, reason_code=Reason.REVIEW_CONFIRMED, reason_text=reason
    )


def on_refund(purchase: Purchase, refund: Refund, actor: Actor) -> None:
    """Loyalty hook: a refund of a confirming purchase below the minimum reverses the
    referral's rewards (or, before the review, forgets that purchase)."""
    pk = (
        Referral.objects.filter(confirming_purchase_id=purchase.pk)
        .exclude(status=ReferralStatus.REJECTED)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        return
    from cueillette.referrals.services import get_program

    fresh = Purchase.objects.get(pk=purchase.pk)
    if qualifies(fresh, get_program()):
        return  # a partial refund leaving at least the minimum keeps the referral
    referral = Referral.objects.select_for_update().get(pk=pk)
    if referral.status == ReferralStatus.PENDING:
        Referral.objects.filter(pk=pk).update(confirming_purchase=None)
        return
    if loyalty.is_undo(refund):
        forget_undone(referral, actor=actor, refund=refund)
        return
    reverse(referral, actor=actor, reason_code=Reason.REFUNDED, refund=refund)


def rewarded_this_month_by(
    referrer_ids: Iterable[int], now: dt.datetime, *, exclude: int | None = None
) -> dict[int, int]:
    """{referrer id: referrals that rewarded them this calendar month} (the monthly cap)."""
    qs = Referral.objects.filter(
        referrer_id__in=list(referrer_ids),
        referrer_entry__isnull=False,
        rewarded_at__gte=month_start(now),
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    rows = qs.values("referrer_id").annotate(n=Count("id")).order_by()
    return {row["referrer_id"]: row["n"] for row in rows}


#: Why a side of a referral would get no points if it were confirmed now.
NO_CARD = "no_card"
CAP_REACHED = "cap_reached"


def unrewarded_sides(
    referrals: Iterable[Referral], now: dt.datetime | None = None
) -> dict[int, dict[str, str]]:
    """For referrals about to be confirmed: {referral id: {"referrer"|"friend": why}} for the
    sides the rules of :func:`confirm` would leave without points (no open card, or the
    referrer's monthly cap reached). Referrals where both sides get their points are absent."""
    from cueillette.referrals.services import get_program

    program = get_program()
    items = list(referrals)
    ids = {r.referrer_id for r in items} | {r.friend_id for r in items}
    with_card = set(
        Card.objects.filter(customer_id__in=ids, status=CardStatus.OPEN).values_list(
            "customer_id", flat=True
        )
    )
    counts: dict[int, int] = {}
    if program.monthly_cap is not None and items:
        counts = rewarded_this_month_by({r.referrer_id for r in items}, now or timezone.now())
    out: dict[int, dict[str, str]] = {}
    for r in items:
        why: dict[str, str] = {}
        if program.referrer_points:
            if r.referrer_id not in with_card:
                why["referrer"] = NO_CARD
            elif program.monthly_cap is not None and (
                counts.get(r.referrer_id, 0) >= program.monthly_cap
            ):
                why["referrer"] = CAP_REACHED
        if program.friend_points and r.friend_id not in with_card:
            why["friend"] = NO_CARD
        if why:
            out[r.pk] = why
    return out


#: The reward entries of a referral, and the field that keeps the correction taking each back.
REWARD_SLOTS = {"referrer_entry": "referrer_reversal", "friend_entry": "friend_reversal"}


def _take_back_rewards(
    referral: Referral, *, actor: Actor, label: str, now: dt.datetime
) -> tuple[dict[str, PointsEntry | None], int]:
    """Take back each reward the referral granted ({slot: correction or None}, shortfall)."""
    corrections: dict[str, PointsEntry | None] = {}
    shortfall = 0
    for slot in REWARD_SLOTS:
        entry = getattr(referral, slot)
        if entry is None:
            continue
        corrections[slot], missing = loyalty.take_back(entry, actor=actor, reason=label, now=now)
        shortfall += missing
    return corrections, shortfall


def forget_undone(referral: Referral, *, actor: Actor, refund: Refund | None = None) -> Referral:
    """The confirming sale was undone at the counter: it never happened. Take back the rewards
    it granted (corrections linked to them) and put the referral back to pending, waiting for
    the friend's first qualifying purchase. The caller holds the transaction and the lock."""
    if referral.status != ReferralStatus.CONFIRMED or referral.reversed_at is not None:
        return referral
    now = timezone.now()
    label = _("Referral reward taken back: the purchase was undone")
    originals = {slot: getattr(referral, f"{slot}_id") for slot in REWARD_SLOTS}
    corrections, shortfall = _take_back_rewards(referral, actor=actor, label=label, now=now)
    taken = {str(originals[slot]): (c.pk if c else None) for slot, c in corrections.items()}
    fields: dict[str, Any] = {
        "status": ReferralStatus.PENDING,
        "reason_code": Reason.AWAITING_PURCHASE,
        "confirming_purchase": None,
        "rewarded_at": None,
        "referrer_entry": None,
        "friend_entry": None,
        "reward_notes": [],
        "reward_note": "",
        # Cumulative: points of an earlier reward that had already been spent.
        "reversal_shortfall": referral.reversal_shortfall + shortfall,
    }
    if referral.decided_by_id is None:
        fields["decided_at"] = None  # confirmed by the purchase itself, not by a manager
    for k, v in fields.items():
        setattr(referral, k, v)
    referral.save(update_fields=list(fields.keys()))
    audit.record(
        actor,
        "referrals.undone",
        referral,
        refund=refund.pk if refund else None,
        taken_back=taken,
        shortfall=shortfall,
    )
    return referral


def reverse(
    referral: Referral, *, actor: Actor, reason_code: str, refund: Refund | None = None
) -> Referral:
    """Take back both rewards (corrections linked to the originals) and reject the referral.
    The caller holds the transaction and the referral's lock. Done once."""
    if referral.reversed_at is not None or referral.status == ReferralStatus.REJECTED:
        return referral
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": ReferralStatus.REJECTED,
        "reason_code": reason_code,
        # The reason code says it all (worded when shown): no text stored in one language.
        "reason_text": "",
        "reversed_at": now,
        "decided_at": now,
    }
    label = _("Referral reversed: first purchase refunded")
    corrections, shortfall = _take_back_rewards(referral, actor=actor, label=label, now=now)
    for slot, correction in corrections.items():
        fields[REWARD_SLOTS[slot]] = correction
    fields["reversal_shortfall"] = shortfall
    for k, v in fields.items():
        setattr(referral, k, v)
    referral.save(update_fields=list(fields.keys()))
    audit.record(
        actor,
        "referrals.reversed",
        referral,
        refund=refund.pk if refund else None,
        shortfall=shortfall,
    )
    return referral


def rewarded_text(referral: Referral) -> str:
    """Who got what from a confirmed referral, for staff ("+50 welcome points for Léa Noël,
    +100 points for Claire Roux"), or why nobody did. Worded in the current language."""
    parts = []
    if referral.friend_entry is not None:
        n = int(referral.friend_entry.points)
        parts.append(
            ngettext(
                "+%(points)d welcome point for %(name)s",
                "+%(points)d welcome points for %(name)s",
                n,
            )
            % {"points": n, "name": referral.friend.full_name or referral.friend_id}
        )
    if referral.referrer_entry is not None:
        n = int(referral.referrer_entry.points)
        parts.append(
            ngettext("+%(points)d point for %(name)s", "+%(points)d points for %(name)s", n)
            % {"points": n, "name": referral.referrer.full_name or referral.referrer_id}
        )
    note = referral.reward_note_text()
    if not parts:
        return _("nobody received points (%(why)s)") % {"why": note} if note else ""
    text = ", ".join(parts)
    return f"{text} ({note})" if note else text
