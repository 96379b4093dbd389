"""Shapes of the customers API. Inputs are loose (strings): the services validate and name
the field with a stable code, so the API and the pages give the same errors (400).

The JSON schema still states what the services require (lengths, choices, "a first or a last
name"), through ``json_schema_extra`` only: a client reads the rules in the schema, and the
answer to a breach stays the service's 400 with its code, as on the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.config import JsonDict

from cueillette.customers.models import HeardFrom, Purpose
from cueillette.customers.services import MAX_TAG_LENGTH, MAX_TAGS, TEXT_FIELDS

LANGUAGES = ["fr", "en"]


def _text(name: str, description: str | None = None) -> Any:
    """An optional text field, its length limit stated (the service refuses longer)."""
    return Field(None, description=description, json_schema_extra={"maxLength": TEXT_FIELDS[name]})


def _choice(values: list[str], description: str) -> Any:
    """An optional choice; null or "" mean the default."""
    return Field(None, description=description, json_schema_extra={"enum": [*values, "", None]})


class CustomerFields(Schema):
    first_name: str | None = _text("first_name")
    last_name: str | None = _text("last_name")
    email: str | None = Field(
        None,
        description="an address with @ and a domain; stored in lowercase",
        json_schema_extra={"maxLength": 254},
    )
    phone: str | None = Field(
        None, description="any common format; stored as E.164", json_schema_extra={"maxLength": 32}
    )
    postal_code: str | None = _text("postal_code")
    language: str | None = _choice(LANGUAGES, "fr or en (default: the business's)")
    birthday: str | None = Field(
        None,
        description="YYYY-MM-DD, between 1900-01-01 and today",
        json_schema_extra={
            "anyOf": [{"type": "string", "format": "date"}, {"const": ""}, {"type": "null"}]
        },
    )
    notes: str | None = _text("notes")
    tags: list[str] | None = Field(
        None,
        description=f"at most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters",
        json_schema_extra={"maxItems": MAX_TAGS},
    )
    heard_from: str | None = _choice(
        [v for v in HeardFrom.values if v], "how the customer heard of the business"
    )
    heard_from_detail: str | None = _text("heard_from_detail")


# A new customer needs a first or a last name (not blank): customers.services refuses `{}`.
_NEEDS_A_NAME: JsonDict = {
    "anyOf": [
        {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}
        for name in ("first_name", "last_name")
    ]
}


class CustomerCreateIn(CustomerFields):
    model_config = ConfigDict(json_schema_extra=_NEEDS_A_NAME)

    consents: dict[str, bool] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"enum": list(Purpose.values)}},
        description='purposes the customer agreed to, e.g. {"loyalty": true}. A news_email '
        "grant sends a confirmation email first (double opt-in).",
    )
    consent_language: str | None = _choice(
        LANGUAGES, "language of the wording shown (default: the customer's)"
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


class FieldWarningOut(Schema):
    code: str = Field(description="phone_unallocated or health_like_tag")
    field: str = Field(description="the field concerned: phone or tags")
    message: str = Field(description="the reason, in the key's organization language")


class CustomerWrittenOut(CustomerOut):
    warnings: list[FieldWarningOut] = Field(
        default_factory=list,
        description="what was kept but deserves a second look: a phone number of the right "
        "length in a range the phone library does not know (phone_unallocated), a new tag that "
        "reads like health data, which belongs in a care note (health_like_tag). Never a "
        "refusal.",
    )


class CustomerCreatedOut(CustomerWrittenOut):
    consents: dict[str, str] = Field(
        description="per requested purpose: granted, pending_confirmation or not_given"
    )


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class MergeIn(Schema):
    other_id: int = Field(description="the record folded into this one (it is kept as merged)")


class ConsentIn(Schema):
    purpose: str = Field(json_schema_extra={"enum": list(Purpose.values)})
    granted: bool
    source: str = Field(
        "api",
        description="api, counter or import",
        json_schema_extra={"enum": ["api", "counter", "import"]},
    )
    language: str | None = _choice(LANGUAGES, "language of the wording shown")


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
