"""The insights API (read only): a customer's scores, the segments, the lost-revenue report.
Thin: each handler reads one query and words it; figures never carry NaN."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Router

from cueillette.api import requires
from cueillette.core.errors import NotFound
from cueillette.core.permissions import ApiScope
from cueillette.core.tenancy import current_org
from cueillette.customers.models import Customer
from cueillette.insights import engine, queries
from cueillette.insights.labels import segment_label
from cueillette.insights.schemas import LostOut, RfmSegmentsOut, ScoresOut

router = Router(tags=["insights"])


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _freshness() -> dict[str, Any]:
    st = queries.state()
    shown = st.shown
    failed = st.failed_since
    return {
        "as_of": shown.as_of if shown else None,
        "status": shown.status if shown else None,
        "message": shown.message if shown else "",
        "last_failure": failed.message if failed else None,
    }


@router.get("/customers/{customer_id}", response=ScoresOut, summary="A customer's scores")
@requires(ApiScope.INSIGHTS_READ)
def customer_scores(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    """404 ``not_found`` for an unknown customer or one without figures yet."""
    from cueillette.insights.views import explain

    customer = Customer.objects.filter(pk=customer_id).first()
    score = queries.score_for(customer) if customer else None
    if score is None:
        raise NotFound("not_found", _("no figures for this customer"), field="customer_id")
    repeat = score.purchases > 1
    return {
        "customer_id": score.customer_id,
        "currency": current_org().currency,
        "purchases": score.purchases,
        "first_purchase_at": score.first_purchase_at,
        "last_purchase_at": score.last_purchase_at,
        "total_spend": _amount(score.total_spend),
        "monthly_value": _amount(score.monthly_value),
        "recency_score": score.recency_score,
        "frequency_score": score.frequency_score,
        "value_score": score.value_score,
        "segment": score.segment,
        "segment_label": segment_label(score.segment),
        "lapsed": score.lapsed,
        "lapsed_at": score.lapsed_at,
        "usual_gap_days": round(score.usual_gap_days, 3),
        "p_alive": engine.clean(score.p_alive) if repeat else None,
        "expected_purchases": {
            f"{m}m": engine.clean(getattr(score, f"purchases_{m}m")) for m in engine.HORIZONS
        },
        "expected_spend": {
            f"{m}m": _amount(getattr(score, f"spend_{m}m")) for m in engine.HORIZONS
        },
        "value_at_stake": _amount(score.value_at_stake),
        "explanation": explain(score),
        "freshness": _freshness(),
    }


@router.get("/segments", response=RfmSegmentsOut, summary="Customers and revenue per segment")
@requires(ApiScope.INSIGHTS_READ)
def segments(request: HttpRequest) -> dict[str, Any]:
    return {
        "currency": current_org().currency,
        "segments": [
            {
                "segment": r.segment.value,
                "label": segment_label(r.segment.value),
                "customers": r.customers,
                "revenue": _amount(r.revenue),
                "monthly_value": _amount(r.monthly_value),
            }
            for r in queries.segment_summary()
        ],
        "freshness": _freshness(),
    }


@router.get("/lost-revenue", response=LostOut, summary="Lapsed customers by reason")
@requires(ApiScope.INSIGHTS_READ)
def lost_revenue(request: HttpRequest) -> dict[str, Any]:
    groups = queries.lost_revenue((get_language() or "fr")[:2])
    row = queries.settings_row()
    return {
        "currency": current_org().currency,
        "lapse_factor": str(row.lapse_factor if row else Decimal("3.0")),
        "total_monthly_revenue": _amount(sum((g.monthly for g in groups), Decimal(0))),
        "groups": [
            {
                "key": g.key,
                "label": g.label or _("No reason recorded yet"),
                "change_id": g.change.pk if g.change else None,
                "change_date": g.change.occurred_on if g.change else None,
                "reason_code": g.reason.code if g.reason else None,
                "customers": g.count,
                "monthly_revenue": _amount(g.monthly),
                "customer_ids": [s.customer_id for s in g.customers],
            }
            for g in groups
        ],
        "freshness": _freshness(),
    }
