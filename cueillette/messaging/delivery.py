"""Handing allowed messages to the mail or SMS backend: the only module that does.

Each delivery is claimed with a conditional UPDATE (queued → sending) after the gate decided
again at send time (consent, suppression, cap: :func:`cueillette.messaging.gate.recheck`), so
two workers, a retried task or a double click never send one message twice. A failure is
retried with back-off (``rules.backoff``) up to ``rules.MAX_ATTEMPTS``; a worker killed between
the claim and the hand-off leaves a "sending" row that the hourly pass (``tasks``) hands over
again after :data:`STALE_CLAIM`, with the same ``Message-ID`` so receiving servers can drop the
duplicate. Sending is throttled per organization (``PressureSettings.per_second``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from cueillette.core import scheduling
from cueillette.core.mail import build_message, reply_to_for, sender_for
from cueillette.core.tenancy import current_org, tenant_context
from cueillette.messaging import gate, rules, sms
from cueillette.messaging.models import Channel, Delivery, Reason, Status

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=15)
BATCH = 100


def deliver_on_commit(ids: Sequence[int], *, run_after: dt.datetime | None = None) -> None:
    """Queue the hand-off of these deliveries once the deciding transaction commits."""
    org_id = current_org().pk
    ids = list(ids)

    def enqueue() -> None:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            job: Any = deliver_task
            if run_after is not None and run_after > timezone.now():
                if not deliver_task.get_backend().supports_defer:
                    return  # the hourly pass (tasks.send_due) sends it when due
                job = deliver_task.using(run_after=run_after)
            job.enqueue(org_id, chunk)

    transaction.on_commit(enqueue)


def deliver_unlogged_on_commit(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    headers: dict[str, str] | None,
    reply_to: list[str] | None,
) -> None:
    """Staff mail outside any organization (see ``gate._outside_any_organization``)."""

    def enqueue() -> None:
        deliver_unlogged_task.enqueue(
            to=to, subject=subject, text=text, html=html, headers=headers, reply_to=reply_to
        )

    transaction.on_commit(enqueue)


@task(queue_name="emails")
def deliver_unlogged_task(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    reply_to: list[str] | None = None,
) -> None:
    # A failure is the task's (stored FAILED with its traceback): no row to retry from.
    connection = get_connection()
    connection.send_messages(
        [build_message([to], subject, text, html, headers=headers, reply_to=reply_to)]
    )


@task(queue_name="emails")
def deliver_task(org_id: int, ids: list[int]) -> dict[str, int]:
    org = scheduling.organization(org_id)
    if org is None:
        return {}
    with tenant_context(org):
        return deliver(ids)


def _claim(pk: int, now: dt.datetime) -> Delivery | None:
    """Decide again and claim one delivery for sending; None if it must not (or not yet) go."""
    with transaction.atomic():
        d = Delivery.objects.select_related("customer").filter(pk=pk).first()
        if d is None or d.status not in (Status.QUEUED, Status.DEFERRED):
            return None
        if d.send_after is not None and d.send_after > now:
            return None
        if d.customer is not None:
            type(d.customer).objects.select_for_update().filter(pk=d.customer_id).first()
        decision = gate.recheck(d, now)
        if decision.status == Status.REFUSED:
            Delivery.objects.filter(pk=pk, status=d.status).update(
                status=Status.REFUSED, reason=decision.reason, payload={}
            )
            return None
        if decision.status == Status.DEFERRED:
            Delivery.objects.filter(pk=pk).update(
                status=Status.DEFERRED, reason=decision.reason, send_after=decision.send_after
            )
            deliver_on_commit([pk], run_after=decision.send_after)
            return None
        flipped = Delivery.objects.filter(pk=pk, status=d.status).update(
            status=Status.SENDING,
            claimed_at=now,
            sent_at=now,
            reason=decision.reason,
            consent_event_id=decision.entry.id if decision.entry else None,
        )
        return d if flipped else None


def message_id(d: Delivery) -> str:
    """Stable across retries: a receiving server can drop a duplicate after a crash."""
    sender = str(settings.DEFAULT_FROM_EMAIL)
    domain = sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "localhost"
    return f"<cueillette.{d.organization_id}.{d.pk}@{domain}>"


def _email(d: Delivery) -> Any:
    p = d.payload or {}
    headers = dict(p.get("headers") or {})
    headers["Message-ID"] = message_id(d)
    # A message about a business comes from it (core.mail.sender_for), answers reach it.
    org = current_org()
    extra = p.get("extra") or {}
    return build_message(
        to=[d.address],
        subject=d.subject,
        text=p.get("text") or "",
        html=p.get("html"),
        headers=headers,
        reply_to=p.get("reply_to") or ([r] if (r := reply_to_for(org, None)) else None),
        from_email=extra.get("from_email") or sender_for(org),
    )


def _failed(d: Delivery, error: Exception, now: dt.datetime) -> None:
    attempts = d.attempts + 1
    text = f"{type(error).__name__}: {error}"[:300]
    if attempts >= rules.MAX_ATTEMPTS:
        Delivery.objects.filter(pk=d.pk).update(
            status=Status.FAILED,
            reason=Reason.DELIVERY_FAILED,
            attempts=attempts,
            last_error=text,
            sent_at=None,
        )
        return
    later = now + rules.backoff(attempts)
    Delivery.objects.filter(pk=d.pk).update(
        status=Status.QUEUED, attempts=attempts, last_error=text, send_after=later, sent_at=None
    )
    deliver_on_commit([d.pk], run_after=later)


class _Throttle:
    def __init__(self, per_second: int) -> None:
        self.interval = 1.0 / max(per_second, 1)
        self.last = 0.0

    def wait(self) -> None:
        gap = self.last + self.interval - time.monotonic()
        if gap > 0:
            time.sleep(gap)
        self.last = time.monotonic()


def deliver(ids: Sequence[int], *, now: dt.datetime | None = None) -> dict[str, int]:
    """Send what may go among ``ids`` (one connection per batch); returns counts."""
    now = now or timezone.now()
    claimed = [d for d in (_claim(pk, now) for pk in ids) if d is not None]
    counts = {"sent": 0, "failed": 0, "skipped": len(ids) - len(claimed)}
    if not claimed:
        return counts
    throttle = _Throttle(gate.pressure().per_second)
    emails = [d for d in claimed if d.channel == Channel.EMAIL]
    texts = [d for d in claimed if d.channel == Channel.SMS]
    if emails:
        connection = get_connection()
        try:
            connection.open()
            for d in emails:
                throttle.wait()
                try:
                    connection.send_messages([_email(d)])
                except Exception as exc:  # any SMTP/socket error: retry later
                    log.warning("delivery %s failed: %s", d.pk, exc)
                    _failed(d, exc, now)
                    counts["failed"] += 1
                    connection.close()
                    connection = get_connection()
                    continue
                _sent(d, now)
                counts["sent"] += 1
        finally:
            connection.close()
    if texts:
        backend = sms.get_backend()
        for d in texts:
            throttle.wait()
            try:
                backend.send_messages(
                    [
                        sms.SmsMessage(
                            to=d.address,
                            text=(d.payload or {}).get("text", ""),
                            reference=str(d.pk),
                        )
                    ]
                )
            except Exception as exc:
                _failed(d, exc, now)
                counts["failed"] += 1
                continue
            _sent(d, now)
            counts["sent"] += 1
    return counts


def _sent(d: Delivery, now: dt.datetime) -> None:
    # The content is not kept once sent: the log says what and why, not the whole text.
    Delivery.objects.filter(pk=d.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, payload={}, attempts=F("attempts") + 1
    )
