#!/usr/bin/env python3
"""Benchmark of the community page (issue 4): a wall of 10,000 posts, and the text analysis.

1. A scratch database (SQLite in a temporary file; PostgreSQL when ``DATABASE_URL`` is set: a
   throwaway database is created on that server and dropped at the end), migrated; one
   organization with ``--posts`` posts (10,000) written with ``bulk_create``: French and
   English comments of the test fixture (as ``bench/community_analysis.py`` makes them), every
   post with its first version and one in ten edited, ~40 % answered publicly (some
   acknowledged and resolved with a note), ~30 % with "me too" marks, 2 % hidden for a listed
   reason (with its moderation log entry).
2. Pages through the Django test client (the whole request: middleware, tenant, session,
   queries, templates): the wall's first page ``--requests`` times, and as many thread pages of
   random posts; p50 and p99 in milliseconds, and the SQL queries of one request of each.
3. Analysis throughput: :func:`cueillette.community.analysis.analyse_many` with the lookup
   lemmatizer (what ``services.create_post`` uses) over ``--comments`` comments, against the
   plain tokenise-and-count baseline of ``bench/community_analysis.py`` over the same comments
   in the same run (median of ``--repeats`` runs after a warm-up).

Targets: page p99 under 100 ms; analysis at least 1,000 comments per second. The last line is
``RESULT bench=community ratio=<analysis/baseline> ...`` with every figure printed.

Usage: ``python bench/community.py [--posts 10000] [--requests 200] [--comments 5000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from community_analysis import baseline, make_comments, per_second  # noqa: E402

TARGET_P99_MS = 100.0
TARGET_PER_S = 1000.0


def setup_django(workdir: Path) -> tuple[str, str | None]:
    """Point Django at a fresh database; return (engine label, PostgreSQL database to drop)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CUEILLETTE_VAR_DIR"] = str(workdir)
    os.environ["CUEILLETTE_LOG_LEVEL"] = "ERROR"
    base = os.environ.get("DATABASE_URL", "")
    created = None
    if base.startswith("postgres"):
        import psycopg

        created = f"cueillette_bench_community_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{created}"')
            conn.execute(f'CREATE DATABASE "{created}"')
        prefix, _sep, _name = base.rpartition("/")
        os.environ["DATABASE_URL"] = f"{prefix}/{created}"
        label = "postgresql"
    else:
        os.environ.pop("DATABASE_URL", None)
        os.environ["CUEILLETTE_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
        label = "sqlite"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return label, created


def drop_pg(base: str, name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def populate(n_posts: int, comments: list[str], seed: int = 4) -> Any:
    """One organization with ``n_posts`` posts and their history, written in bulk."""
    from django.utils import timezone

    from cueillette.accounts.models import User
    from cueillette.community.models import (
        HideReason,
        MeToo,
        ModerationEvent,
        Post,
        PostVersion,
        Reply,
    )
    from cueillette.core.models import Organization
    from cueillette.core.tenancy import tenant_context
    from cueillette.customers.models import Customer
    from cueillette.customers.services import seed_wordings

    rng = random.Random(seed)
    org = Organization.objects.create(name="Boulangerie du Banc", slug="bench-community")
    seed_wordings(org)
    owner = User.objects.create_user(email="owner@bench.example", password="x" * 12)
    now = timezone.now()
    start = now - dt.timedelta(days=730)
    reasons = list(HideReason.values)
    with tenant_context(org):
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    organization=org,
                    first_name=f"Client{i}",
                    last_name="Banc",
                    email=f"client{i}@bench.example",
                    created_at=start,
                )
                for i in range(2000)
            ],
            batch_size=1000,
        )
        kinds = ["review"] * 5 + ["question"] * 2 + ["suggestion"] + ["complaint"] * 2
        posts = []
        for i in range(n_posts):
            kind = rng.choice(kinds)
            posts.append(
                Post(
                    organization=org,
                    kind=kind,
                    rating=rng.randint(1, 5) if kind == "review" and rng.random() < 0.9 else None,
                    author=customers[i % len(customers)],
                    display_name=f"Client{i % len(customers)} B.",
                    text=comments[i % len(comments)],
                    created_at=start + dt.timedelta(minutes=100 * i),
                    hidden=rng.random() < 0.02,
                )
            )
        posts = Post.objects.bulk_create(posts, batch_size=1000)
        versions, replies, events, me_toos = [], [], [], []
        for post in posts:
            versions.append(
                PostVersion(
                    organization=org, post=post, number=1, text=post.text,
                    rating=post.rating, created_at=post.created_at,
                )
            )  # fmt: skip
            if rng.random() < 0.1:
                versions.append(
                    PostVersion(
                        organization=org, post=post, number=2, text=post.text + " (modifié)",
                        rating=post.rating, created_at=post.created_at + dt.timedelta(hours=1),
                    )
                )  # fmt: skip
            if post.hidden:
                events.append(
                    ModerationEvent(
                        organization=org, post=post, action="hide", reason=rng.choice(reasons),
                        actor_user=owner, actor_role="manager",
                        created_at=post.created_at + dt.timedelta(hours=2),
                    )
                )  # fmt: skip
            if rng.random() < 0.4:
                at = post.created_at + dt.timedelta(hours=rng.randint(1, 72))
                replies.append(
                    Reply(
                        organization=org, post=post, author=owner, author_role="owner",
                        text="Merci pour votre message, nous regardons cela.", created_at=at,
                    )
                )  # fmt: skip
                events.append(
                    ModerationEvent(
                        organization=org, post=post, action="reply", actor_user=owner,
                        actor_role="owner", created_at=at,
                    )
                )  # fmt: skip
                if post.kind == "complaint" and rng.random() < 0.5:
                    post.acknowledged = True
                    post.status = "resolved"
                    events.append(
                        ModerationEvent(
                            organization=org, post=post, action="status_change",
                            actor_user=owner, actor_role="owner", note="Nous avons corrigé.",
                            data={"before": "open", "after": "resolved"}, created_at=at,
                        )
                    )  # fmt: skip
            if rng.random() < 0.3:
                for customer in rng.sample(customers, rng.randint(1, 4)):
                    me_toos.append(
                        MeToo(organization=org, post=post, customer=customer, created_at=now)
                    )
        Post.objects.bulk_update(
            [p for p in posts if p.acknowledged], ["acknowledged", "status"], batch_size=1000
        )
        PostVersion.objects.bulk_create(versions, batch_size=2000)
        Reply.objects.bulk_create(replies, batch_size=2000)
        ModerationEvent.objects.bulk_create(events, batch_size=2000)
        MeToo.objects.bulk_create(me_toos, batch_size=2000)
        print(
            f"{len(posts)} posts, {len(versions)} versions, {len(replies)} replies, "
            f"{len(me_toos)} me-too marks, {sum(p.hidden for p in posts)} hidden"
        )
    return org, posts


