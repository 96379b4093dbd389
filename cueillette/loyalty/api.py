"""The loyalty API for tills: purchases, refunds, redemptions, cards, rewards.

A thin translation to :mod:`cueillette.loyalty.services`: rows are reached through the
current organization only (the key's), every write is one service call with
``Actor.api(key name)``, and every write REQUIRES an ``Idempotency-Key`` (the common API layer
then replays the first answer to a retry; the receipt id and the refund id make the write
itself idempotent too, so a retry with a new key never credits twice either).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router
from ninja.params.functions import Query
from ninja.responses import Status

from cueillette.api import (
    DEFAULT_PAGE_SIZE,
    IDEMPOTENCY_HEADER,
    MAX_PAGE_SIZE,
    ApiError,
    api_actor,
    paginate,
    requires,
)
from cueillette.core.audit import Actor
from cueillette.core.errors import NotFound, ServiceError
from cueillette.core.money import api_amount
from cueillette.core.permissions import ApiScope
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.loyalty import hotpath, rules, services
from cueillette.loyalty.errors import Code
from cueillette.loyalty.models import (
    Card,
    PointsEntry,
    Redemption,
    Reward,
    Source,
    Tier,
)
from cueillette.loyalty.schemas import (
    CardCreateIn,
    CardOut,
    CardRef,
    EntryPage,
    PurchaseIn,
    PurchaseOut,
    RedemptionIn,
    RedemptionOut,
    RefundIn,
    RefundOut,
    RewardPage,
)

router = Router(tags=["loyalty"])

LIMIT = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="page size, 200 at most")


# --------------------------------------------------------------------------- helpers


def _actor(request: HttpRequest) -> Actor:
    return api_actor(request)


def _require_idempotency_key(request: HttpRequest) -> None:
    """Loyalty writes move points: a till must be able to retry them safely."""
    if not request.headers.get(IDEMPOTENCY_HEADER, "").strip():
        raise ApiError(
            "idempotency_key_required",
            _(
                "Idempotency-Key is required for this request: send a unique value per "
                "operation and the same value when you retry it"
            ),
            field=IDEMPOTENCY_HEADER,
        )


def _money(value: Decimal) -> str:
    return api_amount(value)


def _card_by_number(number: str, field: str) -> Card:
    """The card with this number in the key's organization, or a 404 on ``field``."""
    digits = rules.normalize_card_number(number or "")
    card: Card | None = None
    if digits:
        card = Card.objects.select_related("customer").filter(number=digits).first()
    if card is None:
        raise NotFound(
            "not_found" if field == "number" else Code.CARD_NOT_FOUND,
            _("no card with this number"),
            field=field,
        )
    return card


def _customer(customer_id: int, field: str = "customer_id") -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("not_found", _("no customer with this id"), field=field)
    return customer


def _card_of(ref: CardRef) -> Card:
    """The open card named by ``card_number`` or by ``customer_id`` (exactly one of them)."""
    if ref.card_number and ref.customer_id is not None:
        raise ServiceError(
            Code.INVALID,
            _("send card_number or customer_id, not both"),
            field="customer_id",
        )
    if ref.card_number:
        return _card_by_number(ref.card_number, "card_number")
    if ref.customer_id is None:
        raise ServiceError(
            "required", _("card_number or customer_id is required"), field="card_number"
        )
    card = services.open_card_for(_customer(ref.customer_id))
    if card is None:
        raise NotFound(
            Code.NOT_A_MEMBER,
            _("this customer has no loyalty card: join the program first (POST /cards)"),
            field="customer_id",
        )
    return card


def _purchase_card(ref: CardRef) -> Card | hotpath.CardNumber:
    """:func:`_card_of` for a purchase: a card number goes to the service as it is, which
    finds and locks the card in one statement (a 404 on ``card_number`` when there is none)."""
    if ref.card_number and ref.customer_id is None:
        return hotpath.CardNumber(rules.normalize_card_number(ref.card_number))
    return _card_of(ref)


def _tier(code: str) -> dict[str, Any] | None:
    if not code:
        return None
    tier = Tier.objects.filter(code=code).first()
    if tier is None:
        return None
    return {
        "code": tier.code,
        "name": tier.name,
        "threshold": tier.threshold,
        "multiplier": str(tier.multiplier),
        "benefits": tier.benefits,
    }


