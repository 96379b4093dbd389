"""Customer imports through the CLI, in every layout, with the real export files' bytes."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from cueillette.core import tenancy
from cueillette.customers.models import ConsentEvent, Customer
from cueillette.customers.services import has_consent
from cueillette.imports.models import ExternalCustomerId, Import, ImportIssue, Suppression

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    # The messages these tests read are the English ones (French is the default language).
    settings.LANGUAGE_CODE = "en"


def run(org: Any, name: str, *args: str) -> tuple[str, dict[str, int]]:
    out, err = StringIO(), StringIO()
    call_command(
        "import_customers", org.slug, str(FIXTURES / name), "--quiet", *args, stdout=out, stderr=err
    )
    text = out.getvalue()
    last = text.strip().splitlines()[-1]
    summary = {k: int(v) for k, v in (part.split("=") for part in last.split())}
    return text, summary


def test_mailchimp_subscribed_keeps_double_opt_in_and_real_reasons(org: Any) -> None:
    text, s = run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    assert s == {
        "rows": 8, "created": 5, "updated": 0, "merged": 1, "skipped": 0, "bad": 2,
        "consent_entries": 4, "withdrawals": 0, "suppressed": 0,
    }  # fmt: skip
    assert "line 6, Email Address: email is not valid: missing @" in text
    assert "phone is not valid: too short for FR" in text
    assert "13/45" not in text or "not a day" in text or "not a date" in text
    assert "07 00 00 00 01" not in text  # reported in E.164
    assert "+33700000001 has the right number of digits" in text
    assert "wrong number of digits" not in text
    assert "news by email not recorded: the file gives no date" in text
    with tenancy.tenant_context(org):
        camille = Customer.objects.get(email="camille.roux@example.org")
        assert camille.phone == "+33612345678"
        assert (camille.birthday.month, camille.birthday.day) == (7, 13)
        assert camille.postal_code == "01000"
        assert camille.tags == ["vip", "bio"]
        grant = ConsentEvent.objects.get(customer=camille, purpose="news_email")
        assert grant.granted and grant.source == "import"
        assert grant.evidence["basis"] == "double-opt-in"
        assert grant.evidence["double_opt_in_confirmed_at"].startswith("2023-03-14T09:15:02")
        assert grant.evidence["optin_ip"] == "203.0.113.7"
        assert grant.evidence["note"].startswith("imported from Mailchimp on ")
        assert grant.occurred_at.year == 2023
        # Case-only duplicates are one person.
        anne = Customer.objects.get(email="anne.martin@example.org")
        assert anne.notes == "préfère le vrac"
        assert Customer.objects.filter(email__iexact="anne.martin@example.org").count() == 1
        assert ExternalCustomerId.objects.filter(system="mailchimp", customer=camille).exists()
    assert mail.outbox == []


def test_no_basis_means_no_consent(org: Any) -> None:
    text, s = run(org, "subscribed_members_export_2a3f9c.csv")
    assert s["created"] == 5 and s["consent_entries"] == 0
    assert "not recorded: no basis was stated" in text
    with tenancy.tenant_context(org):
        assert not ConsentEvent.objects.exists()


def test_unsubscribed_and_cleaned_win_whatever_the_order(org: Any) -> None:
    _t, s1 = run(org, "unsubscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    assert s1["withdrawals"] == 2 and s1["created"] == 2
    _t, s2 = run(org, "cleaned_members_export_2a3f9c.csv")
    assert s2["suppressed"] == 2
    _t, s3 = run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    # Hugo unsubscribed and Léo bounced: the subscribed file does not grant them again.
    assert s3["consent_entries"] == 2
    with tenancy.tenant_context(org):
        hugo = Customer.objects.get(email="hugo.blanc@example.org")
        leo = Customer.objects.get(email="leo.petit@example.org")
        assert not has_consent(hugo, "news_email")
        assert not has_consent(leo, "news_email")
        assert Suppression.objects.filter(email="leo.petit@example.org", reason="cleaned").exists()
        withdrawal = ConsentEvent.objects.get(customer=hugo, purpose="news_email")
        assert withdrawal.evidence["unsub_reason"] == "Trop d'e-mails"
        assert ImportIssue.objects.filter(code="consent_withdrawn_wins").exists()


def test_subscribed_then_unsubscribed_withdraws(org: Any) -> None:
    run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    _t, s = run(org, "unsubscribed_members_export_2a3f9c.csv")
    assert s["withdrawals"] == 2 and s["created"] == 1 and s["updated"] == 1
    with tenancy.tenant_context(org):
        assert not has_consent(Customer.objects.get(email="hugo.blanc@example.org"), "news_email")
        assert has_consent(Customer.objects.get(email="camille.roux@example.org"), "news_email")


def test_rerun_changes_nothing(org: Any) -> None:
    run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    _t, s = run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    assert s["created"] == 0 and s["updated"] == 0 and s["consent_entries"] == 0
    assert s["skipped"] == 5 and s["merged"] == 1
    with tenancy.tenant_context(org):
        assert Customer.objects.count() == 5
        assert ConsentEvent.objects.count() == 4


def test_old_mailchimp_headers_with_bom(org: Any) -> None:
    _t, s = run(
        org, "subscribed_email_audience_export_7b1e.csv", "--consent-basis", "double-opt-in"
    )
    assert s["created"] == 1 and s["consent_entries"] == 1
    with tenancy.tenant_context(org):
        marc = Customer.objects.get(email="marc.old@example.org")
        assert (marc.first_name, marc.last_name, marc.phone) == ("Marc", "Ancien", "+33611223344")


def test_shopify_export(org: Any) -> None:
    text, s = run(org, "customers_export.csv", "--consent-basis", "single-opt-in")
    assert s["rows"] == 5 and s["created"] == 3 and s["merged"] == 1 and s["bad"] == 1
    # Single opt-in records SMS consent, never news by email (it needs a confirmed address).
    assert s["consent_entries"] == 1
    assert "news by email needs the address confirmed" in text
    assert "email is not valid: the domain example has no dot" in text
    with tenancy.tenant_context(org):
        helene = Customer.objects.get(email="helene@example.org")
        assert helene.postal_code == "01000" and helene.phone == "+33612345670"
        assert helene.notes == "Allergique aux noix\nvient le samedi"
        ext = ExternalCustomerId.objects.get(customer=helene, external_id="7001")
        assert ext.external_id == "7001" and ext.data == {
            "total_spent": "120.50",
            "total_orders": "3",
        }
        bruno = Customer.objects.get(email="bruno@example.org")
        assert bruno.postal_code == "01200"  # restored
        assert has_consent(bruno, "news_sms") and not has_consent(bruno, "news_email")
        dan = Customer.objects.get(email="dan@example.com")
        assert dan.phone == "+442079460958" and dan.postal_code == "SW1A 1AA"
        assert ImportIssue.objects.filter(code="postal_code_restored", line=3).exists()


def test_shopify_accepts_marketing_no_is_never_a_grant(org: Any) -> None:
    run(org, "customers_export.csv", "--consent-basis", "double-opt-in")
    with tenancy.tenant_context(org):
        bruno = Customer.objects.get(email="bruno@example.org")
        assert not ConsentEvent.objects.filter(customer=bruno, purpose="news_email").exists()


def test_french_excel_file_needs_no_options(org: Any) -> None:
    _t, s = run(org, "customers_export_excel_fr.csv", "--consent-basis", "single-opt-in")
    assert s["created"] == 3 and s["bad"] == 1
    imp = Import.objects.unscoped().get(organization=org)
    assert (imp.encoding, imp.delimiter, imp.layout) == ("cp1252", ";", "shopify")
    with tenancy.tenant_context(org):
        helene = Customer.objects.get(email="helene@example.org")
        assert (helene.first_name, helene.last_name) == ("Hélène", "Dupré")
        assert helene.notes == "Allergique aux noix – paie en €"
        assert helene.postal_code == "01000"
        ext = ExternalCustomerId.objects.get(customer=helene, external_id="7001")
        assert ext.data["total_spent"] == "120.50"


def test_old_shopify_headers(org: Any) -> None:
    _t, s = run(org, "customers_export_old.csv")
    assert s["created"] == 1
    with tenancy.tenant_context(org):
        odile = Customer.objects.get(email="odile@example.org")
        assert odile.postal_code == "75011" and odile.phone == "+33140000000"


def test_spreadsheet_with_broken_rows(org: Any) -> None:
    text, s = run(org, "clients_tableur.csv", "--consent-basis", "paper")
    # Aurélie, Bastien (+ his case-only duplicate merged), Court Rang (short row, read as empty)
    assert s["created"] == 3 and s["merged"] == 1
    assert "line 6" in text and "10 cells, the header 8" in text  # too long: refused
    assert "31/02 is not a day of the calendar" in text or "is not a day" in text
    assert "the file ends in the middle of this row" in text
    assert s["bad"] == 3
    with tenancy.tenant_context(org):
        aurelie = Customer.objects.get(email="aurelie@example.org")
        assert aurelie.postal_code == "06000"
        assert aurelie.birthday.isoformat() == "1985-07-13"
        assert aurelie.notes == "Aime le thé\r\net les fleurs"
        assert has_consent(aurelie, "loyalty")
        ev = ConsentEvent.objects.get(customer=aurelie)
        assert ev.evidence["basis"] == "paper"
        # The loyalty consent is the membership, whatever the door: the import issued her card.
        from cueillette.loyalty.services import open_card_for

        assert open_card_for(aurelie) is not None
        bastien = Customer.objects.get(email="bastien@example.org")
        assert bastien.phone == "+33612345672"  # filled from the merged row
        assert not has_consent(bastien, "loyalty")
        assert not Customer.objects.filter(last_name="Fin").exists()


def test_dry_run_writes_nothing(org: Any) -> None:
    text, s = run(
        org, "subscribed_members_export_2a3f9c.csv", "--dry-run", "--consent-basis", "double-opt-in"
    )
    assert "dry run: nothing written" in text
    assert s["created"] == 5 and s["merged"] == 1 and s["bad"] == 2 and s["consent_entries"] == 4
    with tenancy.tenant_context(org):
        assert not Customer.objects.exists()
        assert not ConsentEvent.objects.exists()


def test_import_never_touches_another_organization(org: Any, other_org: Any) -> None:
    run(other_org, "unsubscribed_members_export_2a3f9c.csv")
    run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    with tenancy.tenant_context(org):
        hugo = Customer.objects.get(email="hugo.blanc@example.org")
        assert has_consent(hugo, "news_email")  # the other organization's withdrawal is theirs
    with tenancy.tenant_context(other_org):
        assert Customer.objects.count() == 2
        assert not Customer.objects.filter(email="camille.roux@example.org").exists()


def test_format_can_be_forced_and_errors_are_plain(org: Any, tmp_path: Path) -> None:
    empty = tmp_path / "vide.csv"
    empty.write_text("")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="the file is empty"):
        call_command("import_customers", org.slug, str(empty), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="no organization"):
        call_command("import_customers", "nope-nope", str(empty))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_customers", org.slug, str(tmp_path / "x.csv"))


def test_a_cleaned_row_reaches_the_send_gates_list(org: Any) -> None:
    """The gate reads one suppression list: an address Mailchimp cleaned gets nothing more,
    whatever consent says (transactional mail excepted)."""
    from cueillette.messaging import gate
    from cueillette.messaging.models import Suppression as GateSuppression

    run(org, "subscribed_members_export_2a3f9c.csv", "--consent-basis", "double-opt-in")
    run(org, "cleaned_members_export_2a3f9c.csv")
    with tenancy.tenant_context(org):
        row = GateSuppression.objects.get(address="leo.petit@example.org")
        assert row.reason == "cleaned_import" and "cleaned_members_export" in row.detail
        leo = Customer.objects.get(email="leo.petit@example.org")
        decision = gate.request_message(
            gate.Message(
                kind="campaign", klass="marketing", subject="Nouveautés", text="…",
                customer=leo, purposes=("news_email",),
            )
        )  # fmt: skip
        assert decision.status != "sent" and "suppress" in decision.reason
    # Running the cleaned file again adds nothing twice.
    run(org, "cleaned_members_export_2a3f9c.csv")
    with tenancy.tenant_context(org):
        assert GateSuppression.objects.filter(address="leo.petit@example.org").count() == 1
