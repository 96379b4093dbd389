"""Hearing consequences: each subscribed event becomes a Delivery row inside the action's
transaction (phase IN_TRANSACTION), so the event and the action commit or roll back together;
the sending is queued after the commit.

Whether an organization has endpoints at all is cached per process for a few seconds (an
import fires once per row, and most organizations have none); when the cache says someone
listens, the endpoints are read again inside the transaction. Services clear the cache when an
endpoint changes, so only another process may miss events of an endpoint created in the last
few seconds.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from cueillette.core import consequences
from cueillette.core.audit import Actor
from cueillette.core.consequences import Fired, Phase
from cueillette.webhooks.models import EVENTS, Delivery, DeliveryStatus, Endpoint

CACHE_SECONDS = 5.0
_cache: dict[int, tuple[float, list[tuple[int, frozenset[str]]]]] = {}
# Never sent to another system: free-text notes staff keep, search keys, secrets.
PRIVATE_FIELDS = frozenset(
    {"notes", "search_last", "search_first", "search_phone", "token_hash", "nonce", "secret",
     "previous_secret", "hashed_key", "password", "explanation", "care_notes"}
)  # fmt: skip


def clear_cache(org_id: int | None = None) -> None:
    if org_id is None:
        _cache.clear()
    else:
        _cache.pop(org_id, None)


def _endpoints(org_id: int) -> list[tuple[int, frozenset[str]]]:
    hit = _cache.get(org_id)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    # A consequence may fire where no tenant is current (a task): filter by its organization.
    rows = [
        (pk, frozenset(events))
        for pk, events in Endpoint.objects.unscoped()
        .filter(organization_id=org_id, active=True)
        .values_list("pk", "events")
    ]
    _cache[org_id] = (now + CACHE_SECONDS, rows)
    return rows


def serialize(value: Any) -> Any:
    """A payload value as JSON: model instances as their public fields, money as text."""
    if isinstance(value, models.Model):
        out: dict[str, Any] = {"id": value.pk}
        for f in value._meta.concrete_fields:
            if f.name in PRIVATE_FIELDS or f.primary_key or f.name == "organization":
                continue
            if f.is_relation:
                out[f.attname] = getattr(value, f.attname)
            else:
                out[f.name] = serialize(getattr(value, f.attname))
        return out
    if isinstance(value, Actor):
        # Who acted, as the activity log words it (never the user object).
        return {"kind": value.kind, "label": value.label}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): serialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [serialize(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def record(fired: Fired) -> None:
    """IN_TRANSACTION subscriber: one Delivery per endpoint listening to this event."""
    if fired.organization_id is None:
        return
    cached = _endpoints(fired.organization_id)
    if not any(fired.name in events for _pk, events in cached):
        return
    # Something listens: read the endpoints again in this transaction, so a cache filled by
    # a rolled-back change can never point at an endpoint that does not exist.
    targets = [
        pk
        for pk, events in Endpoint.objects.unscoped()
        .filter(organization_id=fired.organization_id, active=True)
        .values_list("pk", "events")
        if fired.name in events
    ]
    if not targets:
        return
    data = {k: serialize(v) for k, v in fired.payload.items()}
    payload = {
        "id": str(fired.id),
        "type": fired.name,
        "created": fired.occurred_at.isoformat(),
        "data": data,
    }
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        [
            Delivery(
                organization_id=fired.organization_id,
                endpoint_id=pk,
                event_id=fired.id,
                event=fired.name,
                payload=payload,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
            )
            for pk in targets
        ]
    )
    ids = [d.pk for d in rows if d.pk is not None]
    org_id = fired.organization_id
    transaction.on_commit(lambda: _enqueue(ids, org_id), robust=True)


def record_many(fireds: Sequence[Fired]) -> None:
    """:func:`record` for a batch (an import): the fireds of one ``fire_many`` share their
    event and organization, so the cache is asked once; each one is recorded when something
    may listen."""
    if not fireds or fireds[0].organization_id is None:
        return
    name = fireds[0].name
    if not any(name in events for _pk, events in _endpoints(fireds[0].organization_id)):
        return
    for fired in fireds:
        record(fired)


def _enqueue(ids: list[int], org_id: int) -> None:
    from cueillette.webhooks import tasks

    if ids:
        tasks.deliver.enqueue(ids, org_id)
    else:  # bulk_create without returned ids (older databases): the sweep sends them
        tasks.deliver_due.enqueue()


def subscribe_all() -> None:
    for name in EVENTS:
        consequences.subscribe(name, record, phase=Phase.IN_TRANSACTION, many=record_many)
