"""Reads of the referral program: advocates, trees and monthly figures, computed with
:mod:`cueillette.referrals.graph` over the organization's referrals.

The forest is built from the *live* referrals (pending or confirmed: the friend joined),
oldest first; rejected ones are left out. ``graph.build_forest`` then drops what it does not
count (a loop closed by a flagged referral a manager accepted, for instance).

Revenue "brought" by a referred customer is what they spent during their first year (from
their record's creation): loyalty purchase amounts minus what was refunded, in cents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.utils import timezone

from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.loyalty.models import Card, Purchase
from cueillette.referrals import graph
from cueillette.referrals.models import Referral, ReferralStatus

FIRST_YEAR = dt.timedelta(days=365)
LIVE = (ReferralStatus.PENDING, ReferralStatus.CONFIRMED)


@dataclass
class Network:
    """The org's referral forest with customer ids mapped to indices."""

    ids: list[int]
    index: dict[int, int]
    forest: graph.ReferralForest
    edges: list[tuple[int, int, int]]  # (referral id, referrer id, friend id), oldest first


def network() -> Network:
    rows = list(
        Referral.objects.filter(status__in=LIVE)
        .order_by("created_at", "id")
        .values_list("pk", "referrer_id", "friend_id")
    )
    ids = sorted({r for _pk, r, _f in rows} | {f for _pk, _r, f in rows})
    index = {pk: i for i, pk in enumerate(ids)}
    src = np.array([index[r] for _pk, r, _f in rows], dtype=np.int64)
    dst = np.array([index[f] for _pk, _r, f in rows], dtype=np.int64)
    forest = graph.build_forest(len(ids), src, dst)
    return Network(ids=ids, index=index, forest=forest, edges=rows)


def first_year_revenue(customer_ids: list[int]) -> dict[int, int]:
    """Cents spent by each customer during the first year of their record."""
    if not customer_ids:
        return {}
    # Two plain indexed reads (cards of these customers, then their purchases by card) instead
    # of one three-table join: the planner cannot misjudge them, even on fresh tables.
    joined = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "created_at"))
    owner = dict(Card.objects.filter(customer_id__in=customer_ids).values_list("pk", "customer_id"))
    if not owner:
        return {}
    totals: dict[int, Decimal] = {}
    rows = Purchase.objects.filter(card_id__in=list(owner)).values_list(
        "card_id", "occurred_at", "amount", "refunded_amount"
    )
    for card_id, occurred_at, amount, refunded in rows:
        customer_id = owner[card_id]
        if occurred_at >= joined[customer_id] + FIRST_YEAR:
            continue
        totals[customer_id] = totals.get(customer_id, Decimal(0)) + amount - refunded
    return {pk: int((net * 100).quantize(Decimal(1))) for pk, net in totals.items()}


@dataclass
class Advocate:
    customer: Customer
    direct: int
    reach: int
    confirmed: int
    direct_revenue: int  # cents
    reach_revenue: int  # cents


SORTS: dict[str, Callable[[Advocate], tuple[int, int]]] = {
    "direct": lambda a: (a.direct, a.reach),
    "reach": lambda a: (a.reach, a.direct),
    "revenue": lambda a: (a.direct_revenue, a.reach_revenue),
    "tree_revenue": lambda a: (a.reach_revenue, a.direct_revenue),
}


def reach_by_customer() -> dict[int, tuple[int, int]]:
    """customer id -> (direct, total reach) for everyone in the referral forest."""
    net = network()
    direct = graph.direct_counts(net.forest)
    reach = graph.total_reach(net.forest)
    return {cid: (int(direct[i]), int(reach[i])) for i, cid in enumerate(net.ids)}


def advocates(*, sort: str = "reach", limit: int = 100) -> list[Advocate]:
    """Referrers with at least one counted referral, best first by ``sort``."""
    net = network()
    revenue = first_year_revenue(net.ids)
    cents = np.array([revenue.get(cid, 0) for cid in net.ids], dtype=np.int64)
    stats = graph.advocate_stats(net.forest, cents)
    chosen = [i for i in range(net.forest.n) if stats.direct[i] > 0]
    confirmed = dict(
        Referral.objects.filter(status=ReferralStatus.CONFIRMED)
        .values("referrer_id")
        .annotate(n=Count("id"))
        .values_list("referrer_id", "n")
    )
    customers = Customer.objects.in_bulk([net.ids[i] for i in chosen])
    rows = [
        Advocate(
            customer=customers[net.ids[i]],
            direct=int(stats.direct[i]),
            reach=int(stats.reach[i]),
            confirmed=int(confirmed.get(net.ids[i], 0)),
            direct_revenue=int(stats.direct_revenue[i]),
            reach_revenue=int(stats.reach_revenue[i]),
        )
        for i in chosen
        if net.ids[i] in customers
    ]
    key = SORTS.get(sort, SORTS["reach"])
    rows.sort(key=lambda a: (*key(a), -a.customer.pk), reverse=True)
    return rows[:limit]


@dataclass
class TreeNode:
    customer: Customer
    referral: Referral | None
    depth: int
    reach: int
    children: list[TreeNode] = field(default_factory=list)


MAX_TREE = 500


