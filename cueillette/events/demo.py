"""Sessions for the demo businesses (called by ``manage.py load_demo`` for each business).

The practice runs a guided relaxation every Thursday at 19:00 (six weeks past, four to come);
the shop runs seasonal cooking workshops and a cheese tasting that is full with a waiting
list. Past sessions have their attendees (about three in four came), a few walk-ins, no-shows
and opinions from those who agreed to feedback requests; upcoming ones have registrations.
Rows are written directly (a demo history, not a replay of the actions), in bulk.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cueillette.core.models import Organization
from cueillette.customers.models import Customer, CustomerStatus, Purpose
from cueillette.customers.queries import contactable
from cueillette.events import rules
from cueillette.events.models import Mode, Registration, RegStatus, Series, Session

PLANS: dict[str, list[dict[str, Any]]] = {
    "cabinet-martin": [
        {
            "series": True,
            "title": "Relaxation guidée du jeudi",
            "description": (
                "Une heure pour apprendre à respirer, relâcher les tensions et mieux dormir. "
                "Tenue confortable, tapis fournis. Ouvert à toutes et à tous, débutants bienvenus."
            ),
            "location": "Cabinet Claire Martin, 8 rue des Tilleuls, Lyon 3e",
            "weekday_offset": 3,  # Thursday
            "time": dt.time(19, 0),
            "past_weeks": 6,
            "future_weeks": 4,
            "capacity": 10,
            "points": 20,
            "question": "Avez-vous déjà pratiqué la relaxation ?",
        },
        {
            "title": "Atelier en ligne : apaiser les migraines au quotidien",
            "description": (
                "Gestes simples et automassages, en visio. Le lien est envoyé aux inscrits."
            ),
            "mode": Mode.ONLINE,
            "video_url": "https://visio.cabinet-martin.example/atelier-migraines",
            "days": 12,
            "time": dt.time(20, 0),
            "capacity": 30,
            "points": 0,
        },
    ],
    "epicerie-voisine": [
        {
            "title": "Atelier cuisine de saison : courges et châtaignes",
            "description": (
                "On cuisine ensemble trois recettes simples avec les produits du moment."
            ),
            "location": "Épicerie Voisine, arrière-boutique",
            "days": -21,
            "time": dt.time(18, 30),
            "capacity": 8,
            "price": "15.00",
            "points": 30,
        },
        {
            "title": "Atelier cuisine de saison : soupes d'hiver",
            "description": "Trois soupes, un pain maison, et les recettes à emporter.",
            "location": "Épicerie Voisine, arrière-boutique",
            "days": -7,
            "time": dt.time(18, 30),
            "capacity": 8,
            "price": "15.00",
            "points": 30,
        },
        {
            "title": "Dégustation de fromages affinés",
            "description": "Six fromages de nos producteurs, commentés par Marc. Gratuit.",
            "location": "Épicerie Voisine",
            "days": 4,
            "time": dt.time(19, 0),
            "capacity": 12,
            "points": 15,
            "full": True,
        },
        {
            "title": "Atelier cuisine de saison : les agrumes",
            "description": "Marmelade, salade et gâteau : les agrumes dans tous leurs états.",
            "location": "Épicerie Voisine, arrière-boutique",
            "days": 18,
            "time": dt.time(18, 30),
            "capacity": 8,
            "price": "15.00",
            "points": 30,
        },
    ],
}


def _at(org: Organization, day: dt.date, at: dt.time) -> dt.datetime:
    return rules.local_to_utc(day, at, org.tz)


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    plans = PLANS.get(org.slug)
    if not plans:
        return
    people = list(
        Customer.objects.filter(status=CustomerStatus.ACTIVE).exclude(email="").order_by("id")
    )
    if not people:
        return
    feedback_ok = set(contactable(Purpose.FEEDBACK).values_list("pk", flat=True))
    today = now.astimezone(org.tz).date()
    sessions: list[Session] = []
    for plan in plans:
        common = {
            "title": plan["title"],
            "description": plan.get("description", ""),
            "mode": plan.get("mode", Mode.IN_PERSON),
            "location": plan.get("location", ""),
            "video_url": plan.get("video_url", ""),
            "duration_minutes": 60,
            "capacity": plan["capacity"],
            "price": plan.get("price"),
            "question": plan.get("question", ""),
            "currency": org.currency,
        }
        if plan.get("series"):
            # Back to the weekday of the first past session, then one a week.
            start = today - dt.timedelta(weeks=plan["past_weeks"])
            start += dt.timedelta(days=(plan["weekday_offset"] - start.weekday()) % 7)
            weeks = plan["past_weeks"] + plan["future_weeks"]
            series = Series.objects.create(
                title=plan["title"], local_time=plan["time"], first_date=start, weeks=weeks
            )
            for day in rules.weekly_dates(start, weeks):
                starts = _at(org, day, plan["time"])
                sessions.append(
                    Session(
                        series=series,
                        starts_at=starts,
                        points_for_attending=plan["points"] if starts > now else 0,
                        created_at=min(now, starts) - dt.timedelta(days=20),
                        **common,
                    )
                )
        else:
            starts = _at(org, today + dt.timedelta(days=plan["days"]), plan["time"])
            session = Session(
                starts_at=starts,
                points_for_attending=plan["points"] if starts > now else 0,
                created_at=min(now, starts) - dt.timedelta(days=20),
                **common,
            )
            session._demo_full = bool(plan.get("full"))  # type: ignore[attr-defined]
            sessions.append(session)
    for s in sessions:
        s.organization = org
    full = {id(s) for s in sessions if getattr(s, "_demo_full", False)}
    Session.objects.bulk_create(sessions)
    rows: list[Registration] = []
    for session in sessions:
        past = session.ends_at <= now
        if id(session) in full:
            wanted = session.capacity + 4  # full, with a waiting list
        elif past:
            wanted = session.capacity - rng.randint(1, 3)  # room left for a walk-in
        else:
            wanted = rng.randint(session.capacity // 3, session.capacity - 1)
        chosen = rng.sample(people, min(wanted, len(people)))
        for i, customer in enumerate(chosen):
            registered = session.starts_at - dt.timedelta(days=rng.randint(1, 15), hours=i)
            seat = i < session.capacity
            status = RegStatus.CONFIRMED if seat else RegStatus.WAITLISTED
            reg = Registration(
                organization=org,
                session=session,
                customer=customer,
                name=customer.full_name,
                first_name=customer.first_name,
                last_name=customer.last_name,
                email=customer.email,
                language=customer.language,
                status=status,
                source="public",
                created_at=registered,
                confirmed_at=registered if seat else None,
                queued_at=None if seat else registered,
                answer=rng.choice(["Jamais", "Un peu", "Oui, souvent"]) if session.question else "",
            )
            if past and seat and rng.random() < 0.76:
                reg.status = RegStatus.ATTENDED
                reg.checked_in_at = session.starts_at - dt.timedelta(minutes=rng.randint(0, 10))
                if customer.pk in feedback_ok and rng.random() < 0.6:
                    reg.feedback_sent_at = session.ends_at + rules.FEEDBACK_DELAY
                    if rng.random() < 0.55:
                        reg.feedback_score = rng.choices([3, 4, 5], weights=[1, 4, 6])[0]
                        reg.feedback_at = reg.feedback_sent_at + dt.timedelta(hours=5)
            elif past and not seat:
                # After the session the list is history: those left waiting never got a seat.
                reg.status = RegStatus.CANCELLED
                reg.note = "session_over"
            rows.append(reg)
        if past and len(chosen) < session.capacity and rng.random() < 0.5:
            walk = rng.choice(people)
            if walk not in chosen:
                rows.append(
                    Registration(
                        organization=org,
                        session=session,
                        customer=walk,
                        name=walk.full_name,
                        first_name=walk.first_name,
                        last_name=walk.last_name,
                        email=walk.email,
                        status=RegStatus.ATTENDED,
                        source="walk_in",
                        walk_in=True,
                        created_at=session.starts_at,
                        confirmed_at=session.starts_at,
                        checked_in_at=session.starts_at,
                    )
                )
    Registration.objects.bulk_create(rows)
