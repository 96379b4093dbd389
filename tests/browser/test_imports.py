"""Moving in: the owner uploads the Shopify export a French Excel saved (Windows-1252, ';',
CRLF, decimal comma), states how people agreed, checks the file, imports it, reads the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cueillette.core import tenancy
from cueillette.customers.models import ConsentEvent, Customer

from .conftest import Site, login

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[2] / "cueillette" / "imports" / "tests" / "fixtures"


def test_owner_imports_a_french_excel_file(site: Site, boss: Any) -> None:
    page = site.new_page()
    login(page, site, boss.email)
    page.goto(site("customers:import"))  # the old address leads to the new pages
    page.wait_for_url(site("imports:index"))
    page.locator("#kind-customers").check()
    page.locator("#import-file").set_input_files(str(FIXTURES / "customers_export_excel_fr.csv"))
    with page.expect_navigation():
        page.locator("main form[enctype='multipart/form-data'] button[type=submit]").click()
    main = page.locator("main")
    text = main.inner_text()
    assert "cp1252" in text and "Hélène" in text, text  # read right, previewed
    # Nothing is chosen for the consent columns: the check is refused with the reason in place.
    check = page.locator("form[action$='/check/'] button[type=submit]")
    with page.expect_navigation():
        check.click()
    assert page.locator("fieldset.field--invalid").count() == 2
    assert page.locator("[aria-invalid='true']").count() > 0
    # Email marketing was double opt-in in Shopify; SMS a box ticked at checkout.
    page.locator("input[name=basis_0][value='double-opt-in']").check()
    page.locator("input[name=basis_1][value='single-opt-in']").check()
    with page.expect_navigation():
        check.click()
    page.wait_for_selector("form[action$='/start/']")
    report = main.inner_text()
    # The reason, in the page's language (French here).
    assert "le domaine example n'a pas de point" in report, report
    with tenancy.tenant_context(boss.org):
        assert not Customer.objects.exists()  # the check wrote nothing
    with page.expect_navigation():
        page.locator("form[action$='/start/'] button").click()
    page.wait_for_selector("#report-h")
    done = main.inner_text()
    assert "3" in done and ("Imported" in done or "Importé" in done), done
    with tenancy.tenant_context(boss.org):
        helene = Customer.objects.get(email="helene@example.org")
        assert helene.first_name == "Hélène" and helene.postal_code == "01000"
        assert ConsentEvent.objects.filter(purpose="news_sms", granted=True).count() == 1
    # Back on the list, the import is there.
    page.goto(site("imports:index"))
    assert "customers_export_excel_fr.csv" in main.inner_text()
