"""The bulk import: every bad row reported with line and field, good rows imported, fast path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from cueillette.core.audit import Actor
from cueillette.core.models import AuditEvent
from cueillette.core.tests.factories import CustomerFactory
from cueillette.customers import queries
from cueillette.customers.bulk import import_rows
from cueillette.customers.models import (
    ConsentEvent,
    Customer,
    EmailConfirmation,
    Source,
)
from cueillette.customers.services import set_wording

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English (the msgids); French is the default language."""
    with translation.override("en"):
        yield


ACTOR = Actor.system("test import")


def run(rows: list[dict[str, Any]], **kwargs: Any) -> Any:
    return import_rows(rows, actor=ACTOR, **kwargs)


def test_good_rows_are_imported_with_normalised_fields_and_search_keys(tenant: Any) -> None:
    report = run(
        [
            {
                "first_name": "Hélène",
                "last_name": "Dupré",
                "email": "Helene.Dupre@Orange.FR",
                "phone": "06 12 34 56 78",
                "postal_code": "69001",
                "birthday": "1984-05-12",
                "tags": "thé, Bio",
            },
            {"first_name": "Marc", "last_name": "Lefèvre", "phone": "+33 7 81 22 33 44"},
        ]
    )
    assert report.ok and report.created == 2 and report.rows == 2
    helene = Customer.objects.get(last_name="Dupré")
    assert helene.email == "helene.dupre@orange.fr"
    assert helene.phone == "+33612345678"
    assert helene.source == Source.IMPORT
    assert helene.tags == ["thé", "bio"]
    assert str(helene.birthday) == "1984-05-12"
    assert helene.last_activity_at is not None
    # The search keys are maintained, so the counter finds imported customers.
    assert list(queries.search("dupre")) == [helene]
    assert list(queries.search("06 12 34")) == [helene]
    assert list(queries.search("helene.dupre@orange.fr")) == [helene]
    assert [c.last_name for c in queries.search("07 81 22")] == ["Lefèvre"]


def test_every_bad_row_is_reported_with_line_and_field(tenant: Any) -> None:
    report = run(
        [
            {"first_name": "Ana", "last_name": "Roux", "email": "ana@free.fr"},
            {"first_name": "Bad", "last_name": "Mail", "email": "bad-at-free.fr"},
            {"first_name": "", "last_name": "", "phone": "12"},
            {"first_name": "Léo", "last_name": "Blanc", "birthday": "31/02/1990"},
            {"first_name": "Zoé", "last_name": "Noir", "consent_news_sms": "peut-être"},
        ]
    )
    assert report.created == 1
    assert report.bad_lines == [3, 4, 5, 6]
    found = {(e.line, e.field) for e in report.errors}
    assert (3, "email") in found
    assert (4, "phone") in found and (4, "last_name") in found  # every problem of the row
    assert (5, "birthday") in found
    assert (6, "consent_news_sms") in found
    email_error = next(e for e in report.errors if e.line == 3)
    assert "missing @" in email_error.message
    assert Customer.objects.count() == 1


def test_duplicates_in_the_file_and_in_the_database_are_skipped_and_reported(
    other_org: Any, tenant: Any
) -> None:
    # other_org comes first: creating an organization inside another's tenant context fails.
    CustomerFactory(organization=tenant, email="deja@free.fr", phone="+33611111111")
    # Another organization's customer is not a duplicate (tenants never mix).
    CustomerFactory(organization=other_org, email="ailleurs@free.fr", phone="+33622222222")
    report = run(
        [
            {"last_name": "A", "email": "nouveau@free.fr"},
            {"last_name": "B", "email": "NOUVEAU@free.fr"},
            {"last_name": "C", "email": "deja@free.fr"},
            {"last_name": "D", "phone": "06 11 11 11 11"},
            {"last_name": "E", "email": "ailleurs@free.fr", "phone": "0622222222"},
        ]
    )
    assert report.created == 2
    assert report.duplicates == 3
    warned = {(w.line, w.field) for w in report.warnings}
    assert {(3, "email"), (4, "email"), (5, "phone")} <= warned
    assert "line 2" in next(w.message for w in report.warnings if w.line == 3)

    strict = run([{"last_name": "F", "email": "deja@free.fr"}], duplicates="error")
    assert strict.created == 0 and strict.bad_lines == [2]


