"""Default consent wordings read correctly in French whatever the business's name."""

from __future__ import annotations

import pytest

from cueillette.core.tests.factories import OrganizationFactory
from cueillette.customers.models import ConsentWording
from cueillette.customers.wordings import DEFAULT_WORDINGS, elides, render


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Épicerie Voisine", True),
        ("atelier Rose", True),
        ("Yoga du Lac", True),
        ("Œil de Lynx", True),
        ("Cabinet Martin", False),
        ("Hélène Coiffure", False),  # h: left alone, "de Hélène" is rare but never wrong-looking
        ("123 Pizza", False),
        ("", False),
    ],
)
def test_elision(name: str, expected: bool) -> None:
    assert elides(name) is expected


def test_render_elides_de_and_que_in_french_only() -> None:
    fr = render(DEFAULT_WORDINGS["news_email"]["fr"], "Épicerie Voisine")
    assert "les nouvelles d'Épicerie Voisine par e-mail" in fr
    fr = render(DEFAULT_WORDINGS["feedback"]["fr"], "Épicerie Voisine")
    assert fr.startswith("J'accepte qu'Épicerie Voisine me demande")
    fr = render(DEFAULT_WORDINGS["profiling"]["fr"], "Cabinet Martin")
    assert fr.startswith("J'accepte que Cabinet Martin utilise")
    en = render(DEFAULT_WORDINGS["news_email"]["en"], "Épicerie Voisine")
    assert "news from Épicerie Voisine by email" in en
    # A name with braces is text, not a template.
    assert "de {x} Bar" in render(DEFAULT_WORDINGS["loyalty"]["fr"], "{x} Bar")


@pytest.mark.django_db
def test_a_new_organization_gets_wordings_without_de_before_a_vowel() -> None:
    org = OrganizationFactory(name="Épicerie Voisine", slug="epicerie-v")
    texts = list(
        ConsentWording.objects.unscoped()  # reading one given organization's seed
        .filter(organization=org, language="fr")
        .values_list("text", flat=True)
    )
    assert len(texts) == len(DEFAULT_WORDINGS)
    assert not [t for t in texts if "de Épicerie" in t or "que Épicerie" in t]
    assert any("d'Épicerie Voisine" in t for t in texts)
