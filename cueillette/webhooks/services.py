"""Every write of the webhooks app: register, rotate the secret, pause/resume, replay, remove."""

from __future__ import annotations

import datetime as dt
import secrets as pysecrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, permissions
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm
from cueillette.webhooks import outbox, targets
from cueillette.webhooks.errors import Code
from cueillette.webhooks.models import EVENTS, Delivery, DeliveryStatus, Endpoint

ROTATION_GRACE = dt.timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + pysecrets.token_urlsafe(32)


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = [e for e in dict.fromkeys(events) if e]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise ServiceError(
            Code.UNKNOWN_EVENT, _("unknown event: %(e)s") % {"e": unknown[0]}, field="events"
        )
    if not chosen:
        raise ServiceError(Code.REQUIRED, _("choose at least one event"), field="events")
    return chosen


@transaction.atomic
def create_endpoint(
    url: str,
    events: Iterable[str],
    *,
    actor: Actor,
    description: str = "",
) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it with its secret, shown to the owner this once."""
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    targets.check_url(url)
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        url=url.strip(),
        events=_clean_events(events),
        description=description.strip()[:200],
        secret=secret,
        created_by=actor.user,
    )
    audit.record(actor, "webhooks.endpoint_created", endpoint, events=endpoint.events)
    _forget(endpoint.organization_id)
    return endpoint, secret


@transaction.atomic
def update_events(endpoint: Endpoint, events: Iterable[str], *, actor: Actor) -> Endpoint:
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    endpoint.events = _clean_events(events)
    endpoint.save(update_fields=["events"])
    audit.record(actor, "webhooks.endpoint_updated", endpoint, events=endpoint.events)
    _forget(endpoint.organization_id)
    return endpoint


@transaction.atomic
def rotate_secret(endpoint: Endpoint, *, actor: Actor) -> str:
    """A new secret, shown once; the previous one keeps signing for 24 hours (both signatures
    are sent), so the receiver can be updated without losing an event."""
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = new_secret()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
    locked.secret = secret
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit.record(actor, "webhooks.secret_rotated", locked)
    return secret


@transaction.atomic
def pause(endpoint: Endpoint, *, actor: Actor) -> Endpoint:
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    Endpoint.objects.filter(pk=endpoint.pk).update(paused_at=timezone.now())
    audit.record(actor, "webhooks.endpoint_paused", endpoint, by="owner")
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def resume(endpoint: Endpoint, *, actor: Actor) -> int:
    """Resume a paused endpoint: what waits is sent now (the back-off restarts)."""
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    Endpoint.objects.filter(pk=endpoint.pk).update(paused_at=None, consecutive_failures=0)
    waiting = list(
        Delivery.objects.filter(
            endpoint=endpoint, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ).values_list("pk", flat=True)
    )
    Delivery.objects.filter(pk__in=waiting).update(next_attempt_at=timezone.now())
    audit.record(actor, "webhooks.endpoint_resumed", endpoint, waiting=len(waiting))
    _send_on_commit(waiting, endpoint.organization_id)
    endpoint.refresh_from_db()
    return len(waiting)


@transaction.atomic
def replay(delivery: Delivery, *, actor: Actor) -> Delivery:
    """Send an event again, same event id (receivers deduplicate on it), as a new delivery."""
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    copy = Delivery.objects.create(
        endpoint_id=delivery.endpoint_id, event_id=delivery.event_id, event=delivery.event, payload=delivery.payload,  # noqa: E501
        next_attempt_at=timezone.now(), replay_of=delivery,
    )  # fmt: skip
    audit.record(
        actor,
        "webhooks.delivery_replayed",
        copy,
        original=delivery.pk,
        event_id=str(delivery.event_id),
    )
    _send_on_commit([copy.pk], delivery.organization_id)
    return copy


@transaction.atomic
def remove(endpoint: Endpoint, *, actor: Actor) -> Endpoint:
    """Stop an endpoint for good (kept, inactive, with its log)."""
    permissions.require(actor, Perm.MANAGE_WEBHOOKS)
    Endpoint.objects.filter(pk=endpoint.pk).update(active=False)
    audit.record(actor, "webhooks.endpoint_removed", endpoint)
    _forget(endpoint.organization_id)
    endpoint.refresh_from_db()
    return endpoint


def _forget(org_id: int) -> None:
    """This process's cache of endpoints is dropped now and again after the commit (another
    request could refill it from the old rows in between)."""
    outbox.clear_cache(org_id)
    transaction.on_commit(lambda: outbox.clear_cache(org_id))


def _send_on_commit(ids: list[int], org_id: int) -> None:
    from cueillette.webhooks import tasks

    if ids:
        transaction.on_commit(lambda: tasks.deliver.enqueue(ids, org_id))
