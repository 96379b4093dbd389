"""Reads shared by the messaging pages, the API and the customer record's panel."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from cueillette.messaging.models import Campaign, Delivery, Reason, Status


def campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("segment").annotate(n=Count("deliveries"))


def campaign_counts(campaign: Campaign) -> dict[str, Any]:
    """Decisions of a campaign by status and by reason."""
    rows = Delivery.objects.filter(campaign=campaign).values_list("status", "reason")
    by_status: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for status, reason in rows:
        by_status[status] += 1
        if status in (Status.REFUSED, Status.FAILED):
            by_reason[reason] += 1
    return {
        "decided": sum(by_status.values()),
        "sent": by_status[Status.SENT],
        "waiting": by_status[Status.QUEUED]
        + by_status[Status.DEFERRED]
        + by_status[Status.SENDING],
        "refused": sorted(by_reason.items()),
        "failed": by_status[Status.FAILED],
    }


@dataclass(frozen=True)
class GroupResult:
    label: str
    size: int
    purchasers: int
    purchases: int
    redeemers: int

    @property
    def rate(self) -> float | None:
        return None if not self.size else self.purchasers / self.size


def results(campaign: Campaign) -> list[GroupResult]:
    """What customers did within ``results_days`` of the send: those who received it, compared
    with those held back (or, without a hold-out, those the gate excluded). Measured by what
    they do, never by opens or clicks: nothing in our messages can see those."""
    from cueillette.loyalty.models import Purchase, Redemption

    if campaign.started_at is None:
        return []
    start = campaign.started_at
    end = start + dt.timedelta(days=campaign.results_days)
    rows = Delivery.objects.filter(campaign=campaign).values_list("customer_id", "status", "reason")
    got = [c for c, s, _r in rows if s == Status.SENT]
    held = [c for c, s, r in rows if r == Reason.HELD_BACK]
    compare_label = "held_back"
    if not held:
        held = [c for c, s, r in rows if s == Status.REFUSED]
        compare_label = "excluded"
    out = []
    for label, ids in (("received", got), (compare_label, held)):
        purchases = Purchase.objects.filter(
            card__customer_id__in=ids, occurred_at__gte=start, occurred_at__lt=end
        )
        redemptions = Redemption.objects.filter(
            card__customer_id__in=ids,
            occurred_at__gte=start,
            occurred_at__lt=end,
            cancelled_at__isnull=True,
        )
        out.append(
            GroupResult(
                label=label,
                size=len(ids),
                purchasers=purchases.values("card__customer_id").distinct().count(),
                purchases=purchases.count(),
                redeemers=redemptions.values("card__customer_id").distinct().count(),
            )
        )
    return out


def received(customer_ids: list[int], limit: int = 50) -> list[Delivery]:
    """The customer's messages, sent or refused, newest first, with the consent entry."""
    return list(
        Delivery.objects.filter(customer_id__in=customer_ids)
        .select_related("consent_event", "campaign")
        .order_by("-decided_at", "-id")[:limit]
    )
