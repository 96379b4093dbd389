"""The customer's answers in their data export; erasure keeps the score, drops the words."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.customers import portal
from cueillette.feedback import queries
from cueillette.feedback.models import FollowUp, Survey

from .conftest import make_member, make_survey

pytestmark = pytest.mark.django_db


def test_export_includes_the_answers_and_erasure_keeps_only_the_score(
    tenant: Organization,
) -> None:
    customer, _card = make_member(tenant)
    survey, _t = make_survey(customer, tier_code="gold", came_from="friend")
    Survey.objects.filter(pk=survey.pk).update(
        answered_at=timezone.now(),
        score=4,
        comment="La vendeuse Martine a été désagréable",
        follow_up=FollowUp.CONTACTED,
        follow_up_note="Appelée par Paul",
    )
    archive = zipfile.ZipFile(io.BytesIO(portal.export_zip(customer)))
    data = json.loads(archive.read("feedback.json"))
    [row] = data["surveys"]
    assert row["score"] == 4 and row["comment"].startswith("La vendeuse")
    assert row["asked_under_consent_entry"] == survey.consent_id
    assert row["follow_up"] == "contacted"

    before = queries.overall()
    portal.erase_customer(customer, actor=Actor.customer("test"), reason="self")
    survey.refresh_from_db()
    assert survey.score == 4 and survey.tier_code == "gold" and survey.came_from == "friend"
    assert survey.comment == "" and survey.follow_up_note == ""
    assert queries.overall() == before


def test_no_survey_no_file(tenant: Organization) -> None:
    customer, _card = make_member(tenant)
    archive = zipfile.ZipFile(io.BytesIO(portal.export_zip(customer)))
    assert "feedback.json" not in archive.namelist()
