"""Sending one delivery: signed POST, a short timeout, no redirects; back-off over a day.

Schedule after a failed attempt: 1 min, 5 min, 30 min, 2 h, 5 h, 8 h, 8 h 24 min (24 h in all), then
the delivery gives up. An endpoint failing :data:`PAUSE_AFTER` attempts in a row is paused and
its owners are emailed; resuming sends what waits.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from cueillette.accounts.models import Membership, Role
from cueillette.core import audit
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.mail import send_templated
from cueillette.webhooks import signing, targets
from cueillette.webhooks.models import Delivery, DeliveryStatus, Endpoint

BACKOFF_SECONDS = (60, 300, 1800, 7200, 18000, 28800, 30240)
PAUSE_AFTER = 10
TIMEOUT_SECONDS = 10
USER_AGENT = "Cueillette-Webhooks/1 (+https://cueillette.org/docs/webhooks)"


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(
        delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False
    ).encode()


def secrets_of(endpoint: Endpoint, now: dt.datetime) -> list[str]:
    out = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        out.append(endpoint.previous_secret)
    return out


def post(endpoint: Endpoint, delivery: Delivery, now: dt.datetime) -> tuple[int | None, str]:
    """(HTTP status or None, error text). Never follows a redirect."""
    try:
        host, port = targets.check_url(endpoint.url)
    except ServiceError as exc:
        return None, exc.message
    parts = urlsplit(endpoint.url)
    body = body_of(delivery)
    timeout = getattr(settings, "WEBHOOKS_TIMEOUT", TIMEOUT_SECONDS)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Cueillette-Event-Id": str(delivery.event_id),
        "Cueillette-Event": delivery.event,
        "Cueillette-Delivery": str(delivery.pk),
        "Cueillette-Signature": signing.header(secrets_of(endpoint, now), body),
    }
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(64 * 1024)
        return (
            response.status,
            ""
            if 200 <= response.status < 300
            else f"HTTP {response.status} {response.reason}"[:300],
        )
    except TimeoutError:
        return None, f"no answer within {timeout} s"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        conn.close()


def attempt(delivery_id: int) -> Delivery | None:
    """Try one delivery if it is due; record the result; schedule the next try or give up."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
            .first()
        )
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now):
            return delivery
        endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
        if not endpoint.active or endpoint.is_paused:
            return delivery
        # Claim: a parallel worker finds it not yet due.
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=now + dt.timedelta(seconds=TIMEOUT_SECONDS * 3)
        )
    status, error = post(endpoint, delivery, now)
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status = status
        delivery.last_error = error
        if ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
            Endpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        else:
            index = delivery.attempts - 1
            if index < len(BACKOFF_SECONDS):
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + dt.timedelta(seconds=BACKOFF_SECONDS[index])
            else:
                delivery.status = DeliveryStatus.GAVE_UP
                delivery.next_attempt_at = None
            _count_failure(endpoint)
        delivery.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "last_status",
                "last_error",
                "status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
    if not ok and delivery.status == DeliveryStatus.RETRYING:
        _schedule(delivery)
    return delivery


def _count_failure(endpoint: Endpoint) -> None:
    locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    locked.consecutive_failures += 1
    if locked.consecutive_failures >= PAUSE_AFTER and locked.paused_at is None:
        locked.paused_at = timezone.now()
        locked.save(update_fields=["consecutive_failures", "paused_at"])
        audit.record(
            Actor.system("webhooks"),
            "webhooks.endpoint_paused",
            locked,
            failures=locked.consecutive_failures,
        )
        from cueillette.webhooks import outbox

        outbox.clear_cache(locked.organization_id)
        owners = Membership.objects.filter(role=Role.OWNER).select_related("user")
        for m in owners:
            send_templated(
                "webhooks/email/paused",
                m.user.email,
                {
                    "endpoint": locked,
                    "failures": locked.consecutive_failures,
                    "url": settings.SITE_URL + f"/app/webhooks/{locked.pk}/",
                },
            )
    else:
        locked.save(update_fields=["consecutive_failures"])


def _schedule(delivery: Delivery) -> None:
    """Queue the next try at its time when the task backend can defer; the sweep is the net."""
    from django_tasks import default_task_backend

    from cueillette.webhooks import tasks

    if getattr(default_task_backend, "supports_defer", False) and delivery.next_attempt_at:
        tasks.deliver.using(run_after=delivery.next_attempt_at).enqueue(
            [delivery.pk], delivery.organization_id
        )
