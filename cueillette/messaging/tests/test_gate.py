"""The send gate through its one door: decisions recorded with their reason and consent entry,
a second look at send time, suppressions, the cap, quiet hours; and the property that no
message ever leaves without a consent in force nor beyond the cap."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent
from cueillette.messaging import delivery, gate, services, tasks
from cueillette.messaging.models import (
    Delivery,
    MessageClass,
    PressureSettings,
    Reason,
    Status,
    Suppression,
)
from cueillette.messaging.tests.conftest import consent

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)  # 12:00 in Paris


def marketing(customer: Any, **kw: Any) -> gate.Message:
    return gate.Message(
        kind="campaign",
        klass=MessageClass.MARKETING,
        subject="Nouveautés",
        text="Bonjour",
        customer=customer,
        purposes=("news_email",),
        **kw,
    )


def test_every_decision_is_recorded_with_its_reason_and_consent_entry(
    tenant: Organization, no_quiet: PressureSettings, mailoutbox: list[Any]
) -> None:
    yes, no = CustomerFactory(organization=tenant), CustomerFactory(organization=tenant)
    granted = consent(yes, "news_email", at=NOON - dt.timedelta(days=1))
    sent = gate.request_message(marketing(yes), now=NOON)
    refused = gate.request_message(marketing(no), now=NOON)
    assert (sent.status, sent.reason, sent.consent_event_id) == (
        Status.QUEUED,
        Reason.ALLOWED,
        granted.pk,
    )
    assert (refused.status, refused.reason, refused.consent_event_id) == (
        Status.REFUSED,
        Reason.NO_CONSENT,
        None,
    )
    assert refused.payload == {}  # a refused message keeps no content
    delivery.deliver([sent.pk, refused.pk], now=NOON)
    [mail] = mailoutbox
    assert mail.to == [yes.email]
    assert "List-Unsubscribe" in mail.extra_headers
    sent.refresh_from_db()
    assert sent.status == Status.SENT and sent.sent_at == NOON and sent.payload == {}


def test_transactional_mail_needs_no_consent_and_carries_no_unsubscribe(
    tenant: Organization, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer = CustomerFactory(organization=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        d = gate.request_message(
            gate.Message(
                kind="portal_link",
                klass=MessageClass.TRANSACTIONAL,
                subject="Lien",
                text="x",
                customer=customer,
            )
        )
    assert d.reason == Reason.TRANSACTIONAL
    [mail] = mailoutbox
    assert "List-Unsubscribe" not in mail.extra_headers


def test_consent_withdrawn_after_the_request_stops_the_message_at_send_time(
    tenant: Organization, no_quiet: PressureSettings, mailoutbox: list[Any]
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    d = gate.request_message(marketing(customer), now=NOON)
    consent(customer, "news_email", False, at=NOON + dt.timedelta(minutes=1))
    delivery.deliver([d.pk], now=NOON + dt.timedelta(minutes=2))
    d.refresh_from_db()
    assert (d.status, d.reason) == (Status.REFUSED, Reason.NO_CONSENT)
    assert mailoutbox == []


def test_suppressed_addresses_and_pauses_receive_nothing_but_transactional(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    bounced, paused = CustomerFactory(organization=tenant), CustomerFactory(organization=tenant)
    for c in (bounced, paused):
        consent(c, "news_email", at=NOON - dt.timedelta(days=1))
    services.suppress(bounced.email.upper(), "hard_bounce")
    assert Suppression.objects.get().address == bounced.email
    assert gate.request_message(marketing(bounced), now=NOON).reason == Reason.BOUNCED
    d = gate.request_message(marketing(paused), now=NOON)
    services.unsubscribe(d, "pause")
    assert (
        gate.request_message(marketing(paused), now=NOON + dt.timedelta(days=1)).reason
        == Reason.PAUSED
    )


def test_the_cap_counts_marketing_over_the_window_and_fewer_lowers_it(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    first = gate.request_message(marketing(customer), now=NOON)
    second = gate.request_message(marketing(customer), now=NOON + dt.timedelta(days=1))
    delivery.deliver([first.pk, second.pk], now=NOON + dt.timedelta(days=1))
    third = gate.request_message(marketing(customer), now=NOON + dt.timedelta(days=2))
    assert third.reason == Reason.CAPPED
    # Service messages are not counted.
    service = gate.request_message(
        gate.Message(
            kind="x", klass=MessageClass.SERVICE, customer=customer, purposes=("news_email",)
        ),
        now=NOON + dt.timedelta(days=2),
    )
    assert service.status == Status.QUEUED
    # 30 days after they went out, there is room again.
    assert (
        gate.request_message(marketing(customer), now=NOON + dt.timedelta(days=31, hours=1)).status
        == Status.QUEUED
    )


def test_quiet_hours_move_marketing_to_the_next_morning_in_the_organizations_zone(
    tenant: Organization,
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    night = dt.datetime(2026, 6, 10, 21, 30, tzinfo=dt.UTC)  # 23:30 in Paris
    d = gate.request_message(marketing(customer), now=night)
    assert d.status == Status.DEFERRED and d.reason == Reason.QUIET_HOURS
    assert d.send_after == dt.datetime(2026, 6, 11, 6, tzinfo=dt.UTC)  # 08:00 in Paris
    assert delivery.deliver([d.pk], now=night)["sent"] == 0
    assert tasks.send_due(dt.datetime(2026, 6, 11, 6, 5, tzinfo=dt.UTC))["sent"] == 1


def test_the_same_request_twice_is_decided_once(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    a = gate.request_message(marketing(customer, dedupe_key="welcome:1"), now=NOON)
    b = gate.request_message(marketing(customer, dedupe_key="welcome:1"), now=NOON)
    assert a.pk == b.pk and Delivery.objects.count() == 1


def test_a_failed_hand_off_is_retried_with_back_off_then_given_up(
    tenant: Organization, no_quiet: PressureSettings, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "cueillette.messaging.tests.test_gate.BrokenBackend"
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    d = gate.request_message(marketing(customer), now=NOON)
    assert delivery.deliver([d.pk], now=NOON)["failed"] == 1
    d.refresh_from_db()
    assert (
        d.status == Status.QUEUED
        and d.attempts == 1
        and d.send_after == NOON + dt.timedelta(minutes=1)
    )
    assert "refused" in d.last_error
    at = NOON
    for _ in range(10):
        at += dt.timedelta(hours=5)
        tasks.send_due(at)
    d.refresh_from_db()
    assert d.status == Status.FAILED and d.attempts == 6 and d.reason == Reason.DELIVERY_FAILED


class BrokenBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("the server refused the connection")


# --------------------------------------------------------------------------- the property

STEP = st.tuples(
    st.integers(1, 6 * 24 * 60),  # minutes since the previous step
    st.sampled_from(["grant", "withdraw", "marketing", "service", "deliver", "due"]),
)


# Each example makes its own customer and settings row, so sharing the tenant is safe.
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(STEP, min_size=1, max_size=25),
    cap=st.integers(0, 3),
    window=st.integers(1, 20),
    tz=st.sampled_from(["Europe/Paris", "America/Los_Angeles", "Pacific/Auckland", "UTC"]),
    quiet=st.booleans(),
)
def test_no_message_without_consent_at_send_time_and_never_beyond_the_cap(
    tenant: Organization, steps: list[tuple[int, str]], cap: int, window: int, tz: str, quiet: bool
) -> None:
    tenant.timezone = tz
    tenant.save(update_fields=["timezone"])
    PressureSettings.objects.all().delete()
    PressureSettings.objects.create(
        max_marketing=cap,
        window_days=window,
        quiet_start=dt.time(22) if quiet else dt.time(0),
        quiet_end=dt.time(7) if quiet else dt.time(0),
        per_second=1000,
    )
    customer = CustomerFactory(organization=tenant)
    at = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    pending: list[int] = []
    for minutes, action in steps:
        at += dt.timedelta(minutes=minutes)
        if action in ("grant", "withdraw"):
            consent(customer, "news_email", action == "grant", at=at)
        elif action in ("marketing", "service"):
            klass = MessageClass.MARKETING if action == "marketing" else MessageClass.SERVICE
            d = gate.request_message(
                gate.Message(
                    kind=action,
                    klass=klass,
                    subject="s",
                    text="t",
                    customer=customer,
                    purposes=("news_email",),
                ),
                now=at,
            )
            pending.append(d.pk)
        elif action == "deliver":
            delivery.deliver(pending, now=at)
        else:
            tasks.send_due(at)
    entries = list(ConsentEvent.objects.filter(customer=customer).order_by("occurred_at", "pk"))
    sent = list(
        Delivery.objects.filter(customer=customer, status=Status.SENT).order_by("sent_at", "pk")
    )
    for d in sent:
        assert d.sent_at is not None
        in_force = [e for e in entries if e.purpose == "news_email" and e.occurred_at <= d.sent_at]
        assert in_force and in_force[-1].granted, "sent without a consent in force"
        assert d.consent_event_id == in_force[-1].pk, "the recorded entry is the one in force"
    times = [d.sent_at for d in sent if d.klass == MessageClass.MARKETING]
    for i, t in enumerate(times):
        assert t is not None
        in_window = [
            u for u in times[: i + 1] if u is not None and u > t - dt.timedelta(days=window)
        ]
        assert len(in_window) <= cap, "more marketing than the cap within a window"


def test_a_batch_at_send_time_counts_what_it_claims_towards_the_cap(
    tenant: Organization, no_quiet: PressureSettings, mailoutbox: list[Any]
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=NOON - dt.timedelta(days=1))
    first = gate.request_message(marketing(customer), now=NOON, schedule=False)
    second = gate.request_message(marketing(customer), now=NOON, schedule=False)
    assert first.status == second.status == Status.QUEUED  # the cap of 2 allowed both
    PressureSettings.objects.update(max_marketing=1)  # the owner lowers it before they leave
    counts = delivery.deliver([first.pk, second.pk], now=NOON)
    assert counts == {"sent": 1, "failed": 0, "skipped": 1}
    refused = Delivery.objects.get(pk=second.pk)
    assert (refused.status, refused.reason) == (Status.REFUSED, Reason.CAPPED)
    assert Delivery.objects.get(pk=first.pk).status == Status.SENT and len(mailoutbox) == 1
    # Handed the same batch again, nothing goes twice.
    assert delivery.deliver([first.pk, second.pk], now=NOON)["sent"] == 0
