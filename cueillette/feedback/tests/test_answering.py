"""The survey page: GET never records, POST records once, bad input writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.customers import services as customer_services
from cueillette.customers.models import ConsentEvent
from cueillette.feedback import services
from cueillette.feedback.models import FollowUp, Survey

from .conftest import make_member, make_purchase, make_survey

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("feedback test")


def _url(org: Organization, token: str) -> str:
    return reverse("public:survey", kwargs={"slug": org.slug, "token": token})


def _state(survey: Survey) -> tuple[Any, ...]:
    s = Survey.objects.get(pk=survey.pk)
    return (s.answered_at, s.score, s.comment, s.follow_up, s.promoter_invited_at)


@pytest.fixture
def sent(tenant: Organization) -> tuple[Survey, str]:
    customer, card = make_member(tenant)
    purchase = make_purchase(card, timezone.now() - dt.timedelta(days=1))
    return make_survey(customer, purchase=purchase)


def test_get_shows_the_question_with_the_score_preselected_and_records_nothing(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    before = _state(survey)
    for _i in range(3):  # a mail scanner, then the person, then a reload
        response = client.get(_url(tenant, token) + "?score=3", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
    html = response.content.decode()
    assert 'value="3" id="score-3" checked' in html
    assert html.count(" checked") == 1
    assert "Cabinet Lumière" in html  # the question names the business
    assert _state(survey) == before
    assert not AuditEvent.objects.filter(action="feedback.answered").exists()
    # A score out of range in the link preselects nothing (and still records nothing).
    html = client.get(_url(tenant, token) + "?score=42").content.decode()
    assert " checked" not in html
    assert _state(survey) == before


def test_post_records_the_answer_once(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    response = client.post(_url(tenant, token), {"score": "8", "comment": " Très bon accueil "})
    assert response.status_code == 200
    assert b'data-category="passive"' in response.content
    survey.refresh_from_db()
    assert survey.score == 8 and survey.comment == "Très bon accueil"
    assert survey.answered_at is not None and survey.follow_up == FollowUp.NONE
    first = _state(survey)
    event = AuditEvent.objects.get(action="feedback.answered")
    assert event.data["score"] == 8 and "Très" not in str(event.data)  # no free text in the log
    # A second answer is refused kindly; nothing changes.
    again = client.post(_url(tenant, token), {"score": "0", "comment": "changed my mind"})
    assert again.status_code == 409
    assert b'data-code="already_answered"' in again.content
    assert _state(survey) == first
    # Opening the link again says the same, kindly.
    page = client.get(_url(tenant, token) + "?score=2")
    assert page.status_code == 200 and b'data-code="already_answered"' in page.content


@pytest.mark.parametrize("score", ["11", "-1", "abc", "", "7.5", "100"])
def test_a_score_outside_0_10_is_a_field_error_and_nothing_is_written(
    client: Client, tenant: Organization, sent: tuple[Survey, str], score: str
) -> None:
    survey, token = sent
    before = _state(survey)
    response = client.post(_url(tenant, token), {"score": score, "comment": "hello"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="score-error"' in html and "field--invalid" in html
    assert "hello" in html  # what they wrote is kept in the form
    assert _state(survey) == before


def test_a_missing_score_is_a_field_error(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    response = client.post(_url(tenant, token), {"comment": "no score"})
    assert response.status_code == 400 and b'id="score-error"' in response.content
    assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_a_too_long_comment_is_refused(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    response = client.post(_url(tenant, token), {"score": "5", "comment": "x" * 2001})
    assert response.status_code == 400 and b'id="comment-error"' in response.content
    assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_expired_and_broken_links_get_a_clear_page(client: Client, tenant: Organization) -> None:
    customer, _card = make_member(tenant)
    survey, token = make_survey(customer, sent_at=timezone.now() - dt.timedelta(days=20))
    assert survey.expires_at < timezone.now()
    response = client.get(_url(tenant, token))
    assert response.status_code == 410 and b'data-code="token_expired"' in response.content
    response = client.post(_url(tenant, token), {"score": "9"})
    assert response.status_code == 410
    assert Survey.objects.get(pk=survey.pk).answered_at is None
    for bad in ("not-a-real-token", token[:-2] + "xx", "a" * 400):
        response = client.get(_url(tenant, bad))
        assert response.status_code == 400, bad
        assert b'data-code="token_invalid"' in response.content
        assert client.post(_url(tenant, bad), {"score": "9"}).status_code == 400


def test_a_link_of_another_organization_does_not_work_here(
    client: Client, org: Organization, other_org: Organization
) -> None:
    from cueillette.core import tenancy

    with tenancy.tenant_context(org):
        customer, _card = make_member(org)
        survey, token = make_survey(customer)
    response = client.post(_url(other_org, token), {"score": "9"})
    assert response.status_code == 400
    with tenancy.tenant_context(org):
        assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_a_withdrawn_consent_closes_the_survey(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    customer_services.record_consent(
        survey.customer, "feedback", False, source="portal", actor=ACTOR
    )
    response = client.post(_url(tenant, token), {"score": "9"})
    assert response.status_code == 410 and b'data-code="consent_withdrawn"' in response.content
    assert Survey.objects.get(pk=survey.pk).answered_at is None


def test_a_detractor_is_told_someone_will_get_back_and_enters_the_follow_up(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    survey, token = sent
    response = client.post(
        _url(tenant, token) + "?lang=en", {"score": "3", "comment": "Attente trop longue"}
    )
    assert response.status_code == 200
    assert b'data-category="detractor"' in response.content
    assert b"get back to you" in response.content
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.TO_CONTACT
    assert survey.promoter_invited_at is None


def test_a_promoter_is_invited_once_per_customer(client: Client, tenant: Organization) -> None:
    customer, _card = make_member(tenant)
    first, token1 = make_survey(customer, sent_at=timezone.now() - dt.timedelta(days=1))
    second, token2 = make_survey(customer)
    r1 = client.post(_url(tenant, token1), {"score": "10"})
    assert b'data-invited="true"' in r1.content
    r2 = client.post(_url(tenant, token2), {"score": "9"})
    assert b'data-category="promoter"' in r2.content
    assert b'data-invited="false"' in r2.content
    assert b"data-invite=" not in r2.content
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.promoter_invited_at is not None and second.promoter_invited_at is None


def test_the_invitation_links_to_the_community_page_and_referrals_when_they_exist(
    client: Client, tenant: Organization, sent: tuple[Survey, str]
) -> None:
    from django.urls import NoReverseMatch

    _survey, token = sent
    html = client.post(_url(tenant, token), {"score": "10"}).content.decode()
    for name, marker in (
        ("public:community_new", 'data-invite="community"'),
        ("public:referral_share", 'data-invite="referral"'),
    ):
        try:
            url = reverse(name, kwargs={"slug": tenant.slug})
        except NoReverseMatch:
            assert marker not in html
        else:
            assert marker in html and url in html


def test_service_answer_validates_before_writing(
    tenant: Organization, sent: tuple[Survey, str]
) -> None:
    _survey, token = sent
    from cueillette.core.errors import ServiceError

    with pytest.raises(ServiceError) as err:
        services.answer(token, 11, "")
    assert (err.value.code, err.value.field) == ("score_out_of_range", "score")
    result = services.answer(token, 0, "")
    assert result.category == "detractor" and not result.invite_promoter
    with pytest.raises(ServiceError) as err:
        services.answer(token, 10, "")
    assert err.value.code == "already_answered" and err.value.status == 409


# --------------------------------------------------------------------------- unsubscribe


def test_unsubscribe_page_get_changes_nothing_and_post_withdraws(
    client: Client, tenant: Organization
) -> None:
    customer, _card = make_member(tenant)
    url = services.unsubscribe_url(tenant, customer)
    path = url.split("://", 1)[-1].split("/", 1)[-1]
    path = "/" + path
    assert client.get(path).status_code == 200
    assert customer_services.has_consent(customer, "feedback")
    response = client.post(path)
    assert response.status_code == 200
    assert not customer_services.has_consent(customer, "feedback")
    entry = ConsentEvent.objects.filter(customer=customer, purpose="feedback").first()
    assert entry is not None and not entry.granted
    assert entry.evidence["via"] == "feedback_email_unsubscribe"
    assert AuditEvent.objects.filter(action="consent.withdrawn", object_id=customer.pk).exists()
    # Again: still fine, nothing more written.
    count = ConsentEvent.objects.filter(customer=customer).count()
    assert client.post(path).status_code == 200
    assert ConsentEvent.objects.filter(customer=customer).count() == count


def test_one_click_unsubscribe_works_without_a_csrf_token(tenant: Organization) -> None:
    customer, _card = make_member(tenant)
    path = "/" + services.unsubscribe_url(tenant, customer).split("://", 1)[-1].split("/", 1)[-1]
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    entry = ConsentEvent.objects.filter(customer=customer, purpose="feedback").first()
    assert entry is not None and not entry.granted and entry.evidence["one_click"] is True


def test_a_forged_unsubscribe_link_does_nothing(client: Client, tenant: Organization) -> None:
    customer, _card = make_member(tenant)
    path = reverse("public:survey_unsubscribe", kwargs={"slug": tenant.slug, "token": "1:forged"})
    assert client.post(path).status_code == 400
    assert customer_services.has_consent(customer, "feedback")


def test_survey_links_carry_the_score_and_the_email_language(tenant: Organization) -> None:
    from cueillette.feedback.services import survey_url

    url = survey_url(tenant, "tok", 7, language="en")
    assert url.endswith("/survey/tok/?score=7&lang=en")
    assert survey_url(tenant, "tok").endswith("/survey/tok/")
