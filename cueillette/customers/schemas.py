"""Shapes of the customers API. Inputs are loose (strings): the services validate and name
the field with a stable code, so the API and the pages give the same errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class CustomerFields(Schema):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = Field(None, description="any common format; stored as E.164")
    postal_code: str | None = None
    language: str | None = Field(None, description="fr or en")
    birthday: str | None = Field(None, description="YYYY-MM-DD")
    notes: str | None = None
    tags: list[str] | None = None
    heard_from: str | None = None
    heard_from_detail: str | None = None


class CustomerCreateIn(CustomerFields):
    consents: dict[str, bool] = Field(
        default_factory=dict,
        description='purposes the customer agreed to, e.g. {"loyalty": true}. A news_email '
        "grant sends a confirmation email first (double opt-in).",
    )
    consent_language: str | None = Field(
        None, description="language of the wording shown (default: the customer's)"
    )


class CustomerUpdateIn(CustomerFields):
    pass


class CustomerOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    postal_code: str
    language: str
    birthday: dt.date | None
    notes: str
    tags: list[str]
    heard_from: str
    heard_from_detail: str
    source: str
    status: str = Field(description="active, merged or erased")
    merged_into_id: int | None = Field(description="the surviving record of a merge")
    created_at: dt.datetime
    updated_at: dt.datetime
    last_activity_at: dt.datetime | None


class CustomerCreatedOut(CustomerOut):
    consents: dict[str, str] = Field(
        description="per requested purpose: granted, pending_confirmation or not_given"
    )


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class MergeIn(Schema):
    other_id: int = Field(description="the record folded into this one (it is kept as merged)")


class ConsentIn(Schema):
    purpose: str
    granted: bool
    source: str = Field("api", description="api, counter or import")
    language: str | None = Field(None, description="language of the wording shown")


class ConsentEventOut(Schema):
    id: int
    customer_id: int
    purpose: str
    channel: str
    granted: bool
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    source: str
    wording_id: int
    wording_version: int
    wording_language: str
    wording_hash: str
    actor_kind: str
    actor_label: str
    evidence: dict[str, Any]

    # From a ledger row (ORM) or from an already-built answer (dict or schema).
    @staticmethod
    def resolve_wording_version(obj: Any) -> int:
        return int(_wording_attr(obj, "version"))

    @staticmethod
    def resolve_wording_language(obj: Any) -> str:
        return str(_wording_attr(obj, "language"))


def _wording_attr(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj[f"wording_{name}"]
    wording = getattr(obj, "wording", None)
    if wording is None:
        return getattr(obj, f"wording_{name}")
    return getattr(wording, name)


class ConsentRecordedOut(Schema):
    result: str = Field(description="recorded, unchanged or pending_confirmation")
    event: ConsentEventOut | None


class ConsentPage(Schema):
    items: list[ConsentEventOut]
    next_cursor: str | None


class PurposeState(Schema):
    purpose: str
    state: str = Field(description="granted, withdrawn, pending_confirmation or never_asked")
    granted: bool
    since: dt.datetime | None
    wording_version: int | None
    event_id: int | None


class ConsentStateOut(Schema):
    customer_id: int
    purposes: list[PurposeState]
