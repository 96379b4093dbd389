"""Demo data of messaging (``make demo``): two saved segments, a draft campaign in French and
English, the default pressure settings, and the automatic messages as a new business finds them.
Nothing is sent: the demo writes history, not news."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from cueillette.core.models import Organization
from cueillette.messaging.models import AutomaticMessage, Campaign, PressureSettings, Segment


def load(
    org: Organization, customers: list[dict[str, Any]], rng: random.Random, now: dt.datetime
) -> None:
    if Segment.objects.exists():
        return
    PressureSettings.objects.create()
    loyal = Segment.objects.create(
        name="Fidèles de l'année", filters={"visited_within_days": 365, "min_points": 50}
    )
    Segment.objects.create(name="Pas venus depuis 3 mois", filters={"not_visited_for_days": 90})
    Campaign.objects.create(
        name="Nouveautés du printemps",
        subject_fr="Les nouveautés du printemps chez {business}",
        body_fr="Bonjour {first_name},\n\nLe printemps arrive : venez découvrir **nos nouveautés** "
        "cette semaine.\n\nÀ bientôt !",
        subject_en="Spring news at {business}",
        body_en="Hello {first_name},\n\nSpring is coming: come and see **what is new** this week.",
        segment=loyal,
    )
    AutomaticMessage.objects.create(kind="welcome", enabled=True)
    AutomaticMessage.objects.create(kind="birthday", enabled=False)
