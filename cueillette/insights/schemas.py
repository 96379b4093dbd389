"""Schemas of the insights API. Amounts are strings ("12.50") with the organization's currency;
figures a model could not give are null, never NaN."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


class Freshness(Schema):
    as_of: Any = Field(None, description="the instant the figures describe")
    status: str | None = Field(None, description="ok, not_enough or failed (null: never computed)")
    message: str = ""
    last_failure: str | None = Field(None, description="why the last refresh failed, if it did")


class ScoresOut(Schema):
    customer_id: int
    currency: str
    purchases: int
    first_purchase_at: Any
    last_purchase_at: Any
    total_spend: str
    monthly_value: str = Field(description="net spend per month while they came")
    recency_score: int
    frequency_score: int
    value_score: int
    segment: str
    segment_label: str
    lapsed: bool
    lapsed_at: Any = None
    usual_gap_days: float
    p_alive: float | None = Field(description="probability still a customer (null: one purchase)")
    expected_purchases: dict[str, float | None] = Field(description="keys 3m, 6m, 12m")
    expected_spend: dict[str, str | None] = Field(description="keys 3m, 6m, 12m")
    value_at_stake: str | None
    explanation: str
    freshness: Freshness


class RfmSegmentOut(Schema):
    segment: str
    label: str
    customers: int
    revenue: str
    monthly_value: str


class RfmSegmentsOut(Schema):
    currency: str
    segments: list[RfmSegmentOut]
    freshness: Freshness


class LostGroupOut(Schema):
    key: str = Field(description="change:<id>, reason:<code> or none")
    label: str
    change_id: int | None
    change_date: Any = None
    reason_code: str | None
    customers: int
    monthly_revenue: str
    customer_ids: list[int]


class LostOut(Schema):
    currency: str
    lapse_factor: str = Field(description="lapsed after this many times the usual gap")
    total_monthly_revenue: str
    groups: list[LostGroupOut]
    freshness: Freshness