def card_body(card: Card, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    program = services.get_program()
    state = services.replay(card)
    horizon = now + dt.timedelta(days=program.expiry_warning_days)
    soon = [
        {"last_day": line.last_day, "expires_at": line.expires_at, "points": line.points}
        for line in state.schedule(current_org().tz)
        if now < line.expires_at <= horizon
    ]
    return {
        "number": card.number,
        "display_number": card.display_number,
        "customer_id": card.customer_id,
        "status": card.status,
        "is_open": card.is_open,
        "opened_at": card.opened_at,
        "closed_at": card.closed_at,
        "balance": card.balance,
        "available": min(card.balance, state.available_at(now)),
        "tier": _tier(card.tier_code),
        "expiring_soon": soon,
        "last_visit_at": card.last_visit_at,
    }


def _purchase_body(result: services.PurchaseResult) -> dict[str, Any]:
    purchase, card = result.purchase, result.card
    return {
        "id": purchase.pk,
        "receipt_id": purchase.receipt_id,
        "card_number": card.number,
        "amount": _money(purchase.amount),
        "currency": purchase.currency,
        "occurred_at": purchase.occurred_at,
        "points_earned": result.points_earned,
        "explanation": purchase.explanation,
        "refunded_amount": _money(purchase.refunded_amount),
        "points_taken_back": purchase.points_taken_back,
        "balance": card.balance,
        "tier": _tier(card.tier_code),
        "already_recorded": not result.created,
    }


# --------------------------------------------------------------------------- writes


@router.post(
    "/purchases",
    response={200: PurchaseOut, 201: PurchaseOut},
    summary="Record a purchase (earns points)",
)
@requires(ApiScope.LOYALTY_WRITE)
def record_purchase(request: HttpRequest, payload: PurchaseIn) -> Status[dict[str, Any]]:
    """201 with the points earned and why. The same ``receipt_id`` with the same details
    answers 200 with the first purchase (nothing credited again); with other details, 409
    ``receipt_conflict``. Requires an ``Idempotency-Key``."""
    _require_idempotency_key(request)
    card = _purchase_card(payload)
    # The service locks the card before looking for the receipt: whether it was already
    # recorded is exact even when a till's retries race each other.
    result = services.record_purchase_result(
        card,
        amount=payload.amount,
        actor=_actor(request),
        source=Source.API,
        receipt_id=payload.receipt_id,
        currency=payload.currency,
        lines=[line.model_dump() for line in payload.lines or []],
        occurred_at=payload.occurred_at,
    )
    return Status(201 if result.created else 200, _purchase_body(result))


@router.post(
    "/refunds", response={200: RefundOut, 201: RefundOut}, summary="Refund a purchase (points back)"
)
@requires(ApiScope.LOYALTY_WRITE)
def refund(request: HttpRequest, payload: RefundIn) -> Status[dict[str, Any]]:
    """Takes back the points of the purchase proportionally (all that remains when ``amount``
    is omitted); never credits. 404 ``unknown_receipt``; 400 ``refund_exceeds_purchase``.
    The same ``refund_id`` again answers 200 with the first refund. Requires an
    ``Idempotency-Key``."""
    _require_idempotency_key(request)
    purchase = services.find_purchase(payload.receipt_id)
    # The service locks the purchase before looking for the refund id ("already" is exact).
    result = services.refund_purchase_result(
        purchase,
        amount=payload.amount,
        actor=_actor(request),
        source=Source.API,
        refund_id=payload.refund_id,
        reason=payload.reason or "",
    )
    refund, purchase, card = result.refund, result.purchase, result.card
    body = {
        "id": refund.pk,
        "refund_id": refund.refund_id,
        "receipt_id": purchase.receipt_id,
        "card_number": card.number,
        "amount": _money(refund.amount),
        "points": refund.points,
        "points_taken": result.points_taken,
        "refunded_total": _money(purchase.refunded_amount),
        "remaining_amount": _money(purchase.amount - purchase.refunded_amount),
        "occurred_at": refund.occurred_at,
        "balance": card.balance,
        "already_recorded": not result.created,
    }
    return Status(201 if result.created else 200, body)


@router.post("/redemptions", response={201: RedemptionOut}, summary="Redeem a reward")
@requires(ApiScope.LOYALTY_WRITE)
def redeem(request: HttpRequest, payload: RedemptionIn) -> Status[dict[str, Any]]:
    """Spends the reward's cost. 400 ``insufficient_points``, ``out_of_stock``,
    ``reward_unavailable`` or ``tier_required``; nothing is written then. Requires an
    ``Idempotency-Key``."""
    _require_idempotency_key(request)
    card = _card_of(payload)
    reward = Reward.objects.filter(pk=payload.reward_id).first()
    if reward is None:
        raise NotFound("not_found", _("no reward with this id"), field="reward_id")
    redemption = services.redeem(card, reward, actor=_actor(request), source=Source.API)
    card.refresh_from_db()
    return Status(201, _redemption_body(redemption, card, reward))


def _redemption_body(redemption: Redemption, card: Card, reward: Reward) -> dict[str, Any]:
    return {
        "id": redemption.pk,
        "card_number": card.number,
        "reward_id": reward.pk,
        "reward_name": reward.name,
        "points": redemption.points,
        "occurred_at": redemption.occurred_at,
        "balance": card.balance,
    }


@router.post("/cards", response={201: CardOut}, summary="Join the program (consent + card)")
@requires(ApiScope.LOYALTY_WRITE)
def join(request: HttpRequest, payload: CardCreateIn) -> Status[dict[str, Any]]:
    """Joining is the customer's consent to the loyalty program; they get a card (and the
    welcome bonus, if any). 409 ``already_member``. Requires an ``Idempotency-Key``."""
    _require_idempotency_key(request)
    customer = _customer(payload.customer_id)
    card = services.join_program(
        customer, actor=_actor(request), source=Source.API, language=payload.language
    )
    card.refresh_from_db()
    return Status(201, card_body(card))


# --------------------------------------------------------------------------- reads


@router.get("/cards/{number}", response=CardOut, summary="A card: balance, tier, expiring soon")
@requires(ApiScope.LOYALTY_READ)
def get_card(request: HttpRequest, number: str) -> dict[str, Any]:
    return card_body(_card_by_number(number, "number"))


@router.get(
    "/cards/{number}/history", response=EntryPage, summary="Every point of a card, with its cause"
)
@requires(ApiScope.LOYALTY_READ)
def card_history(
    request: HttpRequest, number: str, cursor: str | None = None, limit: int = LIMIT
) -> dict[str, Any]:
    """Ledger entries, newest first."""
    card = _card_by_number(number, "number")
    qs = PointsEntry.objects.filter(card=card).select_related(
        "purchase", "refund", "redemption__reward"
    )
    rows, next_cursor = paginate(qs, cursor=cursor, limit=limit, order=("-occurred_at", "-id"))
    return {"items": [_entry_body(e) for e in rows], "next_cursor": next_cursor}


def _entry_body(e: PointsEntry) -> dict[str, Any]:
    reward = e.redemption.reward if e.redemption is not None else None
    return {
        "id": e.pk,
        "kind": e.kind,
        "points": e.points,
        "occurred_at": e.occurred_at,
        "recorded_at": e.recorded_at,
        "expires_at": e.expires_at,
        "receipt_id": e.purchase.receipt_id if e.purchase is not None else None,
        "refund_id": e.refund.refund_id if e.refund is not None else None,
        "reward_id": reward.pk if reward is not None else None,
        "reward_name": reward.name if reward is not None else None,
        "corrects_id": e.corrects_id,
        "reason": e.reason,
        "cause": e.cause,
    }


@router.get("/customers/{int:customer_id}/card", response=CardOut, summary="A customer's card")
@requires(ApiScope.LOYALTY_READ)
def customer_card(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    """The customer's open card; 404 ``not_a_member`` if they have none."""
    customer = _customer(customer_id)
    card = services.open_card_for(customer)
    if card is None:
        raise NotFound(
            Code.NOT_A_MEMBER, _("this customer has no loyalty card"), field="customer_id"
        )
    return card_body(card)


@router.get("/rewards", response=RewardPage, summary="The rewards catalogue, with availability")
@requires(ApiScope.LOYALTY_READ)
def list_rewards(
    request: HttpRequest,
    card_number: str | None = Query(None, description="availability for this card"),
    cursor: str | None = None,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """Offered rewards, cheapest first. With ``card_number``: what this card can take now."""
    card = _card_by_number(card_number, "card_number") if card_number else None
    today = timezone.localdate(timezone.now(), current_org().tz)
    rows, next_cursor = paginate(
        Reward.objects.filter(active=True), cursor=cursor, limit=limit, order=("cost", "id")
    )
    items = []
    for reward in rows:
        if card is not None:
            why = services.reward_available(reward, card, today)
        else:
            why = _catalogue_availability(reward, today)
        items.append(
            {
                "id": reward.pk,
                "name": reward.name,
                "description": reward.description,
                "cost": reward.cost,
                "stock": reward.stock,
                "valid_from": reward.valid_from,
                "valid_until": reward.valid_until,
                "min_tier": reward.min_tier,
                "available": why is None,
                "unavailable_reason": None if why is None else str(why),
            }
        )
    return {"items": items, "next_cursor": next_cursor}


def _catalogue_availability(reward: Reward, today: dt.date) -> str | None:
    if (reward.valid_from and today < reward.valid_from) or (
        reward.valid_until and today > reward.valid_until
    ):
        return Code.REWARD_UNAVAILABLE
    if reward.stock is not None and reward.stock <= 0:
        return Code.OUT_OF_STOCK
    return None
