"""The owner's pages: NPS with its chart and table, segments, comments, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.core.models import AuditEvent, Organization
from cueillette.feedback import services
from cueillette.feedback.models import Survey
from cueillette.loyalty.models import Tier

from .conftest import make_member, make_survey

pytestmark = pytest.mark.django_db


def answer(org: Organization, score: int, comment: str = "", **fields: object) -> Survey:
    customer, _card = make_member(org)
    survey, _t = make_survey(customer, **fields)
    Survey.objects.filter(pk=survey.pk).update(
        answered_at=timezone.now(), score=score, comment=comment
    )
    return survey


def test_empty_dashboard(tenant: Organization, owner_client: Client) -> None:
    response = owner_client.get(reverse("feedback:nps"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="fig-nps" data-nps=""' in html
    assert "No answers yet" in html


def test_dashboard_shows_nps_chart_table_and_segments(
    tenant: Organization, owner_client: Client
) -> None:
    Tier.objects.create(code="gold", name="Or", threshold=100)
    for score in (10, 9, 9, 8, 2):
        answer(tenant, score, tier_code="gold", came_from="referral")
    answer(tenant, 1, came_from="walk_by")
    html = owner_client.get(reverse("feedback:nps")).content.decode()
    # 3 promoters, 1 passive, 2 detractors of 6: 50 % - 33 % = 17 (16.67 rounded).
    assert 'id="fig-nps" data-nps="17"' in html
    assert '<svg class="fb-chart"' in html and 'id="nps-months"' in html
    month = timezone.localtime(timezone.now(), tenant.tz).strftime("%Y-%m")
    assert f'data-month="{month}" data-nps="17"' in html
    assert 'data-segment="gold" data-nps="40"' in html  # 3 promoters, 1 passive, 1 detractor
    assert 'data-segment="walk_by" data-nps="-100"' in html
    assert 'data-segment="referral"' in html and ">Or<" in html
    assert "<script" not in html.split("</head>", 1)[1].replace('<script src="', "")


def test_comments_page_filters_by_category(tenant: Organization, owner_client: Client) -> None:
    good = answer(tenant, 10, "Toujours un plaisir")
    bad = answer(tenant, 3, "Produits manquants")
    answer(tenant, 8)
    url = reverse("feedback:comments")
    html = owner_client.get(url).content.decode()
    assert f'data-survey="{good.pk}"' in html and f'data-survey="{bad.pk}"' in html
    html = owner_client.get(url + "?category=detractor").content.decode()
    assert f'data-survey="{bad.pk}"' in html and f'data-survey="{good.pk}"' not in html
    html = owner_client.get(url + "?category=bogus").content.decode()
    assert f'data-survey="{good.pk}"' in html  # an unknown filter shows everything


def test_settings_form_saves_and_reports_bad_fields(
    tenant: Organization, owner_client: Client
) -> None:
    url = reverse("feedback:settings")
    assert owner_client.get(url).status_code == 200
    data = {
        "enabled": "on",
        "delay": "2",
        "delay_unit": "days",
        "sampling_rate": "30",
        "min_days_between": "60",
        "link_validity_days": "10",
        "question_fr": "Conseilleriez-vous {org} ?",
        "question_en": "",
    }
    response = owner_client.post(url, data)
    assert response.status_code == 302
    row = services.get_settings()
    assert (row.delay_hours, row.sampling_rate, row.min_days_between) == (48, 30, 60)
    assert row.question("fr", "Chez Léa") == "Conseilleriez-vous Chez Léa ?"
    assert row.question("en", "Chez Léa").startswith("How likely")
    assert AuditEvent.objects.filter(action="feedback.settings_changed").exists()
    bad = {**data, "sampling_rate": "150", "min_days_between": "zero"}
    response = owner_client.post(url, bad)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_sampling_rate_error"' in html and 'id="id_min_days_between_error"' in html
    row.refresh_from_db()
    assert (row.sampling_rate, row.min_days_between) == (30, 60)


def test_the_dashboard_counts_only_the_last_twelve_months(
    tenant: Organization, owner_client: Client
) -> None:
    old = answer(tenant, 0)
    Survey.objects.filter(pk=old.pk).update(answered_at=timezone.now() - dt.timedelta(days=800))
    answer(tenant, 10)
    html = owner_client.get(reverse("feedback:nps")).content.decode()
    assert 'id="fig-nps" data-nps="100"' in html
