"""No overspend and no double credit under REAL parallel connections.

Each thread opens its own database connection (Django gives one per thread) and closes it at
the end. On PostgreSQL the card row lock (``SELECT ... FOR UPDATE``) and the guarded balance
update decide; on SQLite the test database is the shared in-memory one
(``file:memorydb_default?mode=memory&cache=shared``) and writers are serialised by the
IMMEDIATE transaction mode. The assertions are the same on both: exactly one winner, the
balance never negative, the balance equal to the sum of the ledger.

SQLite: the test database is in memory with a shared cache, where a writer blocks the other
connections with TABLE locks that fail at once ("database table is locked") instead of
waiting. So the race runs on a file copy of it (SQLite's backup API) with the production
settings (WAL, ``BEGIN IMMEDIATE``, busy timeout): ``race_database``. Every read after the race
happens in a thread too, on that copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection, connections
from django.test import Client
from django.utils import timezone

from cueillette.apikeys.services import create_api_key
from cueillette.core import tenancy
from cueillette.core.audit import Actor
from cueillette.core.errors import ServiceError
from cueillette.core.models import Organization
from cueillette.core.tests.factories import CustomerFactory, OrganizationFactory
from cueillette.loyalty import services
from cueillette.loyalty.models import Card, EntryKind, PointsEntry, Purchase, Redemption, Reward

WORKERS = 6
ACTOR = Actor.system("concurrency test")


def run_parallel(org: Organization, jobs: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Start every job at once (a barrier), each in its own thread and connection.

    Returns ``("ok", value)`` or ``("error", exception)`` per job, in order.
    """
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = [("error", None)] * len(jobs)

    def work(i: int) -> None:
        try:
            with tenancy.tenant_context(org):
                barrier.wait(timeout=30)
                results[i] = ("ok", jobs[i]())
        except Exception as exc:  # reported to the test
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    return results


def in_thread(org: Organization, job: Callable[[], Any]) -> Any:
    """Run ``job`` on a connection of its own (so it reads the race's database)."""
    [(kind, value)] = run_parallel(org, [job])
    if kind == "error":
        raise value
    return value


@contextlib.contextmanager
def race_database() -> Iterator[None]:
    """New connections (the threads') use a database they can really share."""
    if connection.vendor != "sqlite":
        yield
        return
    tmp = Path(tempfile.mkdtemp(prefix="loyalty-race-"))
    path = tmp / "race.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
        # Switch the copy to WAL once, here: left to each thread's first connection, the switch
        # needs the database to itself and a thread racing it gets "database is locked" at once
        # (no busy wait for a journal-mode change).
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
    settings_dict = connections.settings[connection.alias]
    previous = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        settings_dict["NAME"] = previous
        shutil.rmtree(tmp, ignore_errors=True)


def unexpected(results: list[tuple[str, Any]]) -> list[Any]:
    """Errors other than the refusals a loser may get (a service error)."""
    return [r for kind, r in results if kind == "error" and not isinstance(r, ServiceError)]


def check_ledger(org: Organization, card: Card) -> int:
    def check() -> int:
        fresh = Card.objects.get(pk=card.pk)
        entries = list(PointsEntry.objects.filter(card=card).values_list("points", flat=True))
        assert fresh.balance == sum(entries)
        assert fresh.balance >= 0
        assert services.replay(fresh).balance == fresh.balance
        return fresh.balance

    return int(in_thread(org, check))


def count(org: Organization, job: Callable[[], Any]) -> Any:
    return in_thread(org, job)


@pytest.fixture
def member(transactional_db: None) -> tuple[Organization, Card]:
    cache.clear()
    org = OrganizationFactory()
    with tenancy.tenant_context(org):
        services.get_program()
        card = services.join_program(CustomerFactory(organization=org), actor=ACTOR)
        services.adjust(card, 10, reason="test balance", actor=ACTOR)
    return org, card


@pytest.mark.django_db(transaction=True)
def test_parallel_redemptions_never_overspend(member: tuple[Organization, Card]) -> None:
    org, card = member
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Café", cost=10)  # the balance buys exactly one

    def redeem() -> Any:
        fresh = Card.objects.get(pk=card.pk)  # every till read the balance before anyone won
        return services.redeem(fresh, reward, actor=ACTOR)

    with race_database():
        results = run_parallel(org, [redeem] * WORKERS)
        assert not unexpected(results), results
        winners = [r for kind, r in results if kind == "ok"]
        losers = [r for kind, r in results if kind == "error"]
        assert len(winners) == 1, results
        assert {e.code for e in losers} == {"insufficient_points"}
        assert check_ledger(org, card) == 0
        assert count(org, Redemption.objects.count) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_redemptions_of_the_last_reward_in_stock(
    member: tuple[Organization, Card],
) -> None:
    org, card = member
    with tenancy.tenant_context(org):
        services.adjust(card, 90, reason="test balance", actor=ACTOR)
        reward = Reward.objects.create(name="Panier", cost=10, stock=1)
    with race_database():
        results = run_parallel(org, [lambda: services.redeem(card, reward, actor=ACTOR)] * WORKERS)
        assert not unexpected(results), results
        assert sum(kind == "ok" for kind, _r in results) == 1
        assert {r.code for kind, r in results if kind == "error"} == {"out_of_stock"}
        assert check_ledger(org, card) == 90
        assert count(org, lambda: Reward.objects.get(pk=reward.pk).stock) == 0


