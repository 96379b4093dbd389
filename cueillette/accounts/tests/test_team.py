from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from cueillette.accounts.models import Invitation, Membership, Role, User
from cueillette.accounts.tests.conftest import link_in
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_owner(owner: User) -> User:
    owner.email_confirmed_at = timezone.now()
    owner.save()
    return owner


def _actions(org) -> list[str]:
    return list(
        AuditEvent.objects.unscoped().filter(organization=org).values_list("action", flat=True)
    )


def _invite(client: Client, capture, email: str, role: str = "counter"):
    with capture(execute=True):
        return client.post(
            "/accounts/team/", {"email": email, "role": role}, HTTP_ACCEPT_LANGUAGE="en"
        )


def test_invite_flow_end_to_end_over_smtp(
    org, confirmed_owner, client_for, smtp_server, django_capture_on_commit_callbacks
) -> None:
    owner_client = client_for(confirmed_owner)
    page = owner_client.get("/accounts/team/")
    assert page.status_code == 200
    assert confirmed_owner.email.encode() in page.content

    response = _invite(owner_client, django_capture_on_commit_callbacks, "Nouvelle@Example.org")
    assert response.status_code == 302
    [message] = smtp_server.wait_for(1)
    assert message["X-Envelope-To"] == "nouvelle@example.org"
    assert org.name in message["Subject"] or "Cabinet" in str(message["Subject"])
    body = smtp_server.body(message)
    path = link_in(body, "/accounts/invitation/")
    assert "/accounts/invitation/" in smtp_server.body(message, "html")
    invitation = Invitation.objects.unscoped().get(organization=org)
    assert invitation.token_hash not in body  # only the hash is stored, only the token sent
    assert invitation.email == "nouvelle@example.org"
    assert round((invitation.expires_at - invitation.created_at).total_seconds() / 86400) == 7
    assert b"nouvelle@example.org" in owner_client.get("/accounts/team/").content  # pending

    newcomer = Client()
    form = newcomer.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200
    assert b'name="full_name"' in form.content and b"Counter staff" in form.content
    joined = newcomer.post(path, {"full_name": "Noé Nouvelle", "password": "un secret bien long"})
    assert joined.status_code == 302
    assert joined["Location"] == "/app/loyalty/"  # counter staff land on the counter
    user = User.objects.get(email="nouvelle@example.org")
    assert user.full_name == "Noé Nouvelle" and user.email_confirmed_at is not None
    membership = Membership.objects.unscoped().get(organization=org, user=user)
    assert membership.role == Role.COUNTER
    assert "member.invited" in _actions(org) and "member.joined" in _actions(org)
    joined_event = AuditEvent.objects.unscoped().get(organization=org, action="member.joined")
    assert "nouvelle" not in str(joined_event.data).lower()  # no personal data in the log

    # Counter staff cannot reach owner-only pages.
    assert newcomer.get("/accounts/team/").status_code == 403
    assert newcomer.get("/accounts/settings/").status_code == 403
    assert newcomer.post("/accounts/settings/", {"name": "x"}).status_code == 403
    assert newcomer.get("/app/customers/audit/").status_code == 403
    assert newcomer.get("/app/customers/export/").status_code == 403

    # The link works once.
    reused = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert reused.status_code == 410
    assert b"already been accepted" in reused.content


