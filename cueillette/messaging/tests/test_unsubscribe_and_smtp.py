"""Leaving in one click, and a campaign over real SMTP (aiosmtpd on loopback): RFC 8058
headers, text + HTML, the customer's language, no remote image, no rewritten link."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import urllib.request
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers.models import ConsentEvent
from cueillette.messaging import audience, gate, services
from cueillette.messaging.models import (
    Campaign,
    MessageClass,
    Preference,
    PressureSettings,
    Reason,
    Segment,
)
from cueillette.messaging.tests.conftest import consent
from cueillette.messaging.tests.test_campaigns import staff

YESTERDAY = timezone.now() - dt.timedelta(days=1)


def _news(customer: Any) -> Any:
    return gate.request_message(
        gate.Message(
            kind="campaign",
            klass=MessageClass.MARKETING,
            subject="s",
            text="t",
            customer=customer,
            purposes=("news_email",),
        )
    )


@pytest.mark.django_db
def test_get_changes_nothing_and_the_button_withdraws_into_the_ledger(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=YESTERDAY)
    d = _news(customer)
    url = gate.unsubscribe_url(d).replace("http://127.0.0.1:8000", "")
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert (
        page.status_code == 200
        and b'value="fewer"' in page.content
        and b'value="pause"' in page.content
    )
    assert (
        ConsentEvent.objects.filter(customer=customer, granted=False).count() == 0
    )  # link scanners
    done = client.post(url, {"choice": "stop"})
    assert done.status_code == 200
    withdrawal = (
        ConsentEvent.objects.filter(customer=customer).order_by("-occurred_at", "-pk").first()
    )
    assert (
        withdrawal is not None
        and not withdrawal.granted
        and withdrawal.source == "unsubscribe_link"
    )
    assert _news(customer).reason == Reason.UNSUBSCRIBED  # in force before the next message
    assert client.get(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 404


@pytest.mark.django_db
def test_fewer_and_pause_instead_of_leaving(
    tenant: Organization, no_quiet: PressureSettings
) -> None:
    customer = CustomerFactory(organization=tenant)
    consent(customer, "news_email", at=YESTERDAY)
    url = gate.unsubscribe_url(_news(customer)).replace("http://127.0.0.1:8000", "")
    Client().post(url, {"choice": "fewer"})
    assert Preference.objects.get(customer=customer).fewer
    Client().post(url, {"choice": "pause"})
    pref = Preference.objects.get(customer=customer)
    assert pref.paused_until is not None and pref.paused_until > timezone.now() + dt.timedelta(
        days=89
    )
    assert _news(customer).reason == Reason.PAUSED
    assert ConsentEvent.objects.filter(customer=customer, granted=False).count() == 0


@pytest.mark.django_db(transaction=True)
def test_campaign_over_smtp_and_the_one_click_post_from_a_plain_http_client(
    org: Organization, owner: Any, smtp_server: Any, live_server: Any, settings: Any
) -> None:
    settings.SITE_URL = live_server.url
    with tenant_context(org):
        PressureSettings.objects.create(
            quiet_start=dt.time(0), quiet_end=dt.time(0), per_second=1000
        )
        fr = CustomerFactory(
            organization=org, language="fr", postal_code="69001", first_name="Aline"
        )
        en = CustomerFactory(organization=org, language="en", postal_code="69001", first_name="Ben")
        for c in (fr, en):
            consent(c, "news_email", at=YESTERDAY)
        seg = Segment.objects.create(name="Lyon", filters={"postal_prefix": "69"})
        c = services.save_campaign(
            staff(owner),
            services.CampaignInput(
                name="Printemps",
                subject_fr="Le printemps d'Aline",
                body_fr="Bonjour {first_name}, voici [notre carte](https://exemple.fr/carte).",
                subject_en="Spring",
                body_en="Hello, see [our menu](https://example.com/menu).",
                segment_id=seg.pk,
            ),
        )
        services.send_campaign(staff(owner), c)
    messages = smtp_server.wait_for(2)
    by_to = {m["X-Envelope-To"]: m for m in messages}
    french, english = by_to[fr.email], by_to[en.email]
    assert "printemps d'Aline" in str(french["Subject"]) or "printemps" in str(french["Subject"])
    assert english["Subject"] == "Spring"
    for m in messages:
        assert m.is_multipart() and {p.get_content_type() for p in m.walk()} >= {
            "text/plain",
            "text/html",
        }
        header = "".join(str(m["List-Unsubscribe"]).split())
        assert re.match(r"^<http[^>]+/unsubscribe/[^>]+/(\?lang=en)?>,<mailto:[^>]+>$", header), (
            header
        )
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = smtp_server.body(m, "html")
        assert "<img" not in html.lower(), "no image, so no tracking pixel"
        # Links are left as written: no redirect through us, no added parameters.
        links = re.findall(r'href="([^"]+)"', html)
        assert all("utm_" not in link and "track" not in link for link in links)
    assert "https://exemple.fr/carte" in smtp_server.body(french, "html")
    assert "https://example.com/menu" in smtp_server.body(english, "html")
    assert smtp_server.body(english).startswith("Hello")
    # The one-click POST of a mail program: no cookie, no CSRF token, no login.
    url = "".join(str(english["List-Unsubscribe"]).split()).split(">,<")[0].lstrip("<")
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode({"List-Unsubscribe": "One-Click"}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with tenant_context(org):
        latest = ConsentEvent.objects.filter(customer=en).order_by("-occurred_at", "-pk").first()
        assert latest is not None and not latest.granted and latest.source == "unsubscribe_link"
        again = Campaign.objects.create(name="b", subject_fr="x", body_fr="y", segment=seg)
        counts = audience.decide_audience(again)
        assert counts.excluded.get(Reason.UNSUBSCRIBED) == 1 and counts.sending == 1
