"""At the till, on a tablet: find a customer by phone, register a new one with oral consents."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from cueillette.accounts.models import Role
from cueillette.core import tenancy
from cueillette.customers.models import ConsentEvent, Customer, Source

from .conftest import TABLET, Site, login

pytestmark = pytest.mark.browser


def _label(text: Any) -> str:
    """A lazily translated label as the French page renders it (catalog or English msgid)."""
    with translation.override("fr"):
        return str(text)


def test_counter_staff_finds_and_registers_customers(
    site: Site, make_staff: Any, make_customer: Any
) -> None:
    lea = make_staff(Role.COUNTER, full_name="Léa Petit", email="lea@lumiere.example")
    regular = make_customer(lea.org, first_name="Inès", last_name="Moreau", phone="+33612345678")
    make_customer(
        lea.org,
        first_name="Paul",
        last_name="Durand",
        phone="+33698765432",
        email="paul@example.net",
    )

    page = site.new_page(viewport=TABLET, has_touch=True)
    login(page, site, lea.email)
    assert page.url == site("loyalty:counter"), "counter staff land on the counter"
    page.goto(site("web:home"))

    # Find the regular by the phone number as she says it.
    search = page.locator("main form[role=search] input[name=q]").first
    search.fill("06 12 34 56 78")
    with page.expect_navigation():
        search.press("Enter")
    results = page.locator("main").inner_text()
    assert "Moreau" in results, results
    assert "Durand" not in results, results
    page.locator(f"main a[href='{reverse('customers:detail', args=[regular.pk])}']").first.click()
    page.wait_for_url(site("customers:detail", pk=regular.pk))

    # Register a newcomer at the counter with what they said out loud.
    page.goto(site("web:home"))
    page.locator(f"main a[href='{reverse('customers:create')}']").first.click()
    page.wait_for_url(site("customers:create"))
    form = page.locator("form:has(input[name=first_name])")
    boxes = form.locator("input[type=checkbox]")
    assert boxes.count() >= 2
    assert form.locator("input[type=checkbox]:checked").count() == 0, "nothing is pre-ticked"
    form.locator("[name=first_name]").fill("Chloé")
    form.locator("[name=last_name]").fill("Lambert")
    form.locator("[name=phone]").fill("06 71 22 33 44")
    form.locator("details.register-form__more summary").click()  # the optional part
    form.locator("[name=postal_code]").fill("69003")
    form.locator("input[name=consent_loyalty]").check()
    form.locator("input[name=consent_news_sms]").check()
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()

    assert "/new/" not in page.url, "registration refused:\n" + page.locator("main").inner_text()
    with tenancy.tenant_context(lea.org):
        chloe = Customer.objects.get(last_name="Lambert")
        granted = set(
            ConsentEvent.objects.filter(customer=chloe, granted=True).values_list(
                "purpose", "source"
            )
        )
    assert chloe.source == Source.COUNTER
    assert chloe.phone == "+33671223344"
    assert granted == {("loyalty", "counter"), ("news_sms", "counter")}

    # She joined the loyalty program: the counter opens on her new card, ready for a purchase.
    with tenancy.tenant_context(lea.org):
        card = chloe.cards.get()
    assert page.url == site("loyalty:counter_card", pk=card.pk), page.url
    # Her page says where she was registered and who recorded her consents.
    page.goto(site("customers:detail", pk=chloe.pk))
    text = page.locator("main").inner_text()
    assert "Chloé" in text and "Lambert" in text
    assert _label(Source.COUNTER.label) in text, text
    assert "Léa Petit" in text, text
