#!/usr/bin/env python3
"""Benchmark: the 8 pm rush — 2,000 people register at once for a free class of 150 seats.

1. a scratch PostgreSQL database (``cueillette_bench_events_<pid>`` on the server of ``make
   pg-start`` or ``DATABASE_URL``), migrated; one organization with 2,000 customers (and 2,000
   loyalty members for the till comparison), a session of 150 seats with a waiting list, a
   write API key;
2. the application under gunicorn, 2 workers, on a free loopback port;
3. a warm-up (80 registrations for another session and 80 purchases, not measured: a server is
   warm at 8 pm), then a load process (``--load``) with 8 HTTP/1.1 connections that registers
   the 2,000 customers
   through ``POST /api/v1/events/sessions/{id}/registrations`` as fast as the server answers
   (each with its Idempotency-Key), recording when each request started and ended;
4. in the same run, the till path under the same load for the same time (``POST
   /api/v1/purchases``): ratio = registrations/s over purchases/s (target: within 2x, >= 0.5);
5. the checks: seats taken never above 150 (``overbooked``); the waiting list in first-come
   order as seen from outside (``order_violations``: a person whose request had *finished*
   before another's *started* must be ahead of them — seats first, then the list), nobody
   twice; p50/p99 of a registration (target p99 < 200 ms).

The last line is ``RESULT bench=events overbooked=<n> order_violations=<n> p99_ms=<x>
ratio=<registrations/s over purchases/s> ...``. gunicorn is stopped and the scratch database
dropped at the end, whatever happens.

Usage: ``python bench/events.py [--people 2000] [--seats 150] [--connections 8]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loyalty import (
    BASE_DATABASE_URL,
    ROOT,
    add_members,
    db_url,
    free_port,
    pct,
    setup_django,
    wait_ready,
)

TARGET_P99_MS = 200.0
TARGET_RATIO = 0.5
WARMUP = 80  # registrations and purchases before the rush, on another session (not measured)


def _post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any], key: str) -> Any:
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Host": "127.0.0.1",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def load(args: argparse.Namespace) -> None:
    """Registrations (all of them), then purchases for as long: JSON figures on stdout."""
    ids = [int(x) for x in Path(args.customers).read_text().split()]
    warm_ids = [int(x) for x in Path(args.warm).read_text().split()]
    numbers = Path(args.numbers).read_text().split()
    random.Random(3).shuffle(ids)
    queue = list(ids)
    lock = threading.Lock()
    samples: list[dict[str, Any]] = []
    errors: dict[str, int] = {}

    def warm_worker() -> None:
        # A server is warm at 8 pm: every worker has served registrations and purchases
        # before the rush (a cold worker's first requests load code and templates).
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        rng = random.Random(0)
        while True:
            with lock:
                if not warm_ids:
                    break
                cid = warm_ids.pop()
            _post(
                conn,
                f"/api/v1/events/sessions/{args.warm_session}/registrations",
                {"customer_id": cid},
                args.key,
            )
            _post(
                conn,
                "/api/v1/purchases",
                {"card_number": rng.choice(numbers), "amount": "9.90", "receipt_id": f"W{cid}"},
                args.key,
            )
        conn.close()

    threads = [threading.Thread(target=warm_worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def register_worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        while True:
            with lock:
                if not queue:
                    break
                cid = queue.pop()
            start = time.perf_counter()
            status, payload = _post(
                conn,
                f"/api/v1/events/sessions/{args.session}/registrations",
                {"customer_id": cid},
                args.key,
            )
            end = time.perf_counter()
            with lock:
                if status != 201:
                    k = f"{status}:{payload[:80]!r}"
                    errors[k] = errors.get(k, 0) + 1
                    continue
                body = json.loads(payload)
                samples.append(
                    {"id": body["id"], "status": body["status"], "start": start, "end": end}
                )
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=register_worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reg_seconds = time.perf_counter() - t0

    purchases: list[float] = []
    stop_at = time.monotonic() + max(5.0, reg_seconds)

    def purchase_worker(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            status, payload = _post(
                conn,
                "/api/v1/purchases",
                {
                    "card_number": rng.choice(numbers),
                    "amount": f"{rng.randint(100, 9000) / 100:.2f}",
                    "receipt_id": f"B{n}-{uuid.uuid4().hex}",
                },
                args.key,
            )
            if status == 201:
                mine.append((time.perf_counter() - start) * 1000)
            else:
                with lock:
                    k = f"purchase {status}:{payload[:60]!r}"
                    errors[k] = errors.get(k, 0) + 1
        conn.close()
        with lock:
            purchases.extend(mine)

    p0 = time.perf_counter()
    threads = [threading.Thread(target=purchase_worker, args=(i,)) for i in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    purchase_seconds = time.perf_counter() - p0
    print(
        json.dumps(
            {
                "samples": samples,
                "reg_seconds": reg_seconds,
                "purchases": len(purchases),
                "purchase_seconds": purchase_seconds,
                "purchase_p99": pct(purchases, 0.99),
                "errors": errors,
            }
        )
    )


def order_violations(samples: list[dict[str, Any]], position: dict[int, int]) -> int:
    """Pairs seen from outside in the wrong order: A finished before B started, yet B is
    ahead of A (a seat before A's, or earlier on the list). Counted once per late person."""
    by_end = sorted(samples, key=lambda s: s["end"])
    by_start = sorted(samples, key=lambda s: s["start"])
    worst_before = -1  # the furthest-back position among requests already finished
    i = 0
    violations = 0
    for b in by_start:
        while i < len(by_end) and by_end[i]["end"] < b["start"]:
            worst_before = max(worst_before, position[by_end[i]["id"]])
            i += 1
        if worst_before > position[b["id"]]:
            violations += 1
    return violations


def main(args: argparse.Namespace) -> None:
    import psycopg

    try:
        with psycopg.connect(BASE_DATABASE_URL, connect_timeout=3, autocommit=True):
            pass
    except Exception as exc:
        raise SystemExit(
            f"no PostgreSQL at {BASE_DATABASE_URL} ({exc}): run make pg-start"
        ) from exc
    name = f"cueillette_bench_events_{os.getpid()}"
    url = db_url(name)
    workdir = Path(tempfile.mkdtemp(prefix="events-bench-"))
    gunicorn: subprocess.Popen[bytes] | None = None
    with psycopg.connect(BASE_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CUEILLETTE_VAR_DIR": str(workdir),
            "CUEILLETTE_SECRET_KEY": uuid.uuid4().hex * 2,
            "CUEILLETTE_ALLOWED_HOSTS": "127.0.0.1",
            "CUEILLETTE_API_RATE_LIMIT": "100000000",
            "CUEILLETTE_LOG_LEVEL": "ERROR",
        }
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
            env=env,
            check=True,
            cwd=ROOT,
        )
        setup_django(url, workdir)
        import datetime as dt

        from django.db import connection
        from django.utils import timezone

        from cueillette.apikeys.services import create_api_key
        from cueillette.core import tenancy
        from cueillette.core.audit import Actor
        from cueillette.core.tests.factories import OrganizationFactory
        from cueillette.customers.models import Customer
        from cueillette.events.models import Registration, Session
        from cueillette.loyalty import services as loyalty

        org = OrganizationFactory(name="Studio Bench", slug="studio-bench")
        with tenancy.tenant_context(org):
            loyalty.get_program()
            _key, raw_key = create_api_key("Bench", "write", actor=Actor.system("bench"))
            session = Session.objects.create(
                title="Yoga gratuit de 20 h",
                location="Studio",
                starts_at=timezone.now() + dt.timedelta(days=1),
                capacity=args.seats,
                waitlist_enabled=True,
            )
            warm_session = Session.objects.create(
                title="Cours d'essai (échauffement du serveur)",
                location="Studio",
                starts_at=timezone.now() + dt.timedelta(days=2),
                capacity=max(1, WARMUP // 4),
                waitlist_enabled=True,
            )
        numbers = add_members(org, args.people + WARMUP, 0)
        with tenancy.tenant_context(org):
            every = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
        customer_ids, warm_ids = every[: args.people], every[args.people :]
        (workdir / "warm.txt").write_text("\n".join(map(str, warm_ids)))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        (workdir / "customers.txt").write_text("\n".join(map(str, customer_ids)))
        (workdir / "numbers.txt").write_text("\n".join(numbers))
        connection.close()
        port = free_port()
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi:application",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        wait_ready(port, raw_key, gunicorn)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--load",
                "--port",
                str(port),
                "--key",
                raw_key,
                "--session",
                str(session.pk),
                "--warm-session",
                str(warm_session.pk),
                "--warm",
                str(workdir / "warm.txt"),
                "--customers",
                str(workdir / "customers.txt"),
                "--numbers",
                str(workdir / "numbers.txt"),
                "--connections",
                str(args.connections),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        samples = result["samples"]
        latencies = [(s["end"] - s["start"]) * 1000 for s in samples]
        with tenancy.tenant_context(org):
            regs = list(Registration.objects.filter(session=session))
            seats = sorted(
                (r for r in regs if r.status == "confirmed"), key=lambda r: (r.confirmed_at, r.pk)
            )
            waiting = sorted(
                (r for r in regs if r.status == "waitlisted"), key=lambda r: (r.queued_at, r.pk)
            )
        overbooked = max(0, len(seats) - args.seats)
        duplicates = len(regs) - len({r.customer_id for r in regs})
        # One order for everybody: the seats in the order given, then the list in its order.
        position = {r.pk: i for i, r in enumerate([*seats, *waiting])}
        violations = order_violations([s for s in samples if s["id"] in position], position)
        reg_rate = len(samples) / result["reg_seconds"]
        purchase_rate = result["purchases"] / result["purchase_seconds"]
        ratio = reg_rate / purchase_rate if purchase_rate else 0.0
        p50, p90, p99 = pct(latencies, 0.5), pct(latencies, 0.9), pct(latencies, 0.99)
        # When the slowest 1 % happened (seconds into the rush): a cluster at 0 is a cold start,
        # spread out is queueing.
        first = min(s["start"] for s in samples)
        slow = sorted(samples, key=lambda s: s["start"] - s["end"])[: max(1, len(samples) // 100)]
        offsets = sorted(s["start"] - first for s in slow)
        print(
            f"registrations: {len(samples):,} in {result['reg_seconds']:.1f} s over "
            f"{args.connections} connections = {reg_rate:.1f}/s; p50 {p50:.1f} ms, "
            f"p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms"
        )
        print(
            f"slowest 1 %: started {offsets[0]:.1f}-{offsets[-1]:.1f} s into the rush "
            f"(median {offsets[len(offsets) // 2]:.1f} s)"
        )
        print(
            f"seats {len(seats)} / {args.seats}, waiting {len(waiting)}, overbooked {overbooked}, "
            f"duplicates {duplicates}, order violations {violations}"
        )
        print(
            f"till purchases in the same run: {purchase_rate:.1f}/s (p99 "
            f"{result['purchase_p99']:.1f} ms); ratio {ratio:.2f} (target >= {TARGET_RATIO})"
            + (f"; errors {result['errors']}" if result["errors"] else "")
        )
        met = overbooked == 0 and violations == 0 and p99 < TARGET_P99_MS and ratio >= TARGET_RATIO
        print(
            f"targets {'met' if met else 'MISSED'}: 0 overbooked, 0 order violations, "
            f"p99 < {TARGET_P99_MS:.0f} ms, ratio >= {TARGET_RATIO}"
        )
        print(
            f"RESULT bench=events overbooked={overbooked} order_violations={violations} "
            f"p99_ms={p99:.1f} ratio={ratio:.3f} registrations_per_s={reg_rate:.1f} "
            f"purchases_per_s={purchase_rate:.1f} p50_ms={p50:.1f} seats={len(seats)} "
            f"waiting={len(waiting)} duplicates={duplicates}"
        )
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, signal.SIGTERM)
            gunicorn.wait(timeout=30)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        with psycopg.connect(BASE_DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seats", type=int, default=150)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    parser.add_argument("--session", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--customers", default="", help=argparse.SUPPRESS)
    parser.add_argument("--warm", default="", help=argparse.SUPPRESS)
    parser.add_argument("--warm-session", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--numbers", default="", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    load(ns) if ns.load else main(ns)