@pytest.mark.django_db(transaction=True)
def test_redemption_racing_expiry_never_overspends(member: tuple[Organization, Card]) -> None:
    """The 10 points either expire or buy the reward, never both."""
    org, card = member
    with tenancy.tenant_context(org):
        reward = Reward.objects.create(name="Café", cost=10)
    later = timezone.now() + dt.timedelta(days=3 * 365)  # the batch has expired by then
    jobs: list[Callable[[], Any]] = []
    for i in range(WORKERS):
        if i % 2:
            jobs.append(lambda: services.expire_due(now=later))
        else:
            jobs.append(lambda: services.redeem(card, reward, actor=ACTOR))
    with race_database():
        results = run_parallel(org, jobs)
        assert not unexpected(results), results
        redeemed = sum(1 for i, (kind, _r) in enumerate(results) if kind == "ok" and i % 2 == 0)
        expired = sum(r for i, (kind, r) in enumerate(results) if kind == "ok" and i % 2)
        assert redeemed * 10 + expired == 10, results
        assert check_ledger(org, card) == 0

        def ledger() -> tuple[int, int]:
            entries = PointsEntry.objects.filter(card=card)
            gone = -sum(e.points for e in entries.filter(kind=EntryKind.EXPIRY))
            return gone, Redemption.objects.count()

        assert count(org, ledger) == (expired, redeemed)
    print(f"\nredemption vs expiry: {redeemed} redemption(s), {expired} point(s) expired")


@pytest.mark.django_db(transaction=True)
def test_same_receipt_in_parallel_credits_once(member: tuple[Organization, Card]) -> None:
    org, card = member

    def sale() -> Purchase:
        return services.record_purchase(card, amount="25.00", actor=ACTOR, receipt_id="R-race")

    with race_database():
        results = run_parallel(org, [sale] * WORKERS)
        assert all(kind == "ok" for kind, _r in results), results
        assert len({p.pk for _kind, p in results}) == 1
        assert check_ledger(org, card) == 10 + 25
        assert count(org, Purchase.objects.count) == 1


@pytest.mark.django_db(transaction=True)
def test_same_receipt_through_the_api_with_new_keys_credits_once(
    member: tuple[Organization, Card],
) -> None:
    """A till that retries on a timeout with a new Idempotency-Key each time."""
    org, card = member
    with tenancy.tenant_context(org):
        raw = create_api_key("Till", "write", actor=ACTOR)[1]
    body = json.dumps({"card_number": card.number, "amount": "25.00", "receipt_id": "R-api"})
    barrier = threading.Barrier(WORKERS)
    answers: list[Any] = [None] * WORKERS

    def post(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = Client().post(
                "/api/v1/purchases",
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": f"try-{i}"},
            )
            answers[i] = (response.status_code, response.json())
        except OperationalError as exc:  # pragma: no cover - reported below
            answers[i] = (0, str(exc))
        finally:
            connections.close_all()

    with race_database():
        threads = [threading.Thread(target=post, args=(i,)) for i in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        statuses = sorted(a[0] for a in answers)
        assert statuses == [200] * (WORKERS - 1) + [201], answers
        assert len({a[1]["id"] for a in answers}) == 1
        assert all(a[1]["balance"] == 35 for a in answers)
        assert check_ledger(org, card) == 35


@pytest.mark.django_db(transaction=True)
def test_a_purchase_that_waited_for_the_lock_reads_what_the_holder_wrote(
    member: tuple[Organization, Card], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The locked read answers from its snapshot; when the holder of the card's lock committed
    meanwhile, what it wrote must still be seen: its receipt (a till's retry is a replay, not
    a second credit) and its points (the tier the two purchases reach together)."""
    from django.db import transaction

    from cueillette.loyalty import hotpath
    from cueillette.loyalty.models import Tier

    org, card = member
    with tenancy.tenant_context(org):
        Tier.objects.create(code="silver", name="Argent", threshold=50, multiplier="1")
    reread = {"n": 0}
    real_after_lock = hotpath.after_lock

    def counting(*args: Any, **kwargs: Any) -> Any:
        reread["n"] += 1
        return real_after_lock(*args, **kwargs)

    monkeypatch.setattr(hotpath, "after_lock", counting)
    holding, waiting = threading.Event(), threading.Event()

    def holder() -> Purchase:
        with transaction.atomic():
            first = services.record_purchase(card, amount="25", actor=ACTOR, receipt_id="R-1")
            holding.set()
            waiting.wait(timeout=30)
            threading.Event().wait(0.5)  # the other purchase is now queued on the lock
        return first

    def retry() -> Purchase:
        holding.wait(timeout=30)
        waiting.set()
        return services.record_purchase(card, amount="25", actor=ACTOR, receipt_id="R-1")

    def next_sale() -> Purchase:
        holding.wait(timeout=30)
        return services.record_purchase(card, amount="20", actor=ACTOR, receipt_id="R-2")

    with race_database():
        results = run_parallel(org, [holder, retry])
        assert all(kind == "ok" for kind, _r in results), results
        assert results[0][1].pk == results[1][1].pk  # the retry found the first purchase
        assert check_ledger(org, card) == 10 + 25
        if connection.vendor == "postgresql":
            assert reread["n"] >= 1  # the waiting read was redone after the lock

        holding.clear()
        waiting.clear()

        def holder2() -> Purchase:
            with transaction.atomic():
                p = services.record_purchase(card, amount="20", actor=ACTOR, receipt_id="R-3")
                holding.set()
                threading.Event().wait(0.5)
            return p

        results = run_parallel(org, [holder2, next_sale])
        assert all(kind == "ok" for kind, _r in results), results
        # 25 + 20 + 20 qualifying points: silver (50) is reached by whichever purchase is last.
        assert count(org, lambda: Card.objects.get(pk=card.pk).tier_code) == "silver"
        assert check_ledger(org, card) == 10 + 25 + 20 + 20