def test_dry_run_writes_nothing(tenant: Any) -> None:
    report = run(
        [{"last_name": "Roux", "email": "r@free.fr", "consent_loyalty": "oui"}], dry_run=True
    )
    assert report.ok and report.importable == 1 and report.created == 0
    assert not Customer.objects.exists()
    assert not ConsentEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="customers.imported").exists()


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(tenant: Any) -> None:
    rows = [{"last_name": f"Client {i}", "email": f"c{i}@free.fr"} for i in range(7)]
    rows.append({"last_name": "Bad", "email": "nope"})
    report = run(rows, all_or_nothing=True, batch_size=3)
    assert report.bad_lines == [9]
    assert report.created == 0 and not report.written
    assert not Customer.objects.exists()

    report = run(rows[:-1], all_or_nothing=True, batch_size=3)
    assert report.ok and report.created == 7
    assert Customer.objects.count() == 7


def test_consents_are_recorded_against_the_current_wording(tenant: Any) -> None:
    new = set_wording("news_sms", "fr", "Nouveau texte SMS de test.", actor=ACTOR)
    report = run(
        [
            {
                "last_name": "Roux",
                "phone": "0612345678",
                "email": "roux@laposte.net",
                "consent_news_sms": "yes",
                "consent_loyalty": "X",
                "consent_profiling": "non",
                "consent_feedback": "",
            }
        ]
    )
    assert report.ok and report.consents == 3
    customer = Customer.objects.get()
    events = {e.purpose: e for e in ConsentEvent.objects.filter(customer=customer)}
    assert set(events) == {"news_sms", "loyalty", "profiling"}
    sms = events["news_sms"]
    assert sms.granted and sms.source == "import" and sms.channel == "sms"
    assert sms.wording_id == new.pk and sms.wording_hash == new.text_hash
    assert sms.evidence["import_line"] == 2
    assert events["profiling"].granted is False  # an explicit "no" is a recorded refusal
    assert {c.pk for c in queries.contactable("news_sms")} == {customer.pk}
    assert not queries.contactable("profiling").exists()


def test_a_channel_consent_needs_the_channel(tenant: Any) -> None:
    report = run(
        [
            {"last_name": "Sans", "email": "sans@free.fr", "consent_news_sms": "oui"},
            {"last_name": "Rien", "phone": "0612345678", "consent_feedback": "oui"},
        ]
    )
    assert {(e.line, e.field, e.code) for e in report.errors} == {
        (2, "consent_news_sms", "no_phone_for_consent"),
        (3, "consent_feedback", "no_email_for_consent"),
    }


