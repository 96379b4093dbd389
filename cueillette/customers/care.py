"""Care notes: health information about a customer, kept out of marketing (GDPR art. 9).

A practice needs to remember a pregnancy, a smoking cessation or migraines to give care; that is
health data, a special category. It lives in :class:`CareNote`, never in tags: tags feed
segments and personalised offers, care notes feed nothing. Only roles with
``Perm.VIEW_CARE_NOTES`` read or add them (owner and manager by default, not counter staff);
no export for marketing, no API list filter and no segment reads this table. The customer's own
export includes them (``care_notes.json``) and erasure blanks their text.

:func:`health_like` is the warning given when a tag that looks like health data is created (staff
pages, API, import): a FR/EN word list matched on whole words, accent-, case- and
plural-insensitive.
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

# Words that name a health condition, a treatment or a body state (GDPR art. 9), folded
# (lowercase, no accents), matched on whole words after the same folding, so "fumée de saumon",
# "smoked salmon", "fertilisant" or "hospitality" are not caught by a substring. A word also
# matches in the plural ("migraines", "allergies"/"allergy", "hopitaux" is listed). Feminine
# forms are listed. Words that are mostly something else are left out ("pain" is bread, "dos"
# and "mal" are everyday words, "apnée" a sport, "psychologie" a shelf of the bookshop) or
# listed only inside a phrase ("mal de dos", "back pain", "apnée du sommeil").
# fmt: off
WORDS = frozenset({
    # pregnancy, fertility, contraception
    "grossesse", "enceinte", "pregnant", "pregnancy", "fertilite", "infertilite", "fertility",
    "infertility", "fiv", "ivf", "pma", "menopause", "contraception", "contraceptif",
    "contraceptive", "avortement", "abortion", "ivg", "allaitement", "breastfeeding",
    "postpartum", "fausse-couche", "miscarriage",
    # tobacco, alcohol, addiction
    "tabac", "tabagisme", "tabagique", "fumeur", "fumeuse", "non-fumeur", "non-fumeuse",
    "smoker", "non-smoker", "smoking", "alcoolique", "alcoolisme",
    "alcoholic", "alcoholism", "addiction", "toxicomanie", "toxicomane",
    # conditions
    "migraine", "migraineux", "migraineuse", "cephalee", "headache", "diabete", "diabetique",
    "diabetes", "diabetic", "insuline", "insulin", "asthme", "asthmatique", "asthma",
    "asthmatic", "depression", "depressif", "depressive", "depressed", "anxiete", "anxieux",
    "anxieuse", "anxiety", "stress", "burnout", "burn-out", "cancer", "cancereux", "tumeur",
    "tumor", "tumour", "chimio", "chimiotherapie", "chemo", "chemotherapy", "radiotherapie",
    "radiotherapy", "leucemie", "leukemia", "leukaemia", "allergie", "allergique", "allergy",
    "allergic", "intolerance", "intolerant", "intolerante", "coeliaque", "celiaque", "celiac",
    "coeliac", "epilepsie", "epileptique", "epilepsy", "epileptic", "hypertension",
    "cholesterol", "cardiaque", "cardiac", "insomnie", "insomnia", "arthrose", "arthrite",
    "arthritis", "rhumatisme", "rheumatism", "lombalgie", "lombaire", "sciatique", "sciatica",
    "fibromyalgie", "fibromyalgia", "endometriose", "endometriosis", "thyroide", "thyroid",
    "hepatite", "hepatitis", "eczema", "psoriasis", "obesite", "obese", "obesity", "anorexie",
    "anorexia", "boulimie", "bulimia", "alzheimer", "parkinson", "sclerose", "sclerosis",
    "handicap", "handicape", "handicapee", "disability", "disabled", "invalidite",
    "malvoyant", "malvoyante", "malentendant", "malentendante", "sourd", "sourde", "deaf",
    "wheelchair", "dyslexie", "dyslexique", "dyslexia", "dyslexic", "trisomie", "autisme",
    "autiste", "autism", "autistic", "tdah", "adhd", "ocd", "schizophrenie", "schizophrenia",
    "bipolaire", "bipolar", "demence", "dementia", "psychiatre", "psychiatrie",
    "psychiatrique", "psychiatric", "psychiatrist", "maladie", "disease", "illness", "chronic",
    "douleur", "incontinence", "ulcere", "ulcer", "avc", "stroke", "bpco", "copd", "covid",
    "grippe", "flu", "vih", "hiv", "sida", "aids", "ist", "sti", "remission",
    # care itself
    "medicament", "medication", "ordonnance", "prescription", "therapie", "therapy",
    "psychotherapie", "psychotherapy", "physiotherapie", "physiotherapy", "kinesitherapie",
    "chirurgie", "surgery", "hopital", "hopitaux", "hospital", "hospitalisation",
    "hospitalization", "hospitalise", "hospitalisee", "hospitalized", "symptome", "symptom",
    "diagnosis", "pathologie", "pathology",
})
PHRASES = (
    "mal de dos", "mal au dos", "mal de tete", "maux de tete", "mal au ventre", "back pain",
    "chronic pain", "arret du tabac", "anti tabac", "stop smoking", "quit smoking",
    "troubles du sommeil", "apnee du sommeil", "sleep apnea", "sleep apnoea", "burn out",
    "fauteuil roulant", "down syndrome", "heart condition",
)
# Where a listed word means something else: "une enceinte bluetooth" is a speaker.
NOT_HEALTH = (
    "enceinte bluetooth", "enceinte connectee", "enceinte portable", "enceinte acoustique",
    "enceinte sans fil", "enceinte hifi", "enceinte du chateau",
)
# fmt: on
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _singulars(word: str) -> set[str]:
    """The word and what it is in the singular (French -s/-x, English -s/-es/-ies)."""
    forms = {word}
    if len(word) > 3 and word[-1] in "sx":
        forms.add(word[:-1])
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
        if word.endswith("es"):
            forms.add(word[:-2])
    return forms


def _words(text: str) -> list[str]:
    # Apostrophes, slashes, commas... separate words ("d'asthme" -> "d", "asthme"); hyphens
    # join them ("non-fumeur"), and each part counts too.
    return [
        p for w in _TOKEN.findall(fold(text)) for p in ([w, *w.split("-")] if "-" in w else [w])
    ]


def _phrase_at(words: list[str], phrase: str) -> list[int]:
    """The positions where ``phrase`` starts among ``words`` (plurals allowed)."""
    wanted = phrase.split()
    forms = [_singulars(w) for w in words]
    return [
        i
        for i in range(len(words) - len(wanted) + 1)
        if all(wanted[j] in forms[i + j] for j in range(len(wanted)))
    ]


def looks_like_health(text: str) -> bool:
    """Whether a tag (or a short text) names health data, on whole folded words."""
    words = _words(text)
    # Words that mean something else here ("enceinte bluetooth") are set aside first.
    for phrase in NOT_HEALTH:
        for i in _phrase_at(words, phrase):
            words[i : i + len(phrase.split())] = [""] * len(phrase.split())
    if any(_singulars(w) & WORDS for w in words if w):
        return True
    return any(_phrase_at(words, phrase) for phrase in PHRASES)


def health_like(tags: Iterable[str]) -> list[str]:
    """The tags that look like health data, in their order (a warning, not a refusal)."""
    return [tag for tag in tags if tag and looks_like_health(str(tag))]


def health_tag_message(tag: str) -> str:
    """The warning given where a health-looking tag is created (API, import)."""
    return _(
        "tag “%(tag)s” looks like health information: kept, but write it in a care note "
        "instead (only the people who give care read it, it never feeds offers) and remove the "
        "tag"
    ) % {"tag": tag}


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
