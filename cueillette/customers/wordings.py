"""Default consent wordings, in French and English, seeded for each new organization."""

from __future__ import annotations

DEFAULT_WORDINGS: dict[str, dict[str, str]] = {
    "news_email": {
        "fr": "J'accepte de recevoir les nouvelles de {org} par e-mail (au plus deux par mois). "
        "Je peux me désabonner à tout moment en un clic.",
        "en": "I agree to receive news from {org} by email (at most twice a month). "
        "I can unsubscribe at any time in one click.",
    },
    "news_sms": {
        "fr": "J'accepte de recevoir les nouvelles de {org} par SMS (au plus une fois par mois). "
        "Je peux répondre STOP à tout moment.",
        "en": "I agree to receive news from {org} by text message (at most once a month). "
        "I can reply STOP at any time.",
    },
    "loyalty": {
        "fr": "Je rejoins le programme de fidélité de {org} : mes achats et visites sont "
        "enregistrés pour me faire gagner des points.",
        "en": "I join the loyalty program of {org}: my purchases and visits are recorded so "
        "that I earn points.",
    },
    "profiling": {
        "fr": "J'accepte que {org} utilise mes achats et mes centres d'intérêt pour me faire "
        "des offres personnalisées.",
        "en": "I agree that {org} uses my purchases and interests to make me personalised offers.",
    },
    "community": {
        "fr": "J'accepte de recevoir par e-mail les réponses aux discussions que je suis sur la "
        "page communauté de {org}.",
        "en": "I agree to receive by email the replies to the discussions I follow on the "
        "community page of {org}.",
    },
    "feedback": {
        "fr": "J'accepte que {org} me demande de temps en temps mon avis sur ma visite "
        "(une question, au plus une fois par trimestre).",
        "en": "I agree that {org} occasionally asks for my opinion about my visit "
        "(one question, at most once a quarter).",
    },
}