def test_existing_account_logs_in_to_join(
    org, confirmed_owner, client_for, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    elsewhere = UserFactory(email="pro@example.org", language="en")
    MembershipFactory(organization=OrganizationFactory(), user=elsewhere, role=Role.OWNER)
    _invite(
        client_for(confirmed_owner),
        django_capture_on_commit_callbacks,
        "pro@example.org",
        "manager",
    )
    mail = mailoutbox[0]
    assert "log in" in mail.body  # in the existing person's language
    path = link_in(mail.body, "/accounts/invitation/")
    c = Client()
    page = c.get(path)
    assert b'name="password"' in page.content and b'name="full_name"' not in page.content
    wrong = c.post(path, {"password": "nope"}, HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 400
    assert b"password is not correct" in wrong.content.lower()
    ok = c.post(path, {"password": "correct horse battery"})
    assert ok.status_code == 302
    assert Membership.objects.unscoped().get(organization=org, user=elsewhere).role == Role.MANAGER
    assert c.session["cueillette_org_id"] == org.pk


def test_logged_in_invitee_joins_and_wrong_account_is_told(
    org, confirmed_owner, client_for, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    invitee = UserFactory(email="moi@example.org")
    MembershipFactory(organization=OrganizationFactory(), user=invitee)
    _invite(client_for(confirmed_owner), django_capture_on_commit_callbacks, "moi@example.org")
    path = link_in(mailoutbox[0].body, "/accounts/invitation/")

    stranger = client_for(UserFactory(email="autre@example.org"))
    refused = stranger.post(path, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403
    assert b"moi@example.org" in refused.content
    assert not Membership.objects.unscoped().filter(
        organization=org, user__email="autre@example.org"
    )

    c = client_for(invitee)
    assert c.get(path).status_code == 200
    assert c.post(path).status_code == 302
    assert Membership.objects.unscoped().filter(organization=org, user=invitee).exists()


def test_revoked_and_expired_invitations(
    org, confirmed_owner, client_for, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    owner_client = client_for(confirmed_owner)
    _invite(owner_client, django_capture_on_commit_callbacks, "a@example.org")
    path = link_in(mailoutbox[0].body, "/accounts/invitation/")
    invitation = Invitation.objects.unscoped().get(organization=org, email="a@example.org")
    assert owner_client.post(f"/accounts/invitations/{invitation.pk}/revoke/").status_code == 302
    page = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 410 and b"withdrawn" in page.content
    assert "invitation.revoked" in _actions(org)

    _invite(owner_client, django_capture_on_commit_callbacks, "b@example.org")
    path = link_in(mailoutbox[1].body, "/accounts/invitation/")
    Invitation.objects.unscoped().filter(email="b@example.org").update(
        expires_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    expired = Client().post(
        path, {"full_name": "B", "password": "un secret bien long"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert expired.status_code == 410 and b"expired" in expired.content
    assert not User.objects.filter(email="b@example.org").exists()

    assert Client().get("/accounts/invitation/not-a-token/").status_code == 404


def test_invitation_of_another_org_cannot_be_revoked(
    other_org, confirmed_owner, client_for
) -> None:
    foreign = MembershipFactory(organization=other_org, role=Role.COUNTER)
    from cueillette.core import tenancy

    with tenancy.tenant_context(other_org):
        inv = Invitation.objects.create(
            email="x@example.org",
            role="counter",
            token_hash="h" * 64,
            expires_at=timezone.now() + timezone.timedelta(days=7),
        )
    c = client_for(confirmed_owner)
    assert c.post(f"/accounts/invitations/{inv.pk}/revoke/").status_code == 404
    assert (
        c.post(f"/accounts/team/{foreign.pk}/role/", {f"m{foreign.pk}-role": "owner"}).status_code
        == 404
    )
    assert c.post(f"/accounts/team/{foreign.pk}/remove/").status_code == 404


def test_inviting_needs_a_confirmed_email(
    org, owner, owner_client, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    page = owner_client.get("/accounts/team/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"Confirm your own email address" in page.content
    response = _invite(owner_client, django_capture_on_commit_callbacks, "c@example.org")
    assert response.status_code == 400
    assert not Invitation.objects.unscoped().filter(organization=org).exists()
    assert mailoutbox == []


def test_invite_errors_name_the_field(
    org, confirmed_owner, client_for, counter, django_capture_on_commit_callbacks
) -> None:
    c = client_for(confirmed_owner)
    bad = _invite(c, django_capture_on_commit_callbacks, "pas-un-email")
    assert bad.status_code == 400 and b'id="id_email_error"' in bad.content
    assert b"Email is not valid: missing @" in bad.content
    member = _invite(c, django_capture_on_commit_callbacks, counter.email)
    assert member.status_code == 400
    assert b"already belongs to a member" in member.content


def test_role_change_and_last_owner_protection(org, confirmed_owner, counter, client_for) -> None:
    c = client_for(confirmed_owner)
    mine = Membership.objects.unscoped().get(organization=org, user=confirmed_owner)
    theirs = Membership.objects.unscoped().get(organization=org, user=counter)

    demote = c.post(
        f"/accounts/team/{mine.pk}/role/",
        {f"m{mine.pk}-role": "manager"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert demote.status_code == 400
    assert b"the last owner cannot be demoted" in demote.content
    assert b'aria-invalid="true"' in demote.content
    remove = c.post(f"/accounts/team/{mine.pk}/remove/", HTTP_ACCEPT_LANGUAGE="en")
    assert remove.status_code == 400
    assert b"last owner cannot be removed" in remove.content.lower()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER

    assert (
        c.post(f"/accounts/team/{theirs.pk}/role/", {f"m{theirs.pk}-role": "owner"}).status_code
        == 302
    )
    theirs.refresh_from_db()
    assert theirs.role == Role.OWNER
    event = AuditEvent.objects.unscoped().get(organization=org, action="member.role_changed")
    assert event.data == {"old_role": "counter", "new_role": "owner"}

    # Two owners now: one may step down.
    assert (
        c.post(f"/accounts/team/{mine.pk}/role/", {f"m{mine.pk}-role": "manager"}).status_code
        == 302
    )
    mine.refresh_from_db()
    assert mine.role == Role.MANAGER
    # And a manager cannot manage staff any more.
    assert c.get("/accounts/team/").status_code == 403

    bad = client_for(counter).post(f"/accounts/team/{mine.pk}/role/", {f"m{mine.pk}-role": "nope"})
    assert bad.status_code == 400


def test_remove_member(org, confirmed_owner, counter, client_for) -> None:
    theirs = Membership.objects.unscoped().get(organization=org, user=counter)
    counter_client = client_for(counter)
    assert counter_client.post(f"/accounts/team/{theirs.pk}/remove/").status_code == 403
    c = client_for(confirmed_owner)
    assert c.post(f"/accounts/team/{theirs.pk}/remove/").status_code == 302
    assert not Membership.objects.unscoped().filter(pk=theirs.pk).exists()
    assert "member.removed" in _actions(org)
    # The removed person no longer reaches the organization.
    assert counter_client.get("/accounts/switch/")["Location"] == "/accounts/no-business/"


def test_settings_for_owner_and_manager(org, owner_client, manager_client, counter_client) -> None:
    page = owner_client.get("/accounts/settings/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    for url in ("/accounts/team/", "/app/customers/wordings/", "/app/api-keys/"):
        assert url in html
    assert 'name="retention_days"' in html

    manager_page = manager_client.get("/accounts/settings/").content.decode()
    assert "/app/customers/wordings/" in manager_page and "/app/api-keys/" in manager_page
    assert "/accounts/team/" not in manager_page
    assert 'name="retention_days"' not in manager_page
    assert manager_client.post("/accounts/settings/", {"name": "Piraté"}).status_code == 403
    assert counter_client.get("/accounts/settings/").status_code == 403


def test_settings_update_is_audited(org, owner_client) -> None:
    data = {
        "name": "Cabinet Lumière & Co",
        "language": "en",
        "timezone": "Europe/Brussels",
        "currency": "EUR",
        "retention_days": "400",
        "contact_email": "Contact@Lumiere.example",
        "address": "3 rue des Lilas, Paris",
    }
    assert owner_client.post("/accounts/settings/", data).status_code == 302
    org.refresh_from_db()
    assert (org.name, org.language, org.timezone, org.retention_days, org.contact_email) == (
        "Cabinet Lumière & Co",
        "en",
        "Europe/Brussels",
        400,
        "contact@lumiere.example",
    )
    event = AuditEvent.objects.unscoped().get(organization=org, action="organization.updated")
    assert event.data == {
        "fields": ["name", "language", "timezone", "retention_days", "contact_email", "address"]
    }

    too_short = owner_client.post(
        "/accounts/settings/", {**data, "retention_days": "10"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert too_short.status_code == 400
    assert b'id="id_retention_days_error"' in too_short.content
    assert b"Retention period (days) must be 30 at least" in too_short.content
    org.refresh_from_db()
    assert org.retention_days == 400