def tree(root: Customer) -> TreeNode:
    """The customer's referral subtree (as counted), children oldest first, at most
    :data:`MAX_TREE` people."""
    net = network()
    by_friend = {f: pk for pk, _r, f in net.edges}
    i0 = net.index.get(root.pk)
    if i0 is None:
        return TreeNode(customer=root, referral=None, depth=0, reach=0)
    parent = net.forest.parent
    reach = graph.total_reach(net.forest)
    children: dict[int, list[int]] = {}
    for child in np.flatnonzero(parent != graph.NO_PARENT):
        children.setdefault(int(parent[child]), []).append(int(child))
    order: list[int] = []
    stack = [i0]
    while stack and len(order) < MAX_TREE:
        current = stack.pop()
        order.append(current)
        stack.extend(reversed(children.get(current, [])))
    customers = Customer.objects.in_bulk([net.ids[i] for i in order])
    referrals = Referral.objects.in_bulk(
        [by_friend[net.ids[i]] for i in order if net.ids[i] in by_friend]
    )
    built: dict[int, TreeNode] = {}
    for i in order:
        cid = net.ids[i]
        ref_id = by_friend.get(cid)
        node = TreeNode(
            customer=customers[cid],
            referral=referrals.get(ref_id) if ref_id and i != i0 else None,
            depth=int(net.forest.depth[i] - net.forest.depth[i0]),
            reach=int(reach[i]),
        )
        built[i] = node
        if i != i0 and int(parent[i]) in built:
            built[int(parent[i])].children.append(node)
    return built[i0]


@dataclass
class Month:
    month: dt.date
    new_customers: int
    referred: int
    recorded: int
    confirmed: int
    brought: int  # friends referred by this month's new customers (so far)

    @property
    def share(self) -> float | None:
        return self.referred / self.new_customers if self.new_customers else None

    @property
    def conversion(self) -> float | None:
        return self.confirmed / self.recorded if self.recorded else None

    @property
    def viral(self) -> float | None:
        return self.brought / self.new_customers if self.new_customers else None


def _month_of(when: dt.datetime) -> dt.date:
    local = timezone.localtime(when, current_org().tz)
    return local.date().replace(day=1)


def _months_back(last: dt.date, count: int) -> list[dt.date]:
    months = []
    y, m = last.year, last.month
    for _i in range(count):
        months.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return list(reversed(months))


def monthly(now: dt.datetime | None = None, months: int = 12) -> list[Month]:
    """Word-of-mouth share of new customers, conversion (confirmed / recorded) and viral
    coefficient (friends brought per new customer of the cohort), by month, the last
    ``months`` months in the organization's time zone."""
    now = now or timezone.now()
    labels = _months_back(_month_of(now), months)
    slot = {m: i for i, m in enumerate(labels)}
    start = dt.datetime.combine(labels[0], dt.time(), tzinfo=current_org().tz)
    customers = list(
        Customer.objects.filter(created_at__gte=start)
        .exclude(status="merged")
        .values_list("pk", "created_at")
    )
    cids = [pk for pk, _c in customers]
    index = {pk: i for i, pk in enumerate(cids)}
    join = np.array([slot[_month_of(c)] for _pk, c in customers], dtype=np.int64)
    # The forest restricted to this window's new customers: who among them came referred,
    # and how many friends each brought (friends from any time are counted by their referrer).
    net = network()
    referred_ids = {net.ids[i] for i in np.flatnonzero(net.forest.parent != graph.NO_PARENT)}
    direct = graph.direct_counts(net.forest)
    brought = np.zeros(len(labels), dtype=np.int64)
    referred = np.zeros(len(labels), dtype=np.int64)
    for pk, i in index.items():
        if pk in referred_ids:
            referred[join[i]] += 1
        j = net.index.get(pk)
        if j is not None:
            brought[join[i]] += int(direct[j])
    new = np.bincount(join, minlength=len(labels)) if join.size else np.zeros(len(labels), int)
    recorded = np.zeros(len(labels), dtype=np.int64)
    confirmed = np.zeros(len(labels), dtype=np.int64)
    for created, status in Referral.objects.filter(created_at__gte=start).values_list(
        "created_at", "status"
    ):
        k = slot.get(_month_of(created))
        if k is None:
            continue
        recorded[k] += 1
        confirmed[k] += int(status == ReferralStatus.CONFIRMED)
    return [
        Month(
            month=labels[k],
            new_customers=int(new[k]),
            referred=int(referred[k]),
            recorded=int(recorded[k]),
            confirmed=int(confirmed[k]),
            brought=int(brought[k]),
        )
        for k in range(len(labels))
    ]


def counts_for(customer: Customer) -> dict[str, Any]:
    """For the staff customer record: who referred them, how many they referred."""
    made = Referral.objects.filter(referrer=customer).aggregate(
        live=Count("id", filter=Q(status__in=LIVE)),
        confirmed=Count("id", filter=Q(status=ReferralStatus.CONFIRMED)),
    )
    by = (
        Referral.objects.filter(friend=customer, status__in=LIVE).select_related("referrer").first()
    )
    return {"referred_by": by, "made": made["live"] or 0, "confirmed": made["confirmed"] or 0}
