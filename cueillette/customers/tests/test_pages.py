"""Staff pages about customers and consents, through the front door (the test client)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.accounts.models import User
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent, Organization
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import services
from cueillette.customers.models import (
    ConsentEvent,
    ConsentWording,
    Customer,
    CustomerStatus,
    EmailConfirmation,
)
from cueillette.loyalty.models import Card

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")
CREATE = reverse("customers:create")


def url(name: str, *args: Any) -> str:
    return reverse(f"customers:{name}", args=args)


def register(client: Client, **fields: Any) -> Any:
    data = {"language": "fr", "heard_from": "", **fields}
    return client.post(CREATE, data)


def only_customer(org: Organization, **filters: Any) -> Customer:
    with tenancy.tenant_context(org):
        return Customer.objects.get(**filters)


# --------------------------------------------------------------------------- create


def test_create_page_shows_unticked_consents_with_wording(
    counter_client: Client, counter: User
) -> None:
    page = counter_client.get(CREATE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="consent_loyalty"' in html
    assert "checked" not in html  # nothing pre-ticked
    assert "programme de fidélité" in html  # the current French wording text
    assert counter.display_name in html  # "recorded as given orally, by <staff>"


def test_counter_registration_records_consents_with_staff_as_actor(
    org: Organization, counter_client: Client, counter: User
) -> None:
    response = register(
        counter_client,
        first_name="Hélène",
        last_name="Dupont",
        phone="06 12 34 56 78",
        email="Helene@Example.FR",
        tags="yoga, Thé",
        consent_loyalty="on",
        consent_news_sms="on",
    )
    assert response.status_code == 302
    customer = only_customer(org, last_name="Dupont")
    # The card at once: back on the counter with the new member open, ready for the purchase.
    with tenancy.tenant_context(org):
        card = Card.objects.get(customer=customer, status="open")
    opened = counter_client.get(response["Location"])  # the counter's customer page
    assert opened["Location"] == reverse("loyalty:counter_card", args=[card.pk])
    assert customer.phone == "+33612345678"
    assert customer.email == "helene@example.fr"
    assert customer.tags == ["yoga", "thé"]
    assert customer.source == "counter"
    with tenancy.tenant_context(org):
        events = list(ConsentEvent.objects.filter(customer=customer).order_by("purpose"))
    assert [(e.purpose, e.granted, e.source) for e in events] == [
        ("loyalty", True, "counter"),
        ("news_sms", True, "counter"),
    ]
    assert all(e.actor_label == counter.display_name for e in events)
    assert all(e.actor_user_id == counter.pk for e in events)
    assert all(e.wording.version == 1 and e.wording.language == "fr" for e in events)
    # The detail page shows the derived state and who recorded it.
    detail = counter_client.get(url("detail", customer.pk)).content.decode()
    assert "Hélène Dupont" in detail
    assert "06 12 34 56 78" in detail
    assert counter.display_name in detail


def test_news_by_email_at_the_counter_sends_the_confirmation_email(
    org: Organization,
    counter_client: Client,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = register(
            counter_client,
            last_name="Martin",
            email="martin@example.org",
            consent_news_email="on",
        )
    assert response.status_code == 302
    customer = only_customer(org, last_name="Martin")
    with tenancy.tenant_context(org):
        assert not ConsentEvent.objects.filter(customer=customer).exists()
        pending = EmailConfirmation.objects.get(customer=customer)
    assert pending.source == "counter"
    assert [m.to for m in mailoutbox] == [["martin@example.org"]]
    page = counter_client.get(response["Location"]).content.decode()
    assert "martin@example.org" in page
    assert "confirm" in page.lower()


def test_field_errors_are_shown_next_to_the_field(
    org: Organization, counter_client: Client
) -> None:
    counter_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    response = register(counter_client, last_name="Durand", email="durand.example.org", phone="12")
    assert response.status_code == 400
    html = response.content.decode()
    assert "email is not valid" in html
    assert 'id="id_email_error"' in html
    assert "phone is not valid" in html
    assert 'id="id_phone_error"' in html
    # Django links the input to its error: aria-invalid and aria-describedby.
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_error"' in html
    with tenancy.tenant_context(org):
        assert not Customer.objects.exists()


def test_consent_needing_a_channel_names_the_missing_field(
    org: Organization, counter_client: Client
) -> None:
    counter_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    response = register(counter_client, last_name="Sans", consent_news_sms="on")
    assert response.status_code == 400
    assert "a phone number is needed for this purpose" in response.content.decode()
    with tenancy.tenant_context(org):
        assert not Customer.objects.exists()  # nothing half-written


def test_duplicate_warning_requires_create_anyway(
    org: Organization, counter_client: Client
) -> None:
    existing = CustomerFactory(organization=org, phone="+33612345678", last_name="Premier")
    response = register(counter_client, last_name="Second", phone="06 12 34 56 78")
    assert response.status_code == 400
    html = response.content.decode()
    assert url("detail", existing.pk) in html
    assert 'name="create_anyway"' in html
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 1
    response = register(
        counter_client, last_name="Second", phone="06 12 34 56 78", create_anyway="on"
    )
    assert response.status_code == 302
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 2


def test_live_duplicate_check(org: Organization, counter_client: Client) -> None:
    existing = CustomerFactory(organization=org, email="jo@example.org")
    check = url("duplicate_check")
    hit = counter_client.get(check, {"email": "JO@example.org", "phone": ""})
    assert url("detail", existing.pk) in hit.content.decode()
    half_typed = counter_client.get(check, {"email": "jo@", "phone": "06"})
    assert half_typed.status_code == 200
    assert url("detail", existing.pk) not in half_typed.content.decode()


# --------------------------------------------------------------------------- edit


def test_edit_changes_fields_and_audits_names_only(
    org: Organization, counter_client: Client, customer: Any
) -> None:
    page = counter_client.get(url("edit", customer.pk))
    assert customer.email in page.content.decode()
    response = counter_client.post(
        url("edit", customer.pk),
        {
            "first_name": "Zéphyrine-Aude",
            "last_name": customer.last_name,
            "email": customer.email,
            "phone": "+33 7 81 23 45 67",
            "language": "en",
            "postal_code": "69001",
            "birthday": "1990-05-17",
            "notes": "Prefers mornings",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.first_name == "Zéphyrine-Aude"
    assert customer.phone == "+33781234567"
    assert customer.birthday.isoformat() == "1990-05-17"
    with tenancy.tenant_context(org):
        event = AuditEvent.objects.get(action="customer.updated")
    assert "Zéphyrine-Aude" not in str(event.data)
    assert "first_name" in event.data["fields"]


def test_edit_error_keeps_the_record(counter_client: Client, customer: Any) -> None:
    counter_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    before = customer.email
    response = counter_client.post(
        url("edit", customer.pk), {"last_name": "X", "email": "nope", "language": "fr"}
    )
    assert response.status_code == 400
    assert "email is not valid: missing @" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email == before


# --------------------------------------------------------------------------- consent buttons


def test_staff_records_and_withdraws_a_consent(
    org: Organization, counter_client: Client, counter: User, customer: Any
) -> None:
    consent_url = url("consent", customer.pk)
    assert counter_client.get(consent_url).status_code == 405
    r = counter_client.post(consent_url, {"purpose": "loyalty", "action": "grant"})
    assert r.status_code == 302
    r = counter_client.post(consent_url, {"purpose": "loyalty", "action": "withdraw"})
    assert r.status_code == 302
    with tenancy.tenant_context(org):
        entries = list(ConsentEvent.objects.filter(customer=customer).order_by("occurred_at", "id"))
        state = services.consent_state(customer)
    assert [e.granted for e in entries] == [True, False]
    assert all(e.source == "counter" and e.actor_user_id == counter.pk for e in entries)
    assert state["loyalty"] is not None and state["loyalty"].granted is False
    page = counter_client.get(url("detail", customer.pk)).content.decode()
    assert "Withdrawn" in page or "retiré" in page.lower()


def test_unknown_purpose_is_an_error_message(counter_client: Client, customer: Any) -> None:
    counter_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    r = counter_client.post(
        url("consent", customer.pk), {"purpose": "spam", "action": "grant"}, follow=True
    )
    assert "purpose is not known: spam" in r.content.decode()


# --------------------------------------------------------------------------- merge


def test_merge_keeps_both_histories(
    org: Organization, manager_client: Client, manager: User
) -> None:
    a = CustomerFactory(organization=org, email="same@example.org", notes="")
    b = CustomerFactory(organization=org, email="same@example.org", notes="allergic to lavender")
    with tenancy.tenant_context(org):
        actor = Actor.staff(manager, "manager")
        services.record_consent(a, "loyalty", True, source="counter", actor=actor)
        services.record_consent(b, "profiling", True, source="counter", actor=actor)
        services.record_consent(b, "loyalty", False, source="counter", actor=actor)
    duplicates = manager_client.get(url("duplicates")).content.decode()
    assert "same@example.org" in duplicates
    assert f"{url('merge', a.pk)}?other={b.pk}" in duplicates
    preview = manager_client.get(url("merge", a.pk), {"other": b.pk})
    assert preview.status_code == 200
    response = manager_client.post(url("merge", a.pk), {"other": b.pk, "confirm": "1"})
    assert response.status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert b.status == CustomerStatus.MERGED and b.merged_into_id == a.pk
    assert "allergic to lavender" in a.notes
    with tenancy.tenant_context(org):
        assert ConsentEvent.objects.filter(customer=b).count() == 2  # b's own stay
        assert ConsentEvent.objects.filter(customer=a).count() == 3  # a's + copies of b's
        state = services.consent_state(a)
    assert state["profiling"] is not None and state["profiling"].granted
    assert state["loyalty"] is not None and state["loyalty"].granted is False  # latest of both
    page = manager_client.get(url("detail", a.pk)).content.decode()
    assert f"#{b.pk}" in page  # records merged into this one
    merged_page = manager_client.get(url("detail", b.pk)).content.decode()
    assert url("detail", a.pk) in merged_page


def test_counter_staff_cannot_merge(counter_client: Client, org: Organization) -> None:
    a = CustomerFactory(organization=org)
    b = CustomerFactory(organization=org)
    assert counter_client.post(url("merge", a.pk), {"other": b.pk}).status_code == 403
    assert counter_client.get(url("duplicates")).status_code == 403


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("name", ["export", "wordings", "audit"])
def test_counter_staff_get_403(counter_client: Client, name: str) -> None:
    assert counter_client.get(url(name)).status_code == 403


def test_counter_staff_cannot_edit_wordings(counter_client: Client) -> None:
    r = counter_client.post(url("wording_edit", "loyalty", "fr"), {"text": "Nouveau"})
    assert r.status_code == 403


def test_manager_exports_but_cannot_see_the_audit(manager_client: Client) -> None:
    assert manager_client.get(url("wordings")).status_code == 200
    assert manager_client.get(url("audit")).status_code == 403


def test_anonymous_is_sent_to_login(client: Client) -> None:
    r = client.get(LIST)
    assert r.status_code == 302
    assert reverse("accounts:login") in r["Location"]


def test_other_organization_records_are_404(owner_client: Client, other_org: Organization) -> None:
    stranger = CustomerFactory(organization=other_org)
    for name in ("detail", "edit", "merge"):
        assert owner_client.get(url(name, stranger.pk)).status_code == 404
    r = owner_client.post(url("consent", stranger.pk), {"purpose": "loyalty", "action": "grant"})
    assert r.status_code == 404


# --------------------------------------------------------------------------- wordings


def test_wording_change_creates_a_version_and_old_consents_stay_tied(
    org: Organization, owner_client: Client, owner: User, customer: Any
) -> None:
    with tenancy.tenant_context(org):
        old = services.record_consent(
            customer, "loyalty", True, source="counter", actor=Actor.staff(owner, "owner")
        )
    assert isinstance(old, ConsentEvent)
    edit = url("wording_edit", "loyalty", "fr")
    assert "programme de fidélité" in owner_client.get(edit).content.decode()
    r = owner_client.post(edit, {"text": "Je rejoins le programme, version deux."})
    assert r.status_code == 302
    with tenancy.tenant_context(org):
        versions = list(
            ConsentWording.objects.filter(purpose="loyalty", language="fr").order_by("version")
        )
        old_entry = ConsentEvent.objects.get(pk=old.pk)
        audit = AuditEvent.objects.get(action="wording.new_version")
    assert [w.version for w in versions] == [1, 2]
    assert old_entry.wording_id == versions[0].pk
    assert old_entry.wording_hash == versions[0].text_hash
    assert audit.data["version"] == 2
    page = owner_client.get(url("wordings")).content.decode()
    assert "version deux" in page
    assert "programme de fidélité" in page  # older version still shown
    # A new consent is tied to version 2; the ledger still shows the v1 text for the old one.
    with tenancy.tenant_context(org):
        services.record_consent(
            customer, "loyalty", False, source="counter", actor=Actor.staff(owner, "owner")
        )
        new = services.record_consent(
            customer, "loyalty", True, source="counter", actor=Actor.staff(owner, "owner")
        )
    assert isinstance(new, ConsentEvent) and new.wording_id == versions[1].pk
    detail = owner_client.get(url("detail", customer.pk)).content.decode()
    assert versions[0].text in detail and versions[1].text in detail


def test_empty_wording_is_refused(owner_client: Client) -> None:
    owner_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    r = owner_client.post(url("wording_edit", "loyalty", "fr"), {"text": "  "})
    assert r.status_code == 400
    assert "text is required" in r.content.decode()


def test_unknown_wording_is_404(owner_client: Client) -> None:
    assert owner_client.get(url("wording_edit", "spam", "fr")).status_code == 404
    assert owner_client.get(url("wording_edit", "loyalty", "de")).status_code == 404


# --------------------------------------------------------------------------- export


def read_export(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


def test_export_neutralises_formulas_and_is_audited(
    org: Organization, manager_client: Client, manager: User
) -> None:
    evil = CustomerFactory(organization=org, first_name="=cmd()", last_name="@SUM(A1)")
    CustomerFactory(organization=org, first_name="Anne", last_name="Paisible")
    with tenancy.tenant_context(org):
        services.record_consent(
            evil, "loyalty", True, source="counter", actor=Actor.staff(manager, "manager")
        )
    response = manager_client.post(url("export"), {"confirm": "yes"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_export(response)
    header, body = rows[0], rows[1:]
    assert len(body) == 2
    evil_row = next(r for r in body if r[0] == str(evil.pk))
    assert evil_row[1] == "'=cmd()"
    assert evil_row[2] == "'@SUM(A1)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    loyalty_col = len(header) - 6 + 2  # purposes come last, in Purpose order
    assert evil_row[loyalty_col] in ("oui", "yes")
    with tenancy.tenant_context(org):
        audit = AuditEvent.objects.get(action="customers.exported")
    assert audit.data["rows"] == 2
    assert audit.actor_user_id == manager.pk


def test_export_is_a_confirmed_post_that_says_what_it_contains(
    org: Organization, manager_client: Client
) -> None:
    CustomerFactory.create_batch(3, organization=org)
    # A link followed by a crawler or a prefetch: a page that says what the file holds.
    page = manager_client.get(url("export"), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "The file will hold 3 customers" in html
    assert "postal code" in html and "News by email" in html  # the columns, consents included
    assert "Care notes are never in this file" in html
    assert f'action="{url("export")}"' in html or 'method="post"' in html
    # A POST without the button's confirmation does not export either.
    assert manager_client.post(url("export")).status_code == 400
    with tenancy.tenant_context(org):
        assert not AuditEvent.objects.filter(action="customers.exported").exists()
    done = manager_client.post(url("export"), {"confirm": "yes"})
    assert done["Content-Type"].startswith("text/csv")
    assert len(read_export(done)) == 4
    with tenancy.tenant_context(org):
        assert AuditEvent.objects.filter(action="customers.exported").count() == 1


def test_export_leaves_out_merged_and_other_organizations(
    org: Organization, other_org: Organization, owner_client: Client, owner: User
) -> None:
    a = CustomerFactory(organization=org)
    b = CustomerFactory(organization=org)
    CustomerFactory(organization=other_org)
    with tenancy.tenant_context(org):
        services.merge_customers(a, b, actor=Actor.staff(owner, "owner"))
    rows = read_export(owner_client.post(url("export"), {"confirm": "yes"}))
    assert [r[0] for r in rows[1:]] == [str(a.pk)]


# --------------------------------------------------------------------------- search


@pytest.fixture
def people(org: Organization) -> dict[str, Any]:
    return {
        "helene": CustomerFactory(
            organization=org,
            first_name="Hélène",
            last_name="Lefèvre",
            email="helene.l@example.org",
            phone="+33612345678",
        ),
        "bob": CustomerFactory(
            organization=org,
            first_name="Bob",
            last_name="Martin",
            email="bob@example.com",
            phone="+33798765432",
        ),
    }


def names_in(response: Any) -> str:
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.mark.parametrize(
    ("query", "found", "not_found"),
    [
        ("06 12 34 56 78", "Hélène", "Bob Martin"),
        ("+33 6 12 34", "Hélène", "Bob Martin"),
        ("bob@example.com", "Bob Martin", "Hélène"),
        ("BOB@", "Bob Martin", "Hélène"),
        ("mart", "Bob Martin", "Hélène"),
        ("helene", "Hélène", "Bob Martin"),
        ("LEFEVRE", "Hélène", "Bob Martin"),
        ("hélène lef", "Hélène", "Bob Martin"),
    ],
)
def test_search(
    counter: Any,
    counter_client: Client,
    people: dict[str, Any],
    query: str,
    found: str,
    not_found: str,
) -> None:
    # The page names who is logged in: a generated staff name ("Hélène ...") must not be
    # taken for a search result.
    counter.full_name = "Zoé Comptoir"
    counter.save(update_fields=["full_name"])
    html = names_in(counter_client.get(LIST, {"q": query}))
    assert found in html
    assert not_found not in html


def test_search_partial_is_a_fragment(counter_client: Client, people: dict[str, Any]) -> None:
    html = names_in(counter_client.get(LIST, {"q": "helene", "partial": "1"}))
    assert "Hélène" in html
    assert "<html" not in html
    assert url("detail", people["helene"].pk) in html


def test_search_page_has_autofocus_box_and_no_inline_script(counter_client: Client) -> None:
    html = names_in(counter_client.get(LIST))
    assert "autofocus" in html
    assert "<script>" not in html and "style=" not in html
    assert "No customers yet" in html or "Aucun client" in html


def test_search_no_match_offers_registration(
    counter_client: Client, people: dict[str, Any]
) -> None:
    html = names_in(counter_client.get(LIST, {"q": "zzzz", "partial": "1"}))
    assert CREATE in html


# --------------------------------------------------------------------------- audit


def test_owner_filters_the_audit_log(
    org: Organization, owner_client: Client, owner: User, manager: User, customer: Any
) -> None:
    with tenancy.tenant_context(org):
        services.update_customer(
            customer,
            services.CustomerInput.of({"postal_code": "13001"}),
            actor=Actor.staff(manager, "manager"),
        )
        services.record_consent(
            customer, "loyalty", True, source="counter", actor=Actor.staff(owner, "owner")
        )
    everything = owner_client.get(url("audit"))
    assert everything.status_code == 200
    html = everything.content.decode()
    assert "customer.updated" in html and "consent.granted" in html
    by_action = owner_client.get(url("audit"), {"action": "consent.granted"}).content.decode()
    assert "consent.granted" in by_action and 'data-action="customer.updated"' not in by_action
    by_actor = owner_client.get(url("audit"), {"actor": manager.pk}).content.decode()
    assert 'data-action="customer.updated"' in by_actor
    assert 'data-action="consent.granted"' not in by_actor
    by_object = owner_client.get(
        url("audit"), {"object_type": "customer", "object_id": customer.pk}
    ).content.decode()
    assert 'data-action="customer.updated"' in by_object
    past = owner_client.get(url("audit"), {"until": "2000-01-01"}).content.decode()
    assert "data-action=" not in past
    # The record page shows its own audit rows to the owner only.
    assert "customer.updated" in owner_client.get(url("detail", customer.pk)).content.decode()


def test_audit_rows_on_the_record_are_owner_only(
    manager_client: Client, org: Organization, manager: User, customer: Any
) -> None:
    with tenancy.tenant_context(org):
        services.update_customer(
            customer,
            services.CustomerInput.of({"postal_code": "13001"}),
            actor=Actor.staff(manager, "manager"),
        )
    page = manager_client.get(url("detail", customer.pk)).content.decode()
    assert "customer.updated" not in page


def test_news_by_email_button_shows_pending_confirmation(
    org: Organization,
    counter_client: Client,
    customer: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = counter_client.post(
            url("consent", customer.pk), {"purpose": "news_email", "action": "grant"}, follow=True
        )
    assert [m.to for m in mailoutbox] == [[customer.email]]
    html = r.content.decode()
    assert "Waiting for email confirmation" in html or "confirmation" in html.lower()
    with tenancy.tenant_context(org):
        assert not ConsentEvent.objects.filter(customer=customer).exists()
        assert EmailConfirmation.objects.filter(customer=customer, used_at=None).count() == 1


def test_audit_log_is_paginated_newest_first(
    org: Organization, owner_client: Client, owner: User
) -> None:
    owner_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # asserts the English wording
    with tenancy.tenant_context(org):
        for i in range(55):
            services.create_customer(
                services.CustomerInput(last_name=f"Nom{i}", phone=f"06 11 22 33 {i:02d}"),
                actor=Actor.staff(owner, "owner"),
            )
        newest = AuditEvent.objects.order_by("-created_at", "-id").first()
        oldest = AuditEvent.objects.order_by("created_at", "id").first()
    assert newest is not None and oldest is not None
    first = owner_client.get(url("audit"), {"action": "customer.created"}).content.decode()
    assert f"Customer #{newest.object_id}<" in first
    assert f"Customer #{oldest.object_id}<" not in first
    second = owner_client.get(
        url("audit"), {"action": "customer.created", "page": 2}
    ).content.decode()
    assert f"Customer #{oldest.object_id}<" in second


def test_register_from_a_search_without_result_keeps_what_was_typed(
    counter_client: Client, people: dict[str, Any]
) -> None:
    html = names_in(counter_client.get(LIST, {"q": "07 81 23", "partial": "1"}))
    assert f"{CREATE}?q=07%2081%2023" in html
    form = names_in(counter_client.get(CREATE, {"q": "07 81 23"}))
    assert 'name="phone" value="07 81 23"' in form
