"""Care notes: health information about a customer, kept out of marketing (GDPR art. 9).

A practice needs to remember a pregnancy, a smoking cessation or migraines to give care; that is
health data, a special category. It lives in :class:`CareNote`, never in tags: tags feed
segments and personalised offers, care notes feed nothing. Only roles with
``Perm.VIEW_CARE_NOTES`` read or add them (owner and manager by default, not counter staff);
no export for marketing, no API list filter and no segment reads this table. The customer's own
export includes them (``care_notes.json``) and erasure blanks their text.

:func:`health_like` is the warning given when a tag that looks like health data is created: a
FR/EN word list, accent- and case-insensitive.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cueillette.core import audit, consequences
from cueillette.core.audit import Actor
from cueillette.core.consequences import Consequence, Fired, Phase
from cueillette.core.errors import ServiceError
from cueillette.core.permissions import Perm, role_has
from cueillette.customers.errors import Code
from cueillette.customers.models import CareNote, Customer

MAX_LENGTH = 4000

# Words that name a health condition, a treatment or a body state, folded (lowercase, no
# accents). STEMS match the start of a word ("migraine", "migraines"); WORDS match whole words
# only (short ones that would otherwise catch ordinary words).
# fmt: off
STEMS = (
    # pregnancy, fertility
    "grossess", "enceint", "pregnan", "fertil", "infertil", "menopaus", "contracept",
    "avortement", "abortion", "allaitement", "breastfeed",
    # tobacco, alcohol, addiction
    "tabac", "tabag", "fumeu", "smok", "cigarett", "nicotin", "sevrage", "alcool", "alcohol",
    "addict", "toxicoman",
    # conditions
    "migrain", "cephal", "headache", "diabet", "asthm", "depress", "anxiet", "anxieu",
    "burnout", "burn-out", "cancer", "tumeur", "tumor", "tumour", "chimio", "chemother",
    "leucem", "leukem", "allerg", "intoleran", "coeliaq", "celiac", "epilep", "hypertens",
    "cholesterol", "cardiaq", "cardiac", "insomni", "arthros", "arthrit", "rhumat", "rheumat",
    "lombalg", "sciatiq", "sciatic", "fibromyalg", "endometrio", "thyroid", "hepatit",
    "eczema", "psoria", "obesit", "obese", "anorex", "boulimi", "bulimi", "alzheimer",
    "parkinson", "sclerose", "sclerosis", "handicap", "disabilit", "maladie", "disease",
    "illness", "douleur", "chronic", "chroniq", "incontinen", "schizo", "bipolai", "bipolar",
    "autism", "autist", "psychiat", "psycholog", "psychoth", "dementia", "demence",
    # care itself
    "medicament", "medication", "traitement", "treatment", "ordonnance", "prescription",
    "therapi", "therapy", "chirurg", "surgery", "hospital", "hopital",
    "symptom", "diagnos", "patholog",
)
WORDS = frozenset(
    {
        "vih", "hiv", "sida", "aids", "ist", "std", "sti", "fiv", "ivf", "pma", "dos",
        "mal", "ulcere", "ulcer", "covid", "grippe", "flu", "stress", "sommeil", "sleep",
        "tdah", "adhd", "toc", "ocd", "avc", "stroke", "bpco", "copd", "cure", "sick",
    }
)
# fmt: on
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _looks_like_health(tag: str) -> bool:
    for word in _WORD.findall(fold(tag)):
        if word in WORDS or word.startswith(STEMS):
            return True
        # "burn-out", "anti-tabac": each part counts too.
        if "-" in word and any(p in WORDS or p.startswith(STEMS) for p in word.split("-")):
            return True
    return False


def health_like(tags: Iterable[str]) -> list[str]:
    """The tags that look like health data, in their order (a warning, not a refusal)."""
    return [tag for tag in tags if tag and _looks_like_health(tag)]


# --------------------------------------------------------------------------- reading


def can_read(role: str | None) -> bool:
    return role_has(role, Perm.VIEW_CARE_NOTES)


def _ids(customer: Customer) -> list[int]:
    # A merge keeps the other record (inactive): its notes are the same person's.
    from cueillette.customers import services

    return services.history_ids(customer)


def current_notes(customer: Customer) -> list[CareNote]:
    """The customer's notes (merged records included) that no later note replaces, newest
    first."""
    return list(
        CareNote.objects.filter(customer__in=_ids(customer), replaced_by__isnull=True)
        .select_related("replaces")
        .order_by("-created_at", "-pk")
    )


def history(customer: Customer) -> list[CareNote]:
    return list(CareNote.objects.filter(customer__in=_ids(customer)).order_by("-created_at", "-pk"))


# --------------------------------------------------------------------------- writing


def _check(actor: Actor) -> None:
    # The role is read from the membership, in this organization: not taken from the caller.
    from cueillette.accounts.models import Membership

    role = None
    if actor.kind == "staff" and actor.user is not None:
        membership = Membership.objects.filter(user=actor.user).first()
        role = membership.role if membership is not None else None
    if not can_read(role):
        raise ServiceError(
            "forbidden", _("only the people who give care may read or write care notes"), status=403
        )


@transaction.atomic
def add_note(
    customer: Customer,
    text: str,
    *,
    actor: Actor,
    replaces: CareNote | None = None,
) -> CareNote:
    """Append a care note (or a correction of one); the audit row holds its id, never its text."""
    _check(actor)
    text = text.strip()
    if not text:
        raise ServiceError(Code.REQUIRED, _("care note: write something first"), field="text")
    if len(text) > MAX_LENGTH:
        raise ServiceError(
            Code.TOO_LONG,
            _("care note: at most %(n)d characters") % {"n": MAX_LENGTH},
            field="text",
        )
    if not customer.is_active:
        raise ServiceError(Code.CUSTOMER_INACTIVE, _("this customer record is no longer active"))
    if replaces is not None:
        # Lock the note being corrected: two corrections at once, one wins (one-to-one).
        replaces = CareNote.objects.select_for_update().get(pk=replaces.pk)
        if replaces.customer_id not in _ids(customer) or hasattr(replaces, "replaced_by"):
            raise ServiceError(
                Code.INVALID, _("this note was already corrected"), field="replaces", status=409
            )
    note = CareNote.objects.create(
        customer=customer,
        text=text,
        replaces=replaces,
        author=actor.user,
        author_label=actor.label[:200],
        created_at=timezone.now(),
    )
    audit.record(
        actor,
        "care_note.added",
        customer,
        note=note.pk,
        replaces=replaces.pk if replaces else None,
    )
    return note


# --------------------------------------------------------------------------- the customer's rights


def export_files(customer: Customer) -> Mapping[str, bytes]:
    """``care_notes.json`` in the customer's own export: every note, corrections included."""
    notes = CareNote.objects.filter(customer__in=_ids(customer)).order_by("created_at", "pk")
    rows = [
        {
            "id": n.pk,
            "written_at": n.created_at.isoformat(),
            "text": n.text,
            "replaces": n.replaces_id,
        }
        for n in notes
    ]
    if not rows:
        return {}
    return {"care_notes.json": json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")}


def erase(customer: Customer) -> None:
    """Erasure blanks every note's text (the rows stay: they are referenced by corrections)."""
    CareNote.objects.filter(customer=customer).update(text="", author_label="")


def on_erase(fired: Fired) -> None:
    """CUSTOMER_ERASED subscriber, inside the erasure (each merged record is erased too)."""
    erase(fired["customer"])


def register_hooks() -> None:
    from cueillette.customers import portal

    portal.register_exporter(export_files)
    consequences.subscribe(Consequence.CUSTOMER_ERASED, on_erase, phase=Phase.IN_TRANSACTION)
