"""Webhooks end to end with a real receiver on loopback: signed, retried, paused, replayed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cueillette.core import consequences, tenancy
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence
from cueillette.core.errors import ServiceError
from cueillette.core.tests.factories import CustomerFactory
from cueillette.webhooks import delivery, services, signing, tasks
from cueillette.webhooks.models import Delivery, Endpoint
from cueillette.webhooks.tests.receiver import Receiver


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    # The messages these tests read are the English ones (French is the default language).
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT = 0.5
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def hooked(org: Any, owner: Any, receiver: Receiver) -> Iterator[tuple[Endpoint, Receiver]]:
    with tenancy.tenant_context(org):
        endpoint, secret = services.create_endpoint(
            receiver.url, ["customer.joined", "consent.changed"], actor=Actor.staff(owner, "owner")
        )
        receiver.secret = secret
        yield endpoint, receiver


def fire_joined(org: Any, capture: Any, **extra: Any) -> Any:
    customer = CustomerFactory(
        organization=org, first_name="Aïcha", email="aicha@example.org", notes="private note"
    )
    with capture(execute=True), transaction.atomic():
        fired = consequences.fire(
            Consequence.CUSTOMER_JOINED,
            organization_id=org.pk,
            customer=customer,
            source="counter",
            **extra,
        )
    return fired


def past_due() -> None:
    Delivery.objects.unscoped().update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_signed_delivery_with_stable_event_id(
    org: Any, hooked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _endpoint, receiver = hooked
    fired = fire_joined(org, django_capture_on_commit_callbacks)
    assert len(receiver.ok) == 1
    got = receiver.ok[0]
    assert got.headers["Cueillette-Event-Id"] == str(fired.id)
    assert got.headers["Cueillette-Event"] == "customer.joined"
    assert got.headers["Cueillette-Signature"].startswith("t=")
    body = got.json
    assert body["id"] == str(fired.id) and body["type"] == "customer.joined"
    assert body["data"]["customer"]["first_name"] == "Aïcha"
    assert "notes" not in body["data"]["customer"]  # private notes never leave
    assert not signing.verify("whsec_wrong", got.headers["Cueillette-Signature"], got.body)
    with tenancy.tenant_context(org):
        d = Delivery.objects.get()
        assert d.status == "delivered" and d.attempts == 1 and d.last_status == 200


def test_rolled_back_action_sends_nothing(org: Any, hooked: Any) -> None:
    _endpoint, receiver = hooked
    customer = CustomerFactory(organization=org)
    with pytest.raises(RuntimeError), transaction.atomic():
        consequences.fire(
            Consequence.CUSTOMER_JOINED, organization_id=org.pk, customer=customer, source="x"
        )
        raise RuntimeError
    with tenancy.tenant_context(org):
        assert not Delivery.objects.exists()
    assert receiver.received == []


def test_failures_and_timeouts_are_retried_with_backoff_until_delivered(
    org: Any, hooked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _endpoint, receiver = hooked
    receiver.fail_next = 1
    receiver.stall_next = 1
    receiver.stall_seconds = 1.5
    before = timezone.now()
    fire_joined(org, django_capture_on_commit_callbacks)  # 1st try: stalls past the timeout
    with tenancy.tenant_context(org):
        d = Delivery.objects.get()
        assert d.status == "retrying" and "no answer within" in d.last_error
        assert d.next_attempt_at - before >= dt.timedelta(seconds=60)
        tasks.run_due(org)  # not due yet: nothing sent
        assert Delivery.objects.get().attempts == 1
        past_due()
        tasks.run_due(org)  # 2nd: 500
        d = Delivery.objects.get()
        assert d.attempts == 2 and d.last_status == 500
        assert d.next_attempt_at - timezone.now() > dt.timedelta(seconds=250)  # 5 minutes
        past_due()
        tasks.run_due(org)  # 3rd: delivered
        d = Delivery.objects.get()
        assert d.status == "delivered" and d.attempts == 3
    # At least once, same event id every time.
    assert len({r.headers["Cueillette-Event-Id"] for r in receiver.received}) == 1
    assert len(receiver.received) == 3


def test_gives_up_after_a_day_and_pauses_with_a_notice(
    org: Any, owner: Any, hooked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, receiver = hooked
    receiver.fail_next = 1000
    assert sum(delivery.BACKOFF_SECONDS) == 24 * 3600
    fire_joined(org, django_capture_on_commit_callbacks)
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        for _ in range(len(delivery.BACKOFF_SECONDS)):
            past_due()
            tasks.run_due(org)
        d = Delivery.objects.get()
        assert d.status == "gave_up" and d.attempts == len(delivery.BACKOFF_SECONDS) + 1
        for _ in range(3):  # more events, more failures: paused at ten in a row
            fire_joined(org, django_capture_on_commit_callbacks)
        endpoint.refresh_from_db()
        assert endpoint.is_paused and endpoint.consecutive_failures == delivery.PAUSE_AFTER
    assert any(owner.email in m.to and "paus" in m.subject.lower() for m in mail.outbox)
    sent = len(receiver.received)
    fire_joined(org, django_capture_on_commit_callbacks)  # paused: waits
    assert len(receiver.received) == sent
    receiver.fail_next = 0
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        waiting = services.resume(endpoint, actor=Actor.staff(owner, "owner"))
    assert waiting >= 1 and len(receiver.ok) >= 1


def test_replay_and_rotation(
    org: Any, owner: Any, hooked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint, receiver = hooked
    fire_joined(org, django_capture_on_commit_callbacks)
    old = receiver.secret
    with tenancy.tenant_context(org):
        new = services.rotate_secret(endpoint, actor=Actor.staff(owner, "owner"))
        original = Delivery.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            services.replay(original, actor=Actor.staff(owner, "owner"))
    last = receiver.received[-1]
    assert last.headers["Cueillette-Event-Id"] == str(original.event_id)
    # During the grace period both secrets verify.
    assert signing.verify(new, last.headers["Cueillette-Signature"], last.body)
    assert signing.verify(old, last.headers["Cueillette-Signature"], last.body)
    with tenancy.tenant_context(org):
        Endpoint.objects.filter(pk=endpoint.pk).update(
            previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.replay(original, actor=Actor.staff(owner, "owner"))
    last = receiver.received[-1]
    assert signing.verify(new, last.headers["Cueillette-Signature"], last.body)
    assert not signing.verify(old, last.headers["Cueillette-Signature"], last.body)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest",
        "https://[::1]/",
        "http://example.org/",
        "https://user:pw@example.org/",
    ],
)
def test_private_and_loopback_targets_are_refused(
    org: Any, owner: Any, settings: Any, url: str
) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with tenancy.tenant_context(org), pytest.raises(ServiceError) as info:
        services.create_endpoint(url, ["customer.joined"], actor=Actor.staff(owner, "owner"))
    assert info.value.field == "url"


def test_pages(org: Any, owner: Any, manager: Any, client_for: Any, receiver: Receiver) -> None:
    assert client_for(manager).get(reverse("webhooks:index")).status_code == 403
    c = client_for(owner)
    assert (
        "No webhook yet" in c.get(reverse("webhooks:index")).content.decode()
        or "Aucun" in c.get(reverse("webhooks:index")).content.decode()
    )
    bad = c.post(reverse("webhooks:index"), {"url": receiver.url})
    assert bad.status_code == 400
    r = c.post(reverse("webhooks:index"), {"url": receiver.url, "events": ["customer.joined"]})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    endpoint = Endpoint.objects.unscoped().get(organization=org)
    assert endpoint.secret in r.content.decode()
    page = c.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in page  # shown once
    rotated = c.post(reverse("webhooks:rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret in rotated.content.decode() and endpoint.previous_secret
    c.post(reverse("webhooks:toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_paused


def test_real_actions_are_heard_counter_and_import(
    org: Any, owner: Any, hooked: Any, django_capture_on_commit_callbacks: Any, tmp_path: Any
) -> None:
    from cueillette.customers import services as customers
    from cueillette.imports import services as imports

    _endpoint, receiver = hooked
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        customers.create_customer(
            customers.CustomerInput.of({"first_name": "Noé", "email": "noe@example.org"}),
            actor=Actor.staff(owner, "owner"),
            consents={"loyalty": True},
        )
    types = [r.json["type"] for r in receiver.ok]
    assert types.count("customer.joined") == 1 and types.count("consent.changed") == 1
    path = tmp_path / "clients.csv"
    path.write_text("Prénom;Courriel;consent_loyalty\nLou;lou@example.org;oui\n", encoding="utf-8")
    with tenancy.tenant_context(org), django_capture_on_commit_callbacks(execute=True):
        imp = imports.register_file(
            path, filename="clients.csv", kind="customers", actor=Actor.staff(owner, "owner")
        )
        imports.configure(
            imp, actor=Actor.staff(owner, "owner"), consent_basis={"consent_loyalty": "paper"}
        )
        imports.process(imp.pk, dry_run=False)
    joined = [r.json for r in receiver.ok if r.json["type"] == "customer.joined"]
    assert joined[-1]["data"]["customer"]["email"] == "lou@example.org"
    assert joined[-1]["data"]["source"] == "import"
    assert joined[-1]["data"]["actor"] == {"kind": "staff", "label": owner.display_name}
    consent = [r.json for r in receiver.ok if r.json["type"] == "consent.changed"][-1]
    assert (
        consent["data"]["purpose"] == "loyalty"
        and consent["data"]["event"]["evidence"]["basis"] == "paper"
    )
