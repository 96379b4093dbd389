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
import queue
import threading
import time
from collections.abc import Callable, Sequence
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
from cueillette.messaging import gate, rules, sms, wire
from cueillette.messaging.models import Channel, Delivery, PressureSettings, Reason, Status

log = logging.getLogger(__name__)

STALE_CLAIM = dt.timedelta(minutes=15)
BATCH = 100
# Sent messages are marked this many at a time (half a batch: one UPDATE per 50 messages; a
# worker killed in between leaves at most that many to hand over again, same Message-ID).
MARK_EVERY = 50
# SMTP connections per batch (setting MESSAGING_SMTP_CONNECTIONS), each with at least
# LANE_MIN messages: the exchange is mostly waiting for the server's replies.
SMTP_CONNECTIONS = 3
LANE_MIN = 10


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


def _claim(
    ids: Sequence[int], now: dt.datetime, settings_row: PressureSettings | None = None
) -> list[Delivery]:
    """Decide again and claim a batch of deliveries for sending; returns those that must go now.

    One transaction: the customers locked in key order (as every decision locks them), the
    rows locked, the gate's decision at send time for all of them (``gate.recheck_many``), then
    one conditional UPDATE per outcome (queued or deferred → sending, refused, deferred)."""
    from cueillette.customers.models import Customer

    with transaction.atomic():
        # One statement: the batch's customers, locked in key order.
        list(
            Customer.objects.select_for_update()
            .filter(pk__in=Delivery.objects.filter(pk__in=ids).values("customer_id"))
            .order_by("pk")
            .values("pk")
        )
        rows = list(
            Delivery.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk__in=ids, status__in=(Status.QUEUED, Status.DEFERRED))
            .order_by("pk")
        )
        due = [d for d in rows if d.send_after is None or d.send_after <= now]
        decisions = gate.recheck_many(due, now, settings_row=settings_row)
        going: list[Delivery] = []
        before: list[tuple[str, int | None]] = []
        refused: dict[str, list[int]] = {}
        for d, decision in zip(due, decisions, strict=True):
            if decision.status == Status.REFUSED:
                refused.setdefault(decision.reason, []).append(d.pk)
            elif decision.status == Status.DEFERRED:
                Delivery.objects.filter(pk=d.pk).update(
                    status=Status.DEFERRED, reason=decision.reason, send_after=decision.send_after
                )
                deliver_on_commit([d.pk], run_after=decision.send_after)
            else:
                before.append((d.reason, d.consent_event_id))
                d.reason = decision.reason
                d.consent_event_id = decision.entry.id if decision.entry else None
                going.append(d)
        for reason, pks in refused.items():
            Delivery.objects.filter(pk__in=pks).update(
                status=Status.REFUSED, reason=reason, payload={}
            )
        if going:
            # The rows are locked: these UPDATEs flip exactly them, so two workers or a retried
            # task never claim one message twice. The decision at send time is written where it
            # differs from the one at request time (usually nowhere: one UPDATE for the batch).
            Delivery.objects.filter(pk__in=[d.pk for d in going]).update(
                status=Status.SENDING, claimed_at=now, sent_at=now
            )
            changed: dict[tuple[str, int | None], list[int]] = {}
            for d, (reason, entry) in zip(going, before, strict=True):
                if (d.reason, d.consent_event_id) != (reason, entry):
                    changed.setdefault((d.reason, d.consent_event_id), []).append(d.pk)
            for (reason, entry), pks in changed.items():
                Delivery.objects.filter(pk__in=pks).update(reason=reason, consent_event_id=entry)
        return going


def message_id(d: Delivery) -> str:
    """Stable across retries: a receiving server can drop a duplicate after a crash."""
    return f"<cueillette.{d.organization_id}.{d.pk}@{_domain()}>"


def _domain() -> str:
    sender = str(settings.DEFAULT_FROM_EMAIL)
    return sender.rsplit("@", 1)[-1].strip(" >") if "@" in sender else "localhost"


class _Sender:
    """What every message of a batch shares: who it comes from, where answers go (read once)."""

    def __init__(self) -> None:
        org = current_org()
        self.reply_to = reply_to_for(org, None)
        self.from_email = sender_for(org)


