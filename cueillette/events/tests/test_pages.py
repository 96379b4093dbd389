"""The events pages through the front door: staff forms and the door, the public journey."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.events import services
from cueillette.events.models import Registration, RegStatus, Session
from cueillette.events.tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def test_the_owner_offers_a_session_with_local_date_and_time(
    org: Organization, owner_client: Client
) -> None:
    day = (timezone.now() + dt.timedelta(days=10)).date()
    res = owner_client.post(
        "/app/events/new/",
        {
            "title": "Yoga doux",
            "mode": "in_person",
            "location": "Salle Jean Moulin",
            "date": day.isoformat(),
            "time": "20:00",
            "duration_minutes": "60",
            "capacity": "15",
            "waitlist_enabled": "on",
            "price": "",
            "points_for_attending": "10",
        },
    )
    assert res.status_code == 302
    with tenancy.tenant_context(org):
        session = Session.objects.get(title="Yoga doux")
    assert session.starts_at.astimezone(org.tz).strftime("%H:%M") == "20:00"
    page = owner_client.get(res["Location"])
    assert "Yoga doux" in page.content.decode() and page.status_code == 200


def test_a_bad_form_shows_each_error_next_to_its_field_and_saves_nothing(
    org: Organization, owner_client: Client
) -> None:
    res = owner_client.post(
        "/app/events/new/",
        {"title": "", "mode": "online", "video_url": "", "capacity": "0", "price": "douze"},
    )
    html = res.content.decode()
    assert res.status_code == 200
    for field in ("id_date_error", "id_time_error", "id_price_error"):
        assert field in html
    with tenancy.tenant_context(org):
        assert not Session.objects.exists()


def test_the_owner_creates_a_weekly_series_with_an_exception(
    org: Organization, owner_client: Client
) -> None:
    first = (timezone.now() + dt.timedelta(days=7)).date()
    skip = first + dt.timedelta(weeks=1)
    res = owner_client.post(
        "/app/events/series/new/",
        {
            "title": "Piano du mardi",
            "mode": "in_person",
            "location": "Chez nous",
            "date": first.isoformat(),
            "time": "20:00",
            "weeks": "4",
            "exceptions": skip.strftime("%d/%m/%Y"),
            "duration_minutes": "45",
            "capacity": "6",
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    with tenancy.tenant_context(org):
        sessions = list(Session.objects.filter(title="Piano du mardi"))
    assert len(sessions) == 3
    assert skip not in {s.starts_at.astimezone(org.tz).date() for s in sessions}


def test_counter_staff_see_the_door_but_cannot_offer_sessions(
    org: Organization, counter_client: Client
) -> None:
    with tenancy.tenant_context(org):
        session = SessionFactory(organization=org, capacity=2)
        customer = CustomerFactory(organization=org, first_name="Hortense")
        reg = services.register_customer(session, customer, actor=services.public_actor())
    assert counter_client.get("/app/events/new/").status_code == 403
    page = counter_client.get(f"/app/events/{session.pk}/")
    assert page.status_code == 200 and "Hortense" in page.content.decode()
    res = counter_client.post(f"/app/events/registrations/{reg.registration.pk}/check-in/")
    assert res.status_code == 302
    with tenancy.tenant_context(org):
        assert Registration.objects.get(pk=reg.registration.pk).status == RegStatus.ATTENDED


def test_scanning_the_qr_code_checks_in_and_a_code_of_another_session_is_refused(
    org: Organization, counter_client: Client
) -> None:
    with tenancy.tenant_context(org):
        session = SessionFactory(organization=org)
        other = SessionFactory(organization=org)
        customer = CustomerFactory(organization=org)
        reg = services.register_customer(session, customer, actor=services.public_actor())
        code = services.checkin_code(reg.registration)
    wrong = counter_client.post(f"/app/events/{other.pk}/scan/", {"code": code}, follow=True)
    assert "another session" in wrong.content.decode() or "autre séance" in wrong.content.decode()
    counter_client.post(f"/app/events/{session.pk}/scan/", {"code": code})
    with tenancy.tenant_context(org):
        assert Registration.objects.get(pk=reg.registration.pk).status == RegStatus.ATTENDED
    forged = counter_client.post(
        f"/app/events/{session.pk}/scan/", {"code": code + "x"}, follow=True
    )
    assert forged.status_code == 200


def test_the_public_journey_register_confirm_calendar_cancel(
    org: Organization, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with tenancy.tenant_context(org):
        session = SessionFactory(organization=org, title="Calme avec les enfants", capacity=1)
    client = Client()
    listing = client.get(f"/o/{org.slug}/sessions/")
    assert "Calme avec les enfants" in listing.content.decode()
    page = client.get(f"/o/{org.slug}/sessions/{session.pk}/")
    html = page.content.decode()
    assert 'type="checkbox"' in html and "checked" not in html  # nothing pre-ticked
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(
            f"/o/{org.slug}/sessions/{session.pk}/",
            {"first_name": "Maëlle", "last_name": "Quintard", "email": "maelle@example.org"},
        )
    assert res.status_code == 302 and res["Location"].endswith("/sent/")
    link = re.search(r"https?://[^\s]+/sessions/confirm/[^\s/]+/", mailoutbox[-1].body)
    assert link
    path = "/" + link.group(0).split("/", 3)[3]
    assert client.get(path).status_code == 200  # GET records nothing
    with tenancy.tenant_context(org):
        assert services.seats_taken(session) == 0
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(path)
    assert confirmed.status_code == 302
    manage = client.get(confirmed["Location"])
    body = manage.content.decode()
    assert manage.status_code == 200 and "<svg" in body  # the QR code for the door
    ics = client.get(confirmed["Location"] + "session.ics")
    assert ics["Content-Type"] == "text/calendar"
    assert b"BEGIN:VEVENT" in ics.content and b"Calme avec les enfants" in ics.content
    # Full now: the page offers the waiting list.
    full_page = Client().get(f"/o/{org.slug}/sessions/{session.pk}/")
    assert "waiting list" in full_page.content.decode() or "liste d" in full_page.content.decode()
    cancelled = client.post(confirmed["Location"] + "cancel/")
    assert cancelled.status_code == 302
    with tenancy.tenant_context(org):
        assert Registration.objects.get(email="maelle@example.org").status == RegStatus.CANCELLED


def test_the_video_link_is_revealed_only_to_registered_people(
    org: Organization,
) -> None:
    with tenancy.tenant_context(org):
        session = SessionFactory(
            organization=org,
            mode="online",
            location="",
            video_url="https://visio.example/secret-room",
        )
        customer = CustomerFactory(organization=org)
        reg = services.register_customer(session, customer, actor=services.public_actor())
        token = services.manage_token(reg.registration)
    client = Client()
    assert "secret-room" not in client.get(f"/o/{org.slug}/sessions/{session.pk}/").content.decode()
    assert "secret-room" not in client.get(f"/o/{org.slug}/sessions/calendar.ics").content.decode()
    assert "secret-room" not in client.get(f"/o/{org.slug}/sessions/feed.atom").content.decode()
    assert "secret-room" in client.get(f"/o/{org.slug}/sessions/r/{token}/").content.decode()


def test_a_forged_registration_link_is_a_clear_404(org: Organization) -> None:
    res = Client().get(f"/o/{org.slug}/sessions/r/1.2:forged/")
    assert res.status_code == 404


def test_feeds(org: Organization) -> None:
    with tenancy.tenant_context(org):
        SessionFactory(organization=org, title="Dégustation <b>fromages</b>")
    client = Client()
    atom = client.get(f"/o/{org.slug}/sessions/feed.atom")
    assert atom.status_code == 200 and b"<b>" not in atom.content
    cal = client.get(f"/o/{org.slug}/sessions/calendar.ics")
    assert b"BEGIN:VCALENDAR" in cal.content and b"fromages" in cal.content
