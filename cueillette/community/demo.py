# ruff: noqa: E501  (demo content: one post per line reads best)
"""Demo community pages (called by ``manage.py load_demo`` for each demo business).

Realistic French posts (a few in English) written through the services, so that versions,
sentiment, the moderation log and the audit log are what real use would leave: reviews with
stars, questions, suggestions and complaints; public replies after a few hours or days; one
fault acknowledged ("we got this wrong"), one complaint resolved with what was done, one spam
post hidden (its placeholder shows), one post hidden for an insult whose author appealed.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cueillette.accounts.models import Membership, Role
from cueillette.community import notify, services
from cueillette.community.models import HideReason, Post
from cueillette.core.models import Organization
from cueillette.customers.models import Customer, CustomerStatus

# (kind, stars, text, reply or "")
Item = tuple[str, int | None, str, str]

COMMON: list[Item] = [
    ("review", 5, "Accueil chaleureux, on se sent tout de suite à l'aise. Merci !", "Merci beaucoup, à bientôt !"),
    ("review", 4, "Très bien dans l'ensemble, juste un peu d'attente le samedi.", "Merci ! Le samedi est notre jour le plus chargé, nous renforçons l'équipe."),
    ("question", None, "Est-ce que vous acceptez les tickets restaurant ou les chèques vacances ?", "Bonjour, les tickets restaurant oui, les chèques vacances non pour l'instant."),
    ("question", None, "Vous êtes ouverts le lundi de Pâques ?", "Bonjour, oui, de 9 h à 13 h."),
    ("suggestion", None, "Ce serait pratique de pouvoir payer sans contact dès 1 €.", "Bonne idée, c'est fait depuis cette semaine."),
    ("complaint", 2, "Personne au téléphone pendant deux jours, c'est agaçant.", "Vous avez raison, notre ligne était en panne. Elle est réparée."),
    ("review", 5, "Toujours un plaisir, l'équipe est aux petits soins.", ""),
    ("review", 3, "Correct, sans plus. Les prix ont un peu augmenté.", "Merci pour votre franchise : nos fournisseurs ont augmenté, nous avons limité la hausse."),
    ("question", None, "Y a-t-il un parking à proximité ?", "Oui, le parking de la place est gratuit la première demi-heure."),
    ("review", 5, "Great place, very friendly staff. Highly recommend!", "Thank you so much!"),
    ("review", 4, "Nice atmosphere but a bit pricey.", ""),
    ("suggestion", None, "Pourquoi pas une newsletter avec les nouveautés du mois ?", ""),
    ("review", 5, "Rien à redire, parfait comme d'habitude.", ""),
    ("complaint", 1, "Accueil désagréable ce matin, je ne reviendrai pas.", ""),
    ("review", 4, "Bon rapport qualité-prix, je recommande.", ""),
]  # fmt: skip

BY_ORG: dict[str, list[Item]] = {
    "cabinet-martin": [
        ("review", 5, "Mes migraines ont nettement diminué après quatre séances. Claire prend le temps d'expliquer.", "Merci pour ce retour, ravie que cela vous aide."),
        ("review", 5, "Cabinet calme et propre, on se détend dès la salle d'attente.", ""),
        ("review", 4, "Séance efficace pour mon dos, mais difficile d'avoir un rendez-vous rapidement.", "Merci ! Nous ouvrons deux créneaux de plus le jeudi soir."),
        ("question", None, "Est-ce que les séances sont remboursées par les mutuelles ?", "Bonjour, beaucoup de mutuelles remboursent une partie : je vous donne une facture à chaque séance."),
        ("question", None, "Peut-on venir pendant la grossesse ?", "Oui, l'acupuncture est tout à fait possible pendant la grossesse, à partir du deuxième trimestre."),
        ("suggestion", None, "Un rappel par SMS la veille du rendez-vous serait bien pratique.", "C'est noté, nous regardons les outils possibles."),
        ("complaint", 2, "Rendez-vous annulé le matin même sans explication, j'avais posé ma demi-journée.", ""),
        ("review", 5, "J'ai arrêté de fumer après trois séances. Je n'y croyais pas !", "Bravo à vous, c'est surtout votre détermination !"),
        ("review", 3, "Pas d'effet sur mes insomnies pour l'instant, mais l'écoute est bonne.", "Merci, il faut parfois quelques séances de plus : parlons-en à la prochaine."),
        ("question", None, "Combien de temps dure une première séance ?", "Environ une heure, le temps de faire le point ensemble."),
        ("review", 5, "Très à l'écoute, aucune douleur, je recommande vivement.", ""),
        ("complaint", 2, "La salle d'attente était froide en janvier, on grelottait.", ""),
        ("suggestion", None, "Proposer des ateliers de relaxation en groupe le samedi ?", ""),
        ("review", 4, "Bonne praticienne, tarif un peu élevé mais justifié.", ""),
        ("review", 5, "Enfin soulagée de mes douleurs cervicales. Merci infiniment.", "Merci à vous pour votre confiance."),
        ("question", None, "Faut-il venir à jeun ?", "Non, au contraire : mangez légèrement avant la séance."),
        ("review", 2, "Le cabinet est difficile d'accès en fauteuil, dommage.", ""),
        ("review", 5, "Super expérience, explication claire des points utilisés.", ""),
        ("review", 4, "Séance apaisante, je reviendrai pour le stress.", ""),
        ("question", None, "Do you speak English? I'd like to book a session.", "Yes, of course! You can book by phone or email."),
        ("complaint", 3, "Facture envoyée avec trois semaines de retard pour ma mutuelle.", ""),
        ("review", 5, "Je viens depuis deux ans, toujours aussi satisfaite.", ""),
        ("suggestion", None, "Un paiement en ligne à la réservation éviterait d'attendre à la fin.", ""),
        ("review", 1, "Aucun résultat et c'est cher. Déçu.", ""),
        ("review", 4, "Bien, mais la musique de la salle d'attente est un peu forte.", ""),
        ("question", None, "Prenez-vous les enfants ?", "Oui, à partir de 6 ans, avec un parent présent."),
        ("review", 5, "Parfait pour préparer mon marathon, mes tendinites ont disparu.", ""),
        ("review", 5, "Très professionnelle et bienveillante.", ""),
        ("complaint", 2, "Quarante minutes de retard sur mon rendez-vous, sans prévenir.", ""),
        ("review", 4, "Le cabinet est agréable, la séance m'a fait du bien.", ""),
    ],
    "epicerie-voisine": [
        ("review", 5, "Le comté 24 mois est une merveille, et Marc est toujours de bon conseil.", "Merci ! Le nouveau est arrivé vendredi."),
        ("review", 4, "Super choix en vrac, mais les pots en verre sont chers.", "Merci ! Vous pouvez aussi apporter vos propres contenants."),
        ("complaint", 2, "Fraises moisies dans la barquette achetée hier, c'est la deuxième fois.", ""),
        ("question", None, "Est-ce que vous livrez le samedi matin dans le 7e ?", "Oui, pour toute commande passée avant vendredi 18 h."),
        ("suggestion", None, "Ouvrir le dimanche matin ce serait top pour les croissants.", "On y réfléchit sérieusement pour le printemps !"),
        ("review", 5, "Les légumes sont frais et locaux, on sent la différence.", ""),
        ("review", 3, "Bons produits mais la file d'attente à la caisse est longue le soir.", "Merci, nous ouvrons une deuxième caisse de 17 h à 19 h."),
        ("complaint", 1, "On m'a fait payer deux fois le même article, et personne ne voulait me croire.", ""),
        ("question", None, "Vous avez du pain sans gluten ?", "Oui, le mardi et le vendredi, livré par une boulangerie de Vaise."),
        ("review", 5, "Accueil adorable, on se croirait au village.", ""),
        ("suggestion", None, "Un rayon de produits pour bébés bio serait apprécié.", ""),
        ("review", 4, "Le café en grains moulu sur place est excellent.", ""),
        ("complaint", 2, "Rupture de stock de lait d'avoine depuis deux semaines.", "Désolés, notre fournisseur a eu un souci : le réassort arrive jeudi."),
        ("review", 5, "Meilleure épicerie du quartier, et de loin.", ""),
        ("question", None, "Peut-on commander un plateau de fromages pour 12 personnes ?", "Bien sûr, passez nous voir ou appelez, 48 h à l'avance idéalement."),
        ("review", 2, "Prix trop élevés sur les fruits, je vais au marché.", ""),
        ("review", 5, "Love this little shop, the cheese selection is amazing.", ""),
        ("complaint", 2, "Le sol était sale près des bacs à vrac, ça donne pas envie.", ""),
        ("review", 4, "Très bons vins, conseils pertinents pour accompagner un plat.", ""),
        ("suggestion", None, "Mettre les horaires à jour sur internet, j'ai trouvé porte close mardi.", ""),
        ("review", 5, "Toujours le sourire, même en pleine rush.", ""),
        ("question", None, "Reprenez-vous les bocaux consignés ?", "Oui, 20 centimes par bocal rendu."),
        ("review", 3, "Sympa mais choix de thés un peu limité.", ""),
        ("review", 5, "Le panier de légumes du vendredi est parfait pour une famille.", ""),
        ("complaint", 1, "Le vendeur m'a parlé sèchement quand j'ai posé une question sur l'origine.", ""),
        ("review", 4, "Bonne adresse, fromages au top.", ""),
        ("review", 5, "Produits de qualité, ambiance familiale.", ""),
        ("suggestion", None, "Des sacs en papier plutôt qu'en plastique à la caisse ?", "C'est fait depuis ce mois-ci !"),
        ("review", 4, "Bien achalandé, parfois un peu d'attente.", ""),
        ("question", None, "Acceptez-vous la carte dès 1 euro ?", "Oui, sans minimum."),
    ],
}  # fmt: skip

SPAM = "Gagnez 500 € par jour depuis chez vous !!! Cliquez sur www.argent-facile.example et inscrivez-vous"
INSULT = "Le vendeur est un incapable et un imbécile, honte à vous."
INSULT_PASSAGE = "un incapable et un imbécile"
ACKNOWLEDGED_NOTE = "Nous avons manqué à notre promesse : ce n'est pas acceptable, nous changeons notre organisation."
RESOLVED_NOTE = "Nous avons changé de fournisseur et vérifions chaque livraison le matin."


def _author(pool: list[Customer], rng: random.Random) -> Customer:
    return rng.choice(pool)


def _name(customer: Customer, rng: random.Random) -> str:
    first = customer.first_name or "Client"
    if rng.random() < 0.2:
        return first
    initial = (customer.last_name or "X")[:1].upper()
    return f"{first} {initial}."


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    with notify.muted():
        _load(org, customers, rng, now)


def _load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    items = [*BY_ORG.get(org.slug, []), *COMMON]
    if not items or not customers:
        return
    ids = [c["id"] for c in rng.sample(customers, min(len(customers), 120))]
    pool = list(Customer.objects.filter(pk__in=ids, status=CustomerStatus.ACTIVE))
    if not pool:
        return
    owner = Membership.objects.filter(role=Role.OWNER).select_related("user").first()
    if owner is None:
        return
    other = Membership.objects.filter(role=Role.MANAGER).select_related("user").first() or owner
    posts: list[tuple[Post, str, dt.datetime]] = []
    # Spread over the last 14 months, oldest first, a little denser recently.
    for index, (kind, stars, text, answer) in enumerate(items):
        share = (index + rng.random()) / len(items)
        days = int(420 * (1 - share) ** 1.4)
        created = now - dt.timedelta(
            days=days, hours=rng.randint(0, 10), minutes=rng.randint(0, 59)
        )
        author = _author(pool, rng)
        post = services.create_post(
            author,
            kind=kind,
            text=text,
            display_name=_name(author, rng),
            rating=stars if kind == "review" else None,  # stars go with reviews only
            now=created,
        )
        posts.append((post, answer, created))
    for post, answer, created in posts:
        if not answer:
            continue
        delay = dt.timedelta(hours=rng.choice([2, 3, 5, 9, 20, 26, 50]))
        when = min(created + delay, now - dt.timedelta(minutes=5))
        who = owner if rng.random() < 0.7 else other
        services.reply(post, who, text=answer, now=when)

    # Unanswered complaints first: one becomes an acknowledged fault, one a resolved complaint.
    complaints = sorted(
        (p for p, answer, _c in posts if p.kind == "complaint"),
        key=lambda p: p.replies.exists(),
    )
    if len(complaints) >= 2:
        fault, fixed = complaints[0], complaints[1]
        when = min(fault.created_at + dt.timedelta(hours=14), now)
        if not fault.replies.exists():
            services.reply(
                fault,
                owner,
                text="Vous avez entièrement raison, et nous vous présentons nos excuses.",
                now=when,
            )
        services.acknowledge(fault, owner, note=ACKNOWLEDGED_NOTE, now=when)
        when = fixed.created_at + dt.timedelta(days=1)
        if not fixed.replies.exists():
            services.reply(fixed, owner, text="Merci de nous l'avoir signalé.", now=when)
        services.set_status(
            fixed, owner, status="resolved", note=RESOLVED_NOTE, now=when + dt.timedelta(days=3)
        )

    # Me too on a few complaints.
    for post in complaints[:3]:
        for sharer in rng.sample(pool, min(len(pool), rng.randint(1, 4))):
            if sharer.pk != post.author_id:
                services.add_me_too(post, sharer, now=now - dt.timedelta(days=1))

    # One spam post hidden, one insult hidden and appealed (waiting for the owner).
    spammer = _author(pool, rng)
    spam = services.create_post(
        spammer, kind="review", text=SPAM, display_name="Argent Facile", rating=5,
        now=now - dt.timedelta(days=12),
    )  # fmt: skip
    services.hide_post(
        spam,
        other,
        reason=HideReason.SPAM_ADVERTISING,
        passage=SPAM[:40],
        now=now - dt.timedelta(days=12, hours=-2),
    )
    angry = _author(pool, rng)
    insult = services.create_post(
        angry, kind="complaint", text=INSULT, display_name=_name(angry, rng),
        now=now - dt.timedelta(days=4),
    )  # fmt: skip
    services.hide_post(
        insult,
        other,
        reason=HideReason.INSULT_HARASSMENT,
        note="Vos critiques sont les bienvenues, pas les insultes envers une personne.",
        passage=INSULT_PASSAGE,
        now=now - dt.timedelta(days=4, hours=-1),
    )
    services.appeal(
        insult,
        angry,
        text="J'étais en colère, mais le problème de fond est réel.",
        now=now - dt.timedelta(days=3),
    )
