"""Bounces from a mailbox of RFC 3464 reports, complaints, mailto unsubscribes, the webhook."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent
from cueillette.messaging import bounces, delivery, gate
from cueillette.messaging.models import MessageClass, PressureSettings, Reason, Suppression
from cueillette.messaging.tests.conftest import consent

pytestmark = pytest.mark.django_db


def dsn(address: str, message_id: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A delivery status notification as MTAs write it (RFC 3464)."""
    boundary = "BOUNDARY42"
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: noreply@cueillette.local\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; "
        f'boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nSubject: Nouveautés\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_hard_bounces_suppress_soft_ones_do_not_and_mailto_unsubscribes(
    tenant: Organization, no_quiet: PressureSettings, tmp_path: Path, mailoutbox: list[Any]
) -> None:
    hard, soft, leaving = (CustomerFactory(organization=tenant) for _ in range(3))
    sent = {}
    for c in (hard, soft, leaving):
        consent(c, "news_email", at=timezone.now() - dt.timedelta(days=1))
        d = gate.request_message(
            gate.Message(
                kind="campaign",
                klass=MessageClass.MARKETING,
                subject="s",
                text="t",
                customer=c,
                purposes=("news_email",),
            )
        )
        delivery.deliver([d.pk])
        sent[c.pk] = d
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn(hard.email, delivery.message_id(sent[hard.pk])))
    box.add(dsn(soft.email, delivery.message_id(sent[soft.pk]), status="4.2.2", action="delayed"))
    unsubscribe = EmailMessage()
    unsubscribe["From"] = leaving.email
    unsubscribe["Subject"] = f"unsubscribe {gate.unsubscribe_token(sent[leaving.pk])}"
    unsubscribe.set_content("")
    box.add(unsubscribe.as_bytes())
    box.flush()
    box.close()
    call_command("process_bounces", str(tmp_path / "bounces.mbox"))
    assert list(Suppression.objects.values_list("address", "reason")) == [
        (hard.email, "hard_bounce")
    ]
    latest = ConsentEvent.objects.filter(customer=leaving).order_by("-occurred_at", "-pk").first()
    assert latest is not None and not latest.granted and latest.source == "unsubscribe_link"
    again = gate.request_message(
        gate.Message(
            kind="campaign", klass=MessageClass.MARKETING, customer=hard, purposes=("news_email",)
        )
    )
    assert again.reason == Reason.BOUNCED
    assert len(mailbox.mbox(tmp_path / "bounces.mbox")) == 0  # read once


def test_the_provider_webhook_needs_the_shared_secret(
    tenant: Organization, no_quiet: PressureSettings, settings: Any
) -> None:
    settings.MESSAGING_WEBHOOK_SECRET = "s3cret-of-the-provider"
    c = CustomerFactory(organization=tenant)
    consent(c, "news_email", at=timezone.now() - dt.timedelta(days=1))
    d = gate.request_message(
        gate.Message(
            kind="campaign",
            klass=MessageClass.MARKETING,
            subject="s",
            text="t",
            customer=c,
            purposes=("news_email",),
        )
    )
    body = json.dumps(
        {"events": [{"type": "complaint", "email": c.email, "message_id": delivery.message_id(d)}]}
    )
    url = "/hooks/messaging/bounces/"
    assert Client().post(url, body, content_type="application/json").status_code == 404
    r = Client().post(
        url,
        body,
        content_type="application/json",
        headers={"X-Cueillette-Secret": "s3cret-of-the-provider"},
    )
    assert r.status_code == 200 and r.json()["counts"] == {"complaint": 1}
    assert Suppression.objects.get().reason == "complaint"
    assert bounces.parse(EmailMessage()) == []
