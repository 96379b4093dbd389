"""The hand-off's prepared bytes (``wire.Shapes``) are Django's own, and a batch spread over
several SMTP connections delivers each message once, with its own unsubscribe headers."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from cueillette.core.mail import build_message
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.messaging import delivery, gate, wire
from cueillette.messaging.models import Delivery, MessageClass, PressureSettings, Status
from cueillette.messaging.tests.conftest import consent

NOON = dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)
PIECES = [
    "Bonjour", "é", "café", "a", " ", "  ", "\n", "\r\n", "\r", "From ", "--", ".", "<p>",
    "https://exemple.fr/carte", "\u2028", "ünïcode", "x" * 1200, "=?utf-8?q?x?=", "\t",
]  # fmt: skip


def _same(ours: bytes, django: bytes) -> bool:
    """Equal but for the MIME boundary and the Date (both chosen per message by Django)."""

    def norm(data: bytes) -> bytes:
        found = re.search(rb'boundary="([^"]+)"', data)
        if found:
            data = data.replace(found.group(1), b"BOUNDARY")
        return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: X\r\n", data)

    return norm(ours) == norm(django)


def test_prepared_bytes_are_the_ones_django_builds() -> None:
    rng = random.Random(13)
    shapes = wire.Shapes()
    prepared = 0
    for i in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        html = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        token = "MTIz" * rng.randint(1, 20)
        headers = {"Message-ID": f"<cueillette.1.{i}@cueillette.local>"}
        if rng.random() < 0.8:
            headers["List-Unsubscribe"] = (
                f"<https://exemple.fr/o/x/unsubscribe/{token}/>, "
                f"<mailto:unsubscribe@c.local?subject=unsubscribe%20{token}>"
            )
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if rng.random() < 0.1:
            headers["X-Other"] = rng.choice(["a  b", " lead", "é", "x" * 100 + " " + "y" * 3])
        email = build_message(
            to=[rng.choice([f"client{i}@exemple.fr", "a" * 80 + "@x.fr", "jérôme@x.fr"])],
            subject=rng.choice(["Nouveautés", "News", "Un sujet long " * 8]),
            text=text,
            html=html if rng.random() < 0.8 else None,
            headers=headers,
            reply_to=rng.choice([None, ["contact@exemple.fr"]]),
            from_email=rng.choice(['"Café Brûlé" <noreply@c.local>', "Cueillette <n@c.local>"]),
        )
        ours = shapes.wire_or_none(email)
        if ours is None:
            continue  # outside the simple case: Django builds it (below, for the others)
        prepared += 1
        assert _same(ours, email.message().as_bytes(linesep="\r\n")), (text, html, headers)
    assert prepared > 300


def test_outside_the_simple_case_django_builds_the_message() -> None:
    shapes = wire.Shapes()
    base: dict[str, Any] = {"subject": "S", "text": "t", "headers": {"Message-ID": "<a@b>"}}
    assert shapes.wire_or_none(build_message(to=["a@b.fr"], **base)) is not None
    for email in (
        build_message(to=["a@b.fr", "c@d.fr"], **base),  # two recipients
        build_message(to=["jérôme@b.fr"], **base),  # non-ASCII address
        build_message(to=["a@b.fr"], subject="S", text="t"),  # Django's own Message-ID
        build_message(to=["a@b.fr"], subject="S", text="x" * 999, headers={"Message-ID": "<a@b>"}),
    ):
        assert shapes.wire_or_none(email) is None
        assert not isinstance(shapes.prepare(email), wire.WireEmail)
    prepared = shapes.prepare(build_message(to=["a@b.fr"], html="<p>h</p>", **base))
    assert isinstance(prepared, EmailMultiAlternatives) and prepared.body == "t"
    assert prepared.alternatives[0][0] == "<p>h</p>" and prepared.to == ["a@b.fr"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_over_several_connections_sends_each_message_once(
    tenant: Organization, smtp_server: Any, settings: Any
) -> None:
    settings.MESSAGING_SMTP_CONNECTIONS = 3
    PressureSettings.objects.update_or_create(
        defaults={"quiet_start": dt.time(0), "quiet_end": dt.time(0), "per_second": 1000}
    )
    ids = []
    for _ in range(35):
        c = CustomerFactory(organization=tenant, first_name="Aline")
        consent(c, "news_email", at=NOON - dt.timedelta(days=1))
        d = gate.request_message(
            gate.Message(
                kind="campaign",
                klass=MessageClass.MARKETING,
                subject="Nouveautés",
                text=f"Bonjour Aline, é\n{gate.UNSUBSCRIBE_PLACEHOLDER}\n",
                html=f'<p>Bonjour</p><a href="{gate.UNSUBSCRIBE_PLACEHOLDER}">x</a>',
                customer=c,
                purposes=("news_email",),
            ),
            now=NOON,
            schedule=False,
        )
        assert d.status == Status.QUEUED
        ids.append(d.pk)
    assert delivery._connections(len(ids)) == 3
    counts = delivery.deliver(ids, now=NOON)
    assert counts == {"sent": 35, "failed": 0, "skipped": 0}
    messages = smtp_server.wait_for(35)
    assert len(messages) == 35
    by_id = {m["Message-ID"]: m for m in messages}
    rows = {delivery.message_id(d): d for d in Delivery.objects.filter(pk__in=ids)}
    assert set(by_id) == set(rows)
    for mid, m in by_id.items():
        d = rows[mid]
        assert d.status == Status.SENT and m["X-Envelope-To"] == d.address
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # Its own link (the token names the row) in the headers and in both bodies.
        link = "".join(str(m["List-Unsubscribe"]).split()).split(">,<")[0].lstrip("<")
        token = link.rstrip("/").rsplit("/", 1)[-1]
        assert signing.TimestampSigner(salt=gate.UNSUBSCRIBE_SALT).unsign(token) == str(d.pk)
        assert link in smtp_server.body(m) and link in smtp_server.body(m, "html")
    # Run again (a retried task): nothing leaves twice.
    assert delivery.deliver(ids, now=NOON)["sent"] == 0
    assert len(smtp_server.messages) == 35


@pytest.mark.django_db(transaction=True)
def test_no_server_means_every_message_is_retried_later(
    tenant: Organization, settings: Any
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.MESSAGING_SMTP_CONNECTIONS = 2
    PressureSettings.objects.update_or_create(
        defaults={"quiet_start": dt.time(0), "quiet_end": dt.time(0), "per_second": 1000}
    )
    now = timezone.now()  # a retry due later is not run at once by the test queue
    ids = []
    for _ in range(20):
        c = CustomerFactory(organization=tenant)
        consent(c, "news_email", at=NOON - dt.timedelta(days=1))
        msg = gate.Message(
            kind="campaign",
            klass=MessageClass.MARKETING,
            subject="S",
            text="t",
            customer=c,
            purposes=("news_email",),
        )
        ids.append(gate.request_message(msg, now=now, schedule=False).pk)
    assert delivery.deliver(ids, now=now) == {"sent": 0, "failed": 20, "skipped": 0}
    rows = Delivery.objects.filter(pk__in=ids)
    assert {(d.status, d.attempts) for d in rows} == {(Status.QUEUED, 1)}
    assert all(d.send_after and d.send_after > now for d in rows)
