"""Default consent wordings, in French and English, seeded for each new organization.

French elides before a vowel: ``{de_org}`` gives "de Cabinet Martin" but "d'Épicerie
Voisine", ``{que_org}`` "que Cabinet Martin" but "qu'Épicerie Voisine" (see :func:`render`).
"""

from __future__ import annotations

import unicodedata

# Before these letters French writes d' and qu' ("d'Épicerie", "qu'Aurore"). An initial h is
# left alone: muet or aspiré depends on the word ("d'Hélène", "de Hangar 12").
_VOWELS = frozenset("aeiouyœæ")


def elides(name: str) -> bool:
    """Whether French elides "de"/"que" before ``name`` (first letter a vowel, accents ignored)."""
    first = name.strip()[:1]
    base = unicodedata.normalize("NFD", first)[:1].lower()
    return base in _VOWELS


def render(text: str, org_name: str) -> str:
    """A default wording with the organization's name in it."""
    name = org_name.strip()
    vowel = elides(name)
    return text.format(
        org=name,
        de_org=f"d'{name}" if vowel else f"de {name}",
        que_org=f"qu'{name}" if vowel else f"que {name}",
    )


DEFAULT_WORDINGS: dict[str, dict[str, str]] = {
    "news_email": {
        "fr": "J'accepte de recevoir les nouvelles {de_org} par e-mail (au plus deux par mois). "
        "Je peux me désabonner à tout moment en un clic.",
        "en": "I agree to receive news from {org} by email (at most twice a month). "
        "I can unsubscribe at any time in one click.",
    },
    "news_sms": {
        "fr": "J'accepte de recevoir les nouvelles {de_org} par SMS (au plus une fois par mois). "
        "Je peux répondre STOP à tout moment.",
        "en": "I agree to receive news from {org} by text message (at most once a month). "
        "I can reply STOP at any time.",
    },
    "loyalty": {
        "fr": "Je rejoins le programme de fidélité {de_org} : mes achats et visites sont "
        "enregistrés pour me faire gagner des points.",
        "en": "I join the loyalty program of {org}: my purchases and visits are recorded so "
        "that I earn points.",
    },
    "profiling": {
        "fr": "J'accepte {que_org} utilise mes achats et mes centres d'intérêt pour me faire "
        "des offres personnalisées.",
        "en": "I agree that {org} uses my purchases and interests to make me personalised offers.",
    },
    "community": {
        "fr": "J'accepte de recevoir par e-mail les réponses aux discussions que je suis sur la "
        "page communauté {de_org}.",
        "en": "I agree to receive by email the replies to the discussions I follow on the "
        "community page of {org}.",
    },
    "feedback": {
        "fr": "J'accepte {que_org} me demande de temps en temps mon avis sur ma visite "
        "(une question, au plus une fois par trimestre).",
        "en": "I agree that {org} occasionally asks for my opinion about my visit "
        "(one question, at most once a quarter).",
    },
}
