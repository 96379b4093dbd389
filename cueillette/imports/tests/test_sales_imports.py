"""Sales history imports through the CLI: Square (new and old exports) and a sales CSV."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.tests.factories import CustomerFactory
from cueillette.imports.models import ExternalCustomerId, ImportedSale, ImportIssue
from cueillette.loyalty import services as loyalty
from cueillette.loyalty.models import Card, Purchase

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    # The messages these tests read are the English ones (French is the default language).
    settings.LANGUAGE_CODE = "en"


def run(org: Any, name: str, *args: str) -> tuple[str, dict[str, int]]:
    out = StringIO()
    call_command(
        "import_sales",
        org.slug,
        str(FIXTURES / name),
        "--quiet",
        *args,
        stdout=out,
        stderr=StringIO(),
    )
    last = out.getvalue().strip().splitlines()[-1]
    return out.getvalue(), {k: int(v) for k, v in (p.split("=") for p in last.split())}


def customers(org: Any) -> tuple[Any, Any]:
    helene = CustomerFactory(
        organization=org, email="helene@example.org", first_name="Hélène", last_name="Dupré"
    )
    bruno = CustomerFactory(
        organization=org, email="bruno@example.org", phone="+33698765432", first_name="Bruno"
    )
    with tenancy.tenant_context(org):
        ExternalCustomerId.objects.create(customer=helene, system="square", external_id="SQ-CUST-1")
    return helene, bruno


def test_square_transactions(org: Any) -> None:
    helene, bruno = customers(org)
    with tenancy.tenant_context(org):
        card = loyalty.join_program(bruno, actor=Actor.system())
        Card.objects.filter(pk=card.pk).update(number="900000000017")
    text, s = run(org, "items-2024-03-01-2024-04-01.csv")
    assert s == {
        "rows": 7,
        "purchases": 4,
        "refunds": 2,
        "matched": 3,
        "unmatched": 3,
        "skipped": 0,
        "bad": 1,
    }
    assert "douze is not an amount" in text
    assert "a sale is never matched by name" in text
    with tenancy.tenant_context(org):
        tx1 = ImportedSale.objects.get(row_key__startswith="square:TX1:P1")
        assert (
            tx1.customer == helene
            and tx1.amount == Decimal("12.50")
            and tx1.matched_by == "external_id"
        )
        assert tx1.occurred_at == dt.datetime(2024, 3, 14, 9, 2, 11, tzinfo=dt.UTC)
        refund = ImportedSale.objects.get(row_key__startswith="square:TX1:R1")
        assert refund.kind == "refund" and refund.amount == Decimal("12.50")
        tx2 = ImportedSale.objects.get(transaction_id="TX2")
        assert tx2.customer == bruno and tx2.matched_by == "card" and tx2.amount == Decimal("30.00")
        assert ImportedSale.objects.get(transaction_id="TX4").kind == "refund"
        assert ImportedSale.objects.get(transaction_id="TX6").amount == Decimal("1234.50")
        marie = ImportedSale.objects.get(transaction_id="TX3")
        assert marie.customer is None  # a name alone never matches
        assert not Purchase.objects.exists()  # no points unless the owner chooses
    _t, again = run(org, "items-2024-03-01-2024-04-01.csv")
    assert again["purchases"] == 0 and again["skipped"] == 6


def test_award_points_goes_through_loyalty_once(org: Any) -> None:
    _helene, bruno = customers(org)
    with tenancy.tenant_context(org):
        card = loyalty.join_program(bruno, actor=Actor.system())
        Card.objects.filter(pk=card.pk).update(number="900000000017")
    run(org, "items-2024-03-01-2024-04-01.csv", "--award-points")
    run(org, "items-2024-03-01-2024-04-01.csv", "--award-points")
    with tenancy.tenant_context(org):
        purchase = Purchase.objects.get()
        assert purchase.card_id == card.pk and purchase.amount == Decimal("30.00")
        assert purchase.receipt_id.startswith("import-square:TX2")
        assert ImportedSale.objects.get(transaction_id="TX2").purchase == purchase


def test_old_square_export_and_generic_sales(org: Any) -> None:
    customers(org)
    _t, s = run(org, "transactions-old.csv")
    assert s["purchases"] == 1 and s["unmatched"] == 1
    with tenancy.tenant_context(org):
        old = ImportedSale.objects.get(transaction_id="OLD1")
        assert old.amount == Decimal("12.50") and old.occurred_at.day == 21
    text, s = run(org, "ventes.csv")
    assert s == {
        "rows": 4,
        "purchases": 2,
        "refunds": 1,
        "matched": 2,
        "unmatched": 1,
        "skipped": 0,
        "bad": 1,
    }
    assert "the amount is missing" in text
    with tenancy.tenant_context(org):
        assert ImportedSale.objects.get(transaction_id="T-1").matched_by == "email"
        t2 = ImportedSale.objects.get(transaction_id="T-2")
        assert t2.kind == "refund" and t2.matched_by == "phone" and t2.amount == Decimal("3.00")
        assert ImportIssue.objects.filter(code="name_only").count() == 2
