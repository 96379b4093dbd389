# ruff: noqa: E501  (tables of cases read best one per line)
"""The listening dashboard's figures on a hand-built fixture, and its page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cueillette.accounts.models import User
from cueillette.community import dashboard, services
from cueillette.community.models import HideReason, Post
from cueillette.core.models import Organization
from cueillette.customers.models import Customer

from .staff_helpers import make_post, member

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 25, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def _post(customer: Customer, created: dt.datetime, rating: int | None, **fields: Any) -> Post:
    post = make_post(customer, kind="review", text="Un avis", rating=rating, now=created)
    # The analysis is set by hand so that the figures are known exactly.
    values = {
        "sentiment": "neutral",
        "needs_human_look": False,
        "detected_themes": [],
        "emerging_words": [],
        **fields,
    }
    Post.objects.filter(pk=post.pk).update(**values)
    post.refresh_from_db()
    return post


@pytest.fixture
def board(tenant: Organization, customer: Customer, owner: User, manager: User) -> dict[str, Any]:
    staff = member(owner)
    p1 = _post(customer, NOW - 10 * D, 1, sentiment="negative", detected_themes=["waiting"],
               emerging_words=["trottinette"])  # fmt: skip
    p2 = _post(customer, NOW - 9 * D, 2, sentiment="negative",
               detected_themes=["waiting", "staff"], emerging_words=["trottinette", "vélo"])  # fmt: skip
    p3 = _post(customer, NOW - 8 * D, 5, sentiment="positive", emerging_words=["trottinette"])
    p4 = _post(customer, NOW - 7 * D, 2, sentiment="negative")
    p5 = _post(customer, NOW - 6 * D, None, sentiment="mixed", needs_human_look=True)
    p6 = _post(customer, NOW - 5 * D, 5, sentiment="negative", emerging_words=["vélo"])  # hidden
    p7 = _post(customer, dt.datetime(2025, 4, 10, 9, 0, tzinfo=dt.UTC), 4)
    services.reply(p1, staff, text="Désolés", now=p1.created_at + 1 * H)
    services.reply(p2, staff, text="Désolés", now=p2.created_at + 3 * H)
    services.reply(p2, staff, text="Suite", now=p2.created_at + 30 * H)  # not the first
    services.reply(p3, staff, text="Merci", now=p3.created_at + 10 * H)
    services.tag_themes(p3, staff, ["price"], now=NOW)
    services.hide_post(
        p6,
        member(manager),
        reason=HideReason.SPAM_ADVERTISING,
        passage=p6.text[:12],
        now=NOW - 4 * D,
    )
    services.appeal(p6, customer, now=NOW - 3 * D)
    return {"posts": [p1, p2, p3, p4, p5, p6, p7]}


def test_figures(board: dict[str, Any]) -> None:
    _p1, _p2, _p3, p4, p5, p6, p7 = board["posts"]
    figures = dashboard.build(NOW)
    assert figures.posts == 6  # the hidden one is left out
    assert figures.hidden == 1
    assert [p.pk for p in figures.unanswered] == [p7.pk, p4.pk, p5.pk]  # oldest first
    assert figures.unanswered_count == 3
    assert figures.answered == 3
    # First replies after 1 h, 3 h and 10 h: the median is 3 h (the second reply of p2 and
    # the hidden post do not count).
    assert figures.median_first_reply == 3 * H
    # Negative visible posts: p1, p2 answered, p4 not -> 2 of 3.
    assert (figures.negative, figures.negative_answered) == (3, 2)
    assert figures.negative_answered_share == 66.7
    assert figures.answered_share == 50.0
    assert figures.ratings == {1: 1, 2: 2, 3: 0, 4: 1, 5: 1}
    assert figures.rating_average == 2.8  # (1 + 2 + 5 + 2 + 4) / 5
    months = {m.month: m for m in figures.months}
    assert len(figures.months) == 12 and figures.months[-1].month == dt.date(2025, 6, 1)
    assert months[dt.date(2025, 6, 1)].count == 4
    assert months[dt.date(2025, 6, 1)].average == 2.5
    assert months[dt.date(2025, 6, 1)].posts == 5
    assert months[dt.date(2025, 4, 1)].average == 4.0
    assert months[dt.date(2025, 5, 1)].average is None
    assert figures.sentiments == {"positive": 1, "neutral": 1, "negative": 3, "mixed": 1}
    assert [p.pk for p in figures.needs_look] == [p5.pk]
    assert figures.themes == [("waiting", 2), ("price", 1), ("staff", 1)]
    # "trottinette" is in 3 visible posts; "vélo" in 1 visible (+1 hidden): not emerging.
    assert figures.emerging == [("trottinette", 3)]
    assert figures.appeals_pending == 1
    assert p6.pk not in [p.pk for p in figures.unanswered]


def test_median_with_no_reply_and_empty_page(tenant: Organization) -> None:
    figures = dashboard.build(NOW)
    assert figures.posts == 0
    assert figures.median_first_reply is None
    assert figures.negative_answered_share is None
    assert figures.rating_average is None
    assert figures.emerging == []


def test_median_of_an_even_count(tenant: Organization, customer: Customer, owner: User) -> None:
    for hours in (2, 4):
        post = make_post(customer, now=NOW - 2 * D)
        services.reply(post, member(owner), text="Merci", now=post.created_at + hours * H)
    assert dashboard.median_first_reply() == 3 * H


def test_digest_figures(board: dict[str, Any]) -> None:
    figures = dashboard.digest(NOW)
    # The last 7 days: p4 (7 days ago, on the edge), p5; p6 is hidden.
    assert figures["new_posts"] == 2
    assert figures["negative"] == 1
    assert figures["negative_share"] == 50.0
    assert figures["unanswered_count"] == 3
    assert figures["appeals_pending"] == 1


def test_page_shows_the_figures(board: dict[str, Any], owner_client: Client) -> None:
    response = owner_client.get(reverse("community:dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    for chart in ("chart-ratings", "chart-months", "chart-sentiment", "chart-themes"):
        assert f'id="{chart}"' in page
        assert f'id="{chart}-heading"' in page
    assert 'id="fig-posts">6<' in page
    assert 'id="fig-unanswered">3<' in page
    assert 'data-seconds="10800"' in page
    assert 'id="emerging-h"' in page and 'id="look-list"' in page
    assert "<script" not in page.split("</head>", 1)[1] or 'src="' in page
    assert ' style="' not in page


def test_sentiment_never_hides(tenant: Organization, customer: Customer) -> None:
    post = make_post(
        customer, kind="review", text="NUL. HORRIBLE. JAMAIS PLUS. Arnaque !!!", rating=1
    )
    assert post.sentiment == "negative"
    assert not post.hidden
    assert not post.events.exists()