def test_news_by_email_needs_proof_of_double_opt_in(
    tenant: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = run(
        [
            {"last_name": "Sans", "email": "sans@free.fr", "consent_news_email": "oui"},
            {
                "last_name": "Avec",
                "email": "avec@free.fr",
                "consent_news_email": "oui",
                "consent_news_email_confirmed_at": "2024-03-02T10:15:00",
            },
            {
                "last_name": "Futur",
                "email": "futur@free.fr",
                "consent_news_email": "oui",
                "consent_news_email_confirmed_at": "2999-01-01",
            },
        ]
    )
    assert report.created == 2
    assert [(e.line, e.field) for e in report.errors] == [(4, "consent_news_email_confirmed_at")]
    warning = next(w for w in report.warnings if w.line == 2)
    assert warning.field == "consent_news_email" and warning.code == "double_opt_in_required"
    assert not ConsentEvent.objects.filter(customer__last_name="Sans").exists()
    proof = ConsentEvent.objects.get(customer__last_name="Avec")
    assert proof.granted and proof.purpose == "news_email"
    assert proof.evidence["double_opt_in_confirmed_at"].startswith("2024-03-02T10:15:00")
    assert {c.last_name for c in queries.contactable("news_email")} == {"Avec"}

    with django_capture_on_commit_callbacks(execute=True):
        asked = run(
            [{"last_name": "Lien", "email": "lien@free.fr", "consent_news_email": "yes"}],
            request_confirmations=True,
        )
    assert asked.confirmations_requested == 1 and asked.consents == 0
    pending = EmailConfirmation.objects.get()
    assert pending.email == "lien@free.fr" and pending.source == "import"
    assert [m.to for m in mailoutbox] == [["lien@free.fr"]]
    assert not queries.contactable("news_email").filter(last_name="Lien").exists()


def test_one_audit_row_per_import_without_personal_data(tenant: Any) -> None:
    run(
        [
            {"first_name": "Hélène", "last_name": "Dupré", "email": "h@free.fr"},
            {"last_name": "X", "email": "bad"},
        ]
    )
    event = AuditEvent.objects.get(action="customers.imported")
    assert event.data["created"] == 1 and event.data["bad_rows"] == 1 and event.data["rows"] == 2
    dumped = json.dumps(event.data)
    assert "Dupr" not in dumped and "h@free.fr" not in dumped


def test_unknown_columns_are_reported_once(tenant: Any) -> None:
    report = run([{"last_name": "A", "fax": "1"}, {"last_name": "B", "fax": "2"}])
    assert report.created == 2
    assert [(w.line, w.field) for w in report.warnings] == [(2, "fax")]


# The ``import_customers`` command now runs on the imports engine (cueillette.imports): its
# tests are in cueillette/imports/tests/test_customer_imports.py.


def test_subscribers_hear_the_rows_as_written(tenant: Any, django_assert_num_queries: Any) -> None:
    """An import's CUSTOMER_JOINED and CONSENT_CHANGED carry the instances the ORM would read
    back (every column as written, defaults included), built without a query: the event's
    customer is the joined customer itself and its wording is already loaded."""
    from django.forms.models import model_to_dict

    from cueillette.core import consequences
    from cueillette.core.consequences import Consequence, Fired, Phase

    heard: dict[str, list[Fired]] = {"joined": [], "consent": []}

    def joined(fired: Fired) -> None:
        heard["joined"].append(fired)

    def consent(fired: Fired) -> None:
        heard["consent"].append(fired)

    consequences.subscribe(Consequence.CUSTOMER_JOINED, joined, phase=Phase.IN_TRANSACTION)
    consequences.subscribe(Consequence.CONSENT_CHANGED, consent, phase=Phase.IN_TRANSACTION)
    try:
        report = run(
            [
                {
                    "last_name": "Roux",
                    "first_name": "Élise",
                    "phone": "0612345678",
                    "consent_news_sms": "yes",
                    "consent_profiling": "no",
                },
                {
                    "last_name": "Marin",
                    "email": "marin@laposte.net",
                    "language": "en",
                    "consent_loyalty": "yes",
                },
            ]
        )
    finally:
        consequences.unsubscribe(Consequence.CUSTOMER_JOINED, joined)
        consequences.unsubscribe(Consequence.CONSENT_CHANGED, consent)
    assert report.ok and report.created == 2 and report.consents == 3
    customers = [f.payload["customer"] for f in heard["joined"]]
    assert sorted(c.last_name for c in customers) == ["Marin", "Roux"]
    for c in customers:
        assert c.pk is not None and c._state.adding is False
        assert model_to_dict(c) == model_to_dict(Customer.objects.get(pk=c.pk))
        assert c.created_at == Customer.objects.get(pk=c.pk).created_at
    assert len(heard["consent"]) == 3
    for fired in heard["consent"]:
        event = fired.payload["event"]
        stored = ConsentEvent.objects.get(pk=event.pk)
        assert model_to_dict(event) == model_to_dict(stored)
        assert (event.occurred_at, event.recorded_at) == (stored.occurred_at, stored.recorded_at)
        assert fired.payload["customer"] is event.customer
        assert any(event.customer is c for c in customers)
        with django_assert_num_queries(0):
            assert event.wording.text_hash == stored.wording_hash
            assert event.customer.pk == stored.customer_id