def _email(d: Delivery, sender: _Sender | None = None) -> Any:
    p = d.payload or {}
    text, html, headers = gate.outgoing(d)
    headers["Message-ID"] = message_id(d)
    # A message about a business comes from it (core.mail.sender_for), answers reach it.
    sender = sender or _Sender()
    extra = p.get("extra") or {}
    return build_message(
        to=[d.address],
        subject=d.subject,
        text=text,
        html=html,
        headers=headers,
        reply_to=p.get("reply_to") or ([sender.reply_to] if sender.reply_to else None),
        from_email=extra.get("from_email") or sender.from_email,
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
    """At most ``per_second`` hand-overs a second, shared by the connections of a batch."""

    def __init__(self, per_second: int) -> None:
        self.interval = 1.0 / max(per_second, 1)
        self.last = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            gap = self.last + self.interval - time.monotonic()
            if gap > 0:
                time.sleep(gap)
            self.last = time.monotonic()


def _connections(count: int) -> int:
    """SMTP connections a batch of ``count`` emails is spread over (each in its own thread:
    the exchange with the server is waiting, not work)."""
    lanes = int(getattr(settings, "MESSAGING_SMTP_CONNECTIONS", SMTP_CONNECTIONS) or 1)
    return max(1, min(lanes, count // LANE_MIN))


def _send_lane(
    items: Sequence[tuple[Delivery, Any]],
    throttle: _Throttle,
    report: Callable[[Delivery, Exception | None], None],
) -> None:
    """Send ``items`` over one connection, reporting each outcome as it comes (from a lane's
    thread, ``report`` only queues it: the rows are written by the task's own thread)."""
    connection = get_connection()
    reported = 0
    try:
        connection.open()
        for d, email in items:
            throttle.wait()
            try:
                connection.send_messages([email])
            except Exception as exc:  # any SMTP/socket error: retry later
                report(d, exc)
                reported += 1
                connection.close()
                connection = get_connection()
                continue
            report(d, None)
            reported += 1
    except Exception as exc:  # no connection to the server: the rest is retried later
        for d, _ in items[reported:]:
            report(d, exc)
    finally:
        connection.close()


def _send_emails(
    emails: Sequence[Delivery],
    throttle: _Throttle,
    done: _Done,
    counts: dict[str, int],
    now: dt.datetime,
) -> None:
    """Build each email (bytes prepared once per shape for the SMTP backend), then hand them
    over through one or a few connections; outcomes are written as they come in (marked
    sent :data:`MARK_EVERY` at a time, failures queued for a retry)."""
    sender = _Sender()
    shapes = wire.Shapes() if _is_smtp() else None
    built: list[tuple[Delivery, Any]] = []
    for d in emails:
        try:
            email = _email(d, sender)
            built.append((d, shapes.prepare(email) if shapes is not None else email))
        except Exception as exc:  # a message that cannot be built: retried like a failure
            log.warning("delivery %s failed: %s", d.pk, exc)
            _failed(d, exc, now)
            counts["failed"] += 1
    if not built:
        return

    def record(d: Delivery, exc: Exception | None) -> None:
        if exc is None:
            done.add(d.pk)
            counts["sent"] += 1
        else:
            log.warning("delivery %s failed: %s", d.pk, exc)
            _failed(d, exc, now)
            counts["failed"] += 1

    # Several connections for Django's SMTP backend only (the one that waits on a network);
    # any other backend (locmem in tests, console, file) gets the messages in order, inline.
    lanes = _connections(len(built)) if shapes is not None else 1
    if lanes == 1:
        _send_lane(built, throttle, record)
        return
    results: queue.SimpleQueue[tuple[Delivery, Exception | None] | None] = queue.SimpleQueue()

    def lane(items: Sequence[tuple[Delivery, Any]]) -> None:
        try:
            _send_lane(items, throttle, lambda d, exc: results.put((d, exc)))
        finally:
            results.put(None)

    threads = [
        threading.Thread(target=lane, args=(built[i::lanes],), daemon=True) for i in range(lanes)
    ]
    for t in threads:
        t.start()
    try:
        finished = 0
        while finished < lanes:
            item = results.get()
            if item is None:
                finished += 1
            else:
                record(*item)
    finally:
        for t in threads:
            t.join()


def _is_smtp() -> bool:
    from django.core.mail.backends.smtp import EmailBackend

    return isinstance(get_connection(), EmailBackend)


def deliver(ids: Sequence[int], *, now: dt.datetime | None = None) -> dict[str, int]:
    """Send what may go among ``ids`` (a few connections per batch); returns counts."""
    now = now or timezone.now()
    settings_row = gate.pressure()
    claimed = _claim(ids, now, settings_row)
    counts = {"sent": 0, "failed": 0, "skipped": len(ids) - len(claimed)}
    if not claimed:
        return counts
    throttle = _Throttle(settings_row.per_second)
    done = _Done(now)
    emails = [d for d in claimed if d.channel == Channel.EMAIL]
    texts = [d for d in claimed if d.channel == Channel.SMS]
    if emails:
        try:
            _send_emails(emails, throttle, done, counts, now)
        finally:
            done.flush()
    if texts:
        backend = sms.get_backend()
        for d in texts:
            throttle.wait()
            try:
                backend.send_messages(
                    [
                        sms.SmsMessage(
                            to=d.address,
                            text=gate.outgoing(d)[0],
                            reference=str(d.pk),
                        )
                    ]
                )
            except Exception as exc:
                _failed(d, exc, now)
                counts["failed"] += 1
                continue
            done.add(d.pk)
            counts["sent"] += 1
        done.flush()
    return counts


class _Done:
    """Messages handed over, marked sent a few at a time (one UPDATE per :data:`MARK_EVERY`).

    A worker killed before the mark leaves them "sending": the hourly pass hands them over again
    after :data:`STALE_CLAIM` with the same ``Message-ID``, which receiving servers drop."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.ids: list[int] = []

    def add(self, pk: int) -> None:
        self.ids.append(pk)
        if len(self.ids) >= MARK_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.ids:
            return
        # The content is not kept once sent: the log says what and why, not the whole text.
        Delivery.objects.filter(pk__in=self.ids, status=Status.SENDING).update(
            status=Status.SENT, sent_at=self.now, payload={}, attempts=F("attempts") + 1
        )
        self.ids = []
