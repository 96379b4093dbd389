"""Shapes of the loyalty API (tills). Inputs are loose (amounts as strings or numbers): the
services validate and name the field with a stable code, so the API, the counter screen and
the tests share one set of errors (400). The JSON schema states what they require (one card
reference, lengths, the amount's shape) through ``json_schema_extra``, without moving the
check out of the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.config import JsonDict, JsonValue

Amount = str | int | float
# What parse_amount accepts: a decimal with at most two decimals, a dot or a comma.
_AMOUNT_FORMS: list[JsonValue] = [
    {"type": "string", "pattern": r"^\s*\d+([.,]\d{1,2})?\s*$"},
    {"type": "integer", "minimum": 0},
    {"type": "number", "minimum": 0},
]
AMOUNT_SCHEMA: JsonDict = {"anyOf": _AMOUNT_FORMS}
# The till names the card by its number or by its customer: one of the two, not both.
ONE_CARD_REFERENCE: JsonDict = {
    "oneOf": [
        {
            "required": ["card_number"],
            "properties": {"card_number": {"type": "string"}, "customer_id": {"type": "null"}},
        },
        {
            "required": ["customer_id"],
            "properties": {"customer_id": {"type": "integer"}, "card_number": {"type": "null"}},
        },
    ]
}


class CardRef(Schema):
    model_config = ConfigDict(json_schema_extra=ONE_CARD_REFERENCE)

    card_number: str | None = Field(
        None,
        description="the 12 digits printed on the card (spaces allowed)",
        json_schema_extra={"maxLength": 32},
    )
    customer_id: int | None = Field(None, description="or the customer, if they have a card")


class PurchaseLineIn(Schema):
    amount: Amount = Field(
        description='decimal with at most two decimals, e.g. "12.50"',
        json_schema_extra=AMOUNT_SCHEMA,
    )
    category: str | None = Field(None, description="product category (category multipliers)")


class PurchaseIn(CardRef):
    amount: Amount = Field(
        description='total paid, e.g. "42.50"; 0 records a visit', json_schema_extra=AMOUNT_SCHEMA
    )
    currency: str | None = Field(
        None,
        description="ISO code; the business's currency",
        json_schema_extra={"pattern": "^[A-Za-z]{3}$"},
    )
    receipt_id: str = Field(
        description="unique per organization: a retried sale credits once",
        json_schema_extra={"minLength": 1, "maxLength": 100, "pattern": r"\S"},
    )
    occurred_at: dt.datetime | None = Field(None, description="when the sale happened (now)")
    lines: list[PurchaseLineIn] | None = Field(
        None, description="optional lines with their category, summing to at most the amount"
    )


class TierOut(Schema):
    code: str
    name: str
    threshold: int
    multiplier: str
    benefits: str


class StepOut(Schema):
    code: str
    params: dict[str, Any]


class PurchaseOut(Schema):
    id: int
    receipt_id: str
    card_number: str
    amount: str
    currency: str
    occurred_at: dt.datetime
    points_earned: int = Field(description="points credited by this sale (bonuses included)")
    explanation: list[StepOut] = Field(description="how the points were computed, step by step")
    refunded_amount: str
    points_taken_back: int
    balance: int
    tier: TierOut | None
    already_recorded: bool = Field(
        description="true when this receipt_id was recorded before (nothing new credited)"
    )


class RefundIn(Schema):
    receipt_id: str = Field(
        description="the receipt of the purchase being refunded",
        json_schema_extra={"minLength": 1, "maxLength": 100},
    )
    amount: Amount | None = Field(
        None,
        description="omitted: everything not yet refunded",
        json_schema_extra={"anyOf": [*_AMOUNT_FORMS, {"type": "null"}]},
    )
    refund_id: str | None = Field(
        None,
        description="your refund's id: a retry applies once",
        json_schema_extra={"maxLength": 100},
    )
    reason: str | None = None


class RefundOut(Schema):
    id: int
    refund_id: str
    receipt_id: str
    card_number: str
    amount: str
    points: int = Field(description="points this refund takes back (proportional)")
    points_taken: int = Field(
        description="points actually debited (fewer if the customer already spent them)"
    )
    refunded_total: str
    remaining_amount: str
    occurred_at: dt.datetime
    balance: int
    already_recorded: bool


class RedemptionIn(CardRef):
    reward_id: int


class RedemptionOut(Schema):
    id: int
    card_number: str
    reward_id: int
    reward_name: str
    points: int
    occurred_at: dt.datetime
    balance: int


class RewardOut(Schema):
    id: int
    name: str
    description: str
    cost: int
    stock: int | None
    valid_from: dt.date | None
    valid_until: dt.date | None
    min_tier: str
    available: bool = Field(description="can be taken now (by the given card, if any)")
    unavailable_reason: str | None = Field(
        description="reward_unavailable, out_of_stock, tier_required or insufficient_points"
    )


class RewardPage(Schema):
    items: list[RewardOut]
    next_cursor: str | None


class ExpiryOut(Schema):
    last_day: dt.date = Field(description="last local day the points can be used")
    expires_at: dt.datetime
    points: int


class CardOut(Schema):
    number: str
    display_number: str
    customer_id: int
    status: str = Field(description="open or closed")
    is_open: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    balance: int = Field(description="sum of the ledger")
    available: int = Field(description="usable now (points past their expiry excluded)")
    tier: TierOut | None
    expiring_soon: list[ExpiryOut]
    last_visit_at: dt.datetime | None


class CardCreateIn(Schema):
    customer_id: int
    language: str | None = Field(
        None,
        description="language of the consent wording shown",
        json_schema_extra={"enum": ["fr", "en", "", None]},
    )


class EntryOut(Schema):
    id: int
    kind: str
    points: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    expires_at: dt.datetime | None
    receipt_id: str | None = Field(description="the purchase this entry comes from")
    refund_id: str | None
    reward_id: int | None
    reward_name: str | None
    corrects_id: int | None = Field(description="the entry this one corrects or expires")
    reason: str
    cause: str


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None