def time_pages(paths: list[str]) -> tuple[float, float, int]:
    """p50, p99 (ms) of GET each path; queries of the first one."""
    from django.db import connection
    from django.test import Client

    client = Client()
    for path in paths[:10]:  # warm-up: templates, translations, connections
        assert client.get(path).status_code == 200, path
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get(paths[0])
    times = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, path
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99, len(queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "")

    with tempfile.TemporaryDirectory(prefix="bench-community-") as tmp:
        label, created = setup_django(Path(tmp))
        try:
            comments = make_comments(args.comments)
            start = time.perf_counter()
            org, posts = populate(args.posts, comments)
            print(f"database: {label}; written in {time.perf_counter() - start:.1f} s")

            rng = random.Random(7)
            wall = [f"/o/{org.slug}/community/"] * args.requests
            threads = [
                f"/o/{org.slug}/community/{rng.choice(posts).pk}/" for _ in range(args.requests)
            ]
            wall_p50, wall_p99, wall_q = time_pages(wall)
            print(
                f"wall first page: p50 {wall_p50:.1f} ms, p99 {wall_p99:.1f} ms "
                f"({wall_q} SQL queries)"
            )
            thread_p50, thread_p99, thread_q = time_pages(threads)
            print(
                f"thread page: p50 {thread_p50:.1f} ms, p99 {thread_p99:.1f} ms "
                f"({thread_q} SQL queries)"
            )
        finally:
            if created:
                drop_pg(base_url, created)

    from cueillette.community import analysis

    start = time.perf_counter()
    analysis.analyse("Bonjour, merci.", lemmatizer="lookup")
    load_s = time.perf_counter() - start
    baseline_per_s = per_second(lambda: baseline(comments), len(comments), args.repeats)
    print(f"baseline tokenise-and-count: {baseline_per_s:,.0f} comments/s")
    per_s = per_second(
        lambda: analysis.analyse_many(comments, lemmatizer="lookup"), len(comments), args.repeats
    )
    print(
        f"analysis (sentiment + themes, lookup lemmatizer as services use it): "
        f"{per_s:,.0f} comments/s (tables loaded in {load_s:.2f} s)"
    )
    ratio = per_s / baseline_per_s
    pages_met = max(wall_p99, thread_p99) < TARGET_P99_MS
    analysis_met = per_s >= TARGET_PER_S
    print(
        f"ratio analysis/baseline = {ratio:.4f}; page p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'met' if pages_met else 'MISSED'}; analysis >= {TARGET_PER_S:,.0f} comments/s: "
        f"{'met' if analysis_met else 'MISSED'}"
    )
    print(
        f"RESULT bench=community ratio={ratio:.4f} wall_p50_ms={wall_p50:.1f} "
        f"wall_p99_ms={wall_p99:.1f} thread_p50_ms={thread_p50:.1f} "
        f"thread_p99_ms={thread_p99:.1f} comments_per_s={per_s:.0f} "
        f"baseline_per_s={baseline_per_s:.0f} database={label} posts={len(posts)} "
        f"wall_queries={wall_q} thread_queries={thread_q} model_load_s={load_s:.2f} "
        f"pages_target_met={'yes' if pages_met else 'no'} "
        f"analysis_target_met={'yes' if analysis_met else 'no'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
