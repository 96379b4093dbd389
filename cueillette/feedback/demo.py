"""A year of NPS surveys for the demo businesses (called by ``manage.py load_demo``).

Surveys follow the same rules as the sending task: after a purchase or visit recorded on a
loyalty card, to customers whose FEEDBACK consent is current, sampled, never two within the
interval; about a third are answered, with French comments; recent detractors wait in the
follow-up list, older ones were contacted or resolved by the owner.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cueillette.accounts.models import Membership, Role
from cueillette.core.models import Organization
from cueillette.core.tokens import hash_token, new_token
from cueillette.customers.models import ConsentEvent, Purpose
from cueillette.customers.queries import contactable
from cueillette.feedback import services
from cueillette.feedback.models import CameFrom, FollowUp, Survey, SurveySettings
from cueillette.loyalty.models import Purchase

CONFIG: dict[str, dict[str, Any]] = {
    "cabinet-martin": {
        "settings": {"delay_hours": 24, "sampling_rate": 100, "min_days_between": 90},
        # Weights of the scores 0..10: a practice most patients like.
        "weights": [1, 1, 1, 2, 2, 3, 4, 8, 14, 26, 38],
        "comments": {
            "promoter": [
                "Très à l'écoute, je me sens beaucoup mieux après trois séances.",
                "Mes migraines ont nettement diminué. Merci !",
                "Cabinet calme, ponctuel, explications claires. Je recommande.",
                "J'avais peur des aiguilles, tout s'est très bien passé.",
                "Enfin quelqu'un qui prend le temps d'expliquer.",
                "J'y ai envoyé ma sœur et ma collègue, elles sont ravies aussi.",
                "Mon sommeil s'est amélioré dès la deuxième séance.",
            ],
            "passive": [
                "Bonne séance, mais difficile d'avoir un rendez-vous le soir.",
                "Efficace, un peu cher tout de même.",
                "Bien, j'attends de voir les effets sur la durée.",
                "Accueil agréable, salle d'attente un peu froide l'hiver.",
            ],
            "detractor": [
                "Rendez-vous décalé deux fois au dernier moment.",
                "J'ai attendu 35 minutes alors que j'étais à l'heure.",
                "Pas d'amélioration après quatre séances, et peu d'explications.",
                "Le prix a augmenté sans prévenir.",
                "On m'a facturé une séance annulée 48 h à l'avance.",
            ],
        },
    },
    "epicerie-voisine": {
        "settings": {"delay_hours": 6, "sampling_rate": 35, "min_days_between": 90},
        "weights": [2, 1, 2, 3, 3, 5, 7, 12, 18, 22, 25],
        "comments": {
            "promoter": [
                "Les meilleurs fromages du quartier, et toujours un bon conseil.",
                "Marc connaît tous ses producteurs, ça se sent.",
                "Le pain du vendredi est une tuerie.",
                "Accueil chaleureux, on se sent comme à la maison.",
                "Produits locaux, prix honnêtes, rien à redire.",
                "Je fais toutes mes courses ici depuis l'ouverture.",
                "Le panier de légumes de saison est génial.",
            ],
            "passive": [
                "Bons produits mais un peu cher pour un budget étudiant.",
                "Dommage que ce soit fermé le lundi.",
                "Rayon vrac un peu vide en fin de semaine.",
                "Bien, mais l'attente en caisse le samedi matin est longue.",
            ],
            "detractor": [
                "Fromage périmé vendu au rayon coupe, très déçu.",
                "Caissier désagréable samedi, je n'ai pas compris pourquoi.",
                "Plus de pain à 18 h deux soirs de suite.",
                "Points de fidélité pas crédités sur mon dernier achat.",
                "Les prix ont beaucoup augmenté depuis la rentrée.",
            ],
        },
    },
}
ANSWER_RATE = 0.5
COMMENT_RATE = {"promoter": 0.45, "passive": 0.4, "detractor": 0.85}
NOTES = {
    FollowUp.CONTACTED: [
        "Appelé(e), a apprécié qu'on rappelle. Doit repasser.",
        "Message laissé, rappel prévu jeudi.",
        "Échange par e-mail, excuses présentées.",
    ],
    FollowUp.RESOLVED: [
        "Appelé(e) : geste commercial (bon de 10 €), client(e) satisfait(e).",
        "Problème d'horaires réglé : créneaux du soir ajoutés.",
        "Points recrédités à la main, client(e) remercié(e).",
        "Rencontré(e) en boutique, malentendu dissipé.",
    ],
}


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    config = CONFIG.get(org.slug)
    if config is None:
        return
    settings_row = services.get_settings()
    SurveySettings.objects.filter(pk=settings_row.pk).update(**config["settings"])
    settings_row.refresh_from_db()
    owner = (
        Membership.objects.filter(role=Role.OWNER).select_related("user").first()
    )  # the demo's owner follows detractors up
    by_id = {c["id"]: c for c in customers}
    consenting = set(contactable(Purpose.FEEDBACK).values_list("pk", flat=True))
    grants: dict[int, ConsentEvent] = {}
    for event in ConsentEvent.objects.filter(
        customer_id__in=consenting, purpose=Purpose.FEEDBACK, granted=True
    ).order_by("occurred_at", "id"):
        grants[event.customer_id] = event  # the latest grant
    start = now - dt.timedelta(days=365)
    delay = dt.timedelta(hours=settings_row.delay_hours)
    window = dt.timedelta(days=settings_row.min_days_between)
    rows: list[Survey] = []
    invited: set[int] = set()
    purchases = (
        Purchase.objects.filter(
            card__customer_id__in=list(grants), occurred_at__gte=start, occurred_at__lt=now - delay
        )
        .select_related("card")
        .order_by("occurred_at", "id")
    )
    last_sent: dict[int, dt.datetime] = {}
    for p in purchases:
        customer_id = p.card.customer_id
        consent = grants[customer_id]
        sent_at = p.occurred_at + delay
        if consent.occurred_at > p.occurred_at or not by_id.get(customer_id, {}).get("email"):
            continue
        if not services.sampled(org.pk, p.pk, settings_row.sampling_rate):
            continue
        if customer_id in last_sent and sent_at - last_sent[customer_id] < window:
            continue
        last_sent[customer_id] = sent_at
        heard = by_id[customer_id].get("heard_from") or ""
        survey = Survey(
            organization=org,
            customer_id=customer_id,
            purchase=p,
            consent=consent,
            sent_at=sent_at,
            token_hash=hash_token(new_token()),
            expires_at=sent_at + dt.timedelta(days=settings_row.link_validity_days),
            language=by_id[customer_id].get("language") or "fr",
            tier_code=p.card.tier_code,
            came_from=heard if heard in CameFrom.values else CameFrom.OTHER,
        )
        if rng.random() < ANSWER_RATE:
            answered = sent_at + dt.timedelta(hours=rng.uniform(0.2, 60))
            if answered < now:
                _answer(survey, answered, config, rng, now, owner, invited)
        rows.append(survey)
    # A few detractors always wait in the follow-up list: the most recent ones.
    detractors = [s for s in rows if s.score is not None and s.score <= 6]
    for survey in detractors[-2:]:
        survey.follow_up = FollowUp.TO_CONTACT
        survey.follow_up_note = ""
        survey.follow_up_by = None
        survey.follow_up_at = None
    Survey.objects.bulk_create(rows, batch_size=1000)


def _answer(
    survey: Survey,
    answered: dt.datetime,
    config: dict[str, Any],
    rng: random.Random,
    now: dt.datetime,
    owner: Membership | None,
    invited: set[int],
) -> None:
    score = rng.choices(range(11), weights=config["weights"])[0]
    category = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    survey.answered_at = answered
    survey.score = score
    if rng.random() < COMMENT_RATE[category]:
        survey.comment = rng.choice(config["comments"][category])
    if category == "promoter" and survey.customer_id not in invited:
        invited.add(survey.customer_id)
        survey.promoter_invited_at = answered
    if category != "detractor":
        return
    age = now - answered
    if age < dt.timedelta(days=21):
        survey.follow_up = FollowUp.TO_CONTACT
        return
    status = FollowUp.RESOLVED if rng.random() < 0.75 else FollowUp.CONTACTED
    if age < dt.timedelta(days=30) and rng.random() < 0.5:
        status = FollowUp.CONTACTED
    survey.follow_up = status
    survey.follow_up_note = rng.choice(NOTES[status])
    survey.follow_up_by = owner.user if owner else None
    survey.follow_up_at = answered + dt.timedelta(hours=rng.uniform(4, 96))
