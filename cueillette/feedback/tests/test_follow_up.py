"""The detractors' follow-up: transitions, notes, who and when, every change audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cueillette.accounts.models import User
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import AuditEvent, Organization
from cueillette.feedback import services
from cueillette.feedback.models import FollowUp, Survey

from .conftest import make_member, make_survey

pytestmark = pytest.mark.django_db


def detractor(org: Organization, comment: str = "Accueil froid") -> Survey:
    customer, _card = make_member(org, first_name="Odile", last_name="Garnier")
    survey, _t = make_survey(customer)
    Survey.objects.filter(pk=survey.pk).update(
        answered_at=timezone.now(), score=4, comment=comment, follow_up=FollowUp.TO_CONTACT
    )
    survey.refresh_from_db()
    return survey


def test_transitions_are_audited_with_who_and_when(tenant: Organization, owner: User) -> None:
    survey = detractor(tenant)
    actor = Actor.staff(owner, "owner")
    services.update_follow_up(survey, status="contacted", note="Appelée mardi", actor=actor)
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.CONTACTED and survey.follow_up_note == "Appelée mardi"
    assert survey.follow_up_by == owner and survey.follow_up_at is not None
    services.update_follow_up(survey, status="resolved", actor=actor)
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.RESOLVED and survey.follow_up_note == "Appelée mardi"
    rows = list(
        AuditEvent.objects.filter(action="feedback.follow_up", object_id=survey.pk).order_by("id")
    )
    assert [(r.data["previous"], r.data["status"]) for r in rows] == [
        ("to_contact", "contacted"),
        ("contacted", "resolved"),
    ]
    assert all(r.actor_user == owner for r in rows)
    # The same status and note again writes nothing.
    services.update_follow_up(survey, status="resolved", note="Appelée mardi", actor=actor)
    assert AuditEvent.objects.filter(action="feedback.follow_up").count() == 2
    # A note alone is a change too.
    services.update_follow_up(survey, status="resolved", note="Bon d'achat offert", actor=actor)
    assert AuditEvent.objects.filter(action="feedback.follow_up").count() == 3


def test_bad_status_and_non_detractors_are_refused(tenant: Organization, owner: User) -> None:
    survey = detractor(tenant)
    actor = Actor.staff(owner, "owner")
    for status, code in (("none", "invalid"), ("done", "invalid"), ("", "invalid")):
        with pytest.raises(ServiceError) as err:
            services.update_follow_up(survey, status=status, actor=actor)
        assert (err.value.code, err.value.field) == (code, "status")
    with pytest.raises(ServiceError) as err:
        services.update_follow_up(survey, status="contacted", note="x" * 2001, actor=actor)
    assert err.value.field == "note"
    customer, _card = make_member(tenant)
    promoter, _t = make_survey(customer)
    Survey.objects.filter(pk=promoter.pk).update(answered_at=timezone.now(), score=10)
    with pytest.raises(ServiceError) as err:
        services.update_follow_up(promoter, status="contacted", actor=actor)
    assert err.value.code == "not_a_detractor"
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.TO_CONTACT and survey.follow_up_by is None
    assert not AuditEvent.objects.filter(action="feedback.follow_up").exists()


def test_the_owner_sees_the_detractor_and_marks_them_contacted(
    tenant: Organization, owner_client: Client, owner: User
) -> None:
    survey = detractor(tenant, comment="Trop d'attente au comptoir")
    page = owner_client.get(reverse("feedback:follow_up"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-survey="{survey.pk}"' in html and "Trop d&#x27;attente au comptoir" in html
    assert reverse("customers:detail", kwargs={"pk": survey.customer_id}) in html
    response = owner_client.post(
        reverse("feedback:follow_up_update", kwargs={"pk": survey.pk}),
        {"status": "contacted", "note": "Rappelée, excuses faites", "back_status": "to_contact"},
    )
    assert response.status_code == 302
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.CONTACTED and survey.follow_up_by == owner
    listing = owner_client.get(reverse("feedback:follow_up") + "?status=contacted")
    assert f'data-survey="{survey.pk}"' in listing.content.decode()
    assert 'data-status="contacted"' in listing.content.decode()
    # A bad status from the page is an error message, nothing written.
    owner_client.post(
        reverse("feedback:follow_up_update", kwargs={"pk": survey.pk}), {"status": "nope"}
    )
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.CONTACTED


def test_counter_staff_cannot_see_feedback(
    tenant: Organization, counter_client: Client, manager_client: Client
) -> None:
    survey = detractor(tenant)
    for name in ("feedback:nps", "feedback:comments", "feedback:follow_up", "feedback:settings"):
        assert counter_client.get(reverse(name)).status_code == 403, name
        assert manager_client.get(reverse(name)).status_code == 200, name
    url = reverse("feedback:follow_up_update", kwargs={"pk": survey.pk})
    assert counter_client.post(url, {"status": "contacted"}).status_code == 403
    survey.refresh_from_db()
    assert survey.follow_up == FollowUp.TO_CONTACT


def test_another_organizations_answer_is_a_404(
    org: Organization, other_org: Organization, owner_client: Client
) -> None:
    from cueillette.core import tenancy

    with tenancy.tenant_context(other_org):
        theirs = detractor(other_org)
    url = reverse("feedback:follow_up_update", kwargs={"pk": theirs.pk})
    assert owner_client.post(url, {"status": "contacted"}).status_code == 404
    with tenancy.tenant_context(other_org):
        assert Survey.objects.get(pk=theirs.pk).follow_up == FollowUp.TO_CONTACT
