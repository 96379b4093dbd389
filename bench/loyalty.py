#!/usr/bin/env python3
"""Benchmark: the till API at rush hour, against an honest floor measured in the same run.

1. a scratch PostgreSQL database (``<--db-prefix>_<pid>`` on the server of ``make pg-start``
   or ``DATABASE_URL``), migrated; one organization with 10,000 members (customers with an
   open card), a program with tiers, a write API key;
2. a profile in process (Django's test client, the whole request): SQL statements of one
   purchase, CPU ms per request, and with ``--profile`` the functions that cost most;
3. the application under a production server: gunicorn, 2 sync workers, on a free loopback
   port, with ``bench/till_settings.py`` (production settings + the floor route + a
   ``Server-Timing`` header + persistent connections);
4. a separate load process (``--load``) with 8 HTTP/1.1 connections (8 tills), for a fixed
   time each:
   * the floor, ``POST /bench/floor/purchases``: the same stack and key authentication doing
     only the essential durable writes (idempotency record, ledger entry, balance) in one
     statement written by hand (``bench/till_app.py``);
   * ours, ``POST /api/v1/purchases`` (random member, unique receipt id and Idempotency-Key;
     one request in 50 is sent twice, the retry must be a replay);
   * the hot card: the same 8 connections on ONE card (a family sharing a card);
   each prints throughput, the latency distribution (p50/p90/p99/max) and where the slowest
   1 % spent their time: waiting in gunicorn's queue, Python CPU, SQL, the card lock, garbage
   collection; plus checkpoints during the phase and the machine's CPU ms per request;
5. ``pgbench`` (TPC-B-like, 2 clients) for the same time: the database's own ceiling;
6. the ledger check: every card's balance against the sum of its entries, and receipts
   credited twice (``double_credits`` counts both);
7. 90,000 more members (100,000), then the counter lookup ``GET /api/v1/cards/{number}``.

Headline: ratio = our purchases/s : floor requests/s. Targets: ratio >= 0.5, >= 300
purchases/s, purchase p99 < 50 ms, hot card max < 200 ms, 0 errors, 0 double credits, lookup
p99 < 20 ms. The last line is ``RESULT bench=loyalty ratio=<x> key=value ...``. gunicorn is
stopped and the scratch database dropped at the end, whatever happens. The machine's load
average is printed at the start and the end (figures are noisy on a shared machine).

Usage: ``python bench/loyalty.py [--seconds 20] [--connections 8] [--profile N [--profile-only]]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgres://cueillette@127.0.0.1:55432/cueillette"
BASE_DATABASE_URL = os.environ.get("DATABASE_URL") or PG_DEFAULT
PG_BIN = Path("/usr/lib/postgresql/15/bin")
TARGET_RATIO = 0.5
TARGET_RATE = 300
TARGET_HOT_MAX_MS = 200.0
TARGET_PURCHASE_P99_MS = 50.0
TARGET_LOOKUP_P99_MS = 20.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def db_url(name: str) -> str:
    prefix, _sep, _old = BASE_DATABASE_URL.rpartition("/")
    return f"{prefix}/{name}"


def pgbench_bin() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    if candidates:
        return str(candidates[-1])
    return str(PG_BIN / "pgbench")


# --------------------------------------------------------------------------- load process


def _server_timing(header: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in header.split(","):
        name, _sep, rest = part.strip().partition(";")
        _name, _eq, value = rest.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out


def load(args: argparse.Namespace) -> None:
    """Post purchases for ``args.seconds`` (after a short warm-up); print JSON figures.

    ``--mode purchase``: random members on /api/v1/purchases, one request in
    ``--retry-every`` sent again with the same key and body (it must be replayed);
    ``floor``: the same bodies on the floor route; ``hot``: every connection on one card."""
    numbers = Path(args.numbers).read_text().split()
    path = "/bench/floor/purchases" if args.mode == "floor" else "/api/v1/purchases"
    headers_base = {
        "Authorization": f"Bearer {args.key}",
        "Content-Type": "application/json",
        "Host": "127.0.0.1",
    }
    warmup_end = time.monotonic() + args.warmup
    end = warmup_end + args.seconds
    samples: list[tuple[float, dict[str, float]]] = []
    errors: dict[str, int] = {}
    replays = {"ok": 0, "bad": 0}
    warm = {"n": 0}
    lock = threading.Lock()

    def send(
        conn: http.client.HTTPConnection, body: str, op: str
    ) -> tuple[http.client.HTTPConnection, int, bytes, dict[str, str], float]:
        headers = {**headers_base, "Idempotency-Key": op}
        t0 = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - t0) * 1000
        got = {k.lower(): v for k, v in response.getheaders()}
        if got.get("connection", "").lower() == "close":
            conn.close()
        return conn, response.status, payload, got, elapsed

    def worker(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        mine: list[tuple[float, dict[str, float]]] = []
        sent = 0
        while True:
            now = time.monotonic()
            if now >= end:
                break
            op = uuid.uuid4().hex
            number = numbers[0] if args.mode == "hot" else rng.choice(numbers)
            body = json.dumps(
                {
                    "card_number": number,
                    "amount": f"{rng.randint(100, 15000) / 100:.2f}",
                    "receipt_id": f"{args.mode[0].upper()}{n}-{op}",
                }
            )
            try:
                conn, status, payload, got, elapsed = send(conn, body, op)
                sent += 1
                retry = None
                if args.mode == "purchase" and args.retry_every and sent % args.retry_every == 0:
                    retry = send(conn, body, op)  # a till retrying after a timeout
                    conn = retry[0]
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
                with lock:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            if retry is not None:
                same = retry[1] == status and retry[2] == payload
                replayed = retry[3].get("idempotent-replayed") == "true"
                with lock:
                    replays["ok" if same and replayed else "bad"] += 1
            if now < warmup_end:
                with lock:
                    warm["n"] += 1
                continue
            if status != 201:
                with lock:
                    key = f"{status}:{payload[:80]!r}"
                    errors[key] = errors.get(key, 0) + 1
                continue
            mine.append((elapsed, _server_timing(got.get("server-timing", ""))))
        conn.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = [s[0] for s in samples]
    p99 = pct(latencies, 0.99)
    tail = [s for s in samples if s[0] >= p99] or samples

    def mean(rows: list[tuple[float, dict[str, float]]], key: str) -> float:
        values = [r[1].get(key, 0.0) for r in rows]
        return statistics.fmean(values) if values else 0.0

    def breakdown(rows: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
        total = statistics.fmean([r[0] for r in rows]) if rows else 0.0
        app, db, lock_ms = mean(rows, "app"), mean(rows, "db"), mean(rows, "lock")
        return {
            "total": total,
            "queue": max(0.0, total - app),  # in gunicorn's backlog, or on the wire
            "cpu": mean(rows, "cpu"),
            "db": db - lock_ms,
            "lock": lock_ms,
            "gc": mean(rows, "gc"),
            "other": max(0.0, app - db - mean(rows, "cpu")),
        }

    print(
        json.dumps(
            {
                "count": len(latencies),
                "seconds": args.seconds,
                "p50": pct(latencies, 0.5),
                "p90": pct(latencies, 0.9),
                "p99": p99,
                "max": max(latencies) if latencies else float("nan"),
                "mean": statistics.fmean(latencies) if latencies else 0.0,
                "statements": mean(samples, "sql"),
                "max_lock": max((s[1].get("lock", 0.0) for s in samples), default=0.0),
                "max_queue": max(
                    (max(0.0, s[0] - s[1].get("app", 0.0)) for s in samples), default=0.0
                ),
                "server_cpu_ms": mean(samples, "cpu"),
                "all": breakdown(samples),
                "tail": breakdown(tail),
                "replays": replays,
                "errors": errors,
                "warmup_count": warm["n"],
            }
        )
    )


# --------------------------------------------------------------------------- orchestration


def setup_django(url: str, workdir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = url
    os.environ["CUEILLETTE_VAR_DIR"] = str(workdir)
    os.environ["CUEILLETTE_LOG_LEVEL"] = "ERROR"
    # As for the served app: the profile's thousand purchases on one key are not a flood.
    os.environ["CUEILLETTE_API_RATE_LIMIT"] = "100000000"
    import django

    django.setup()


_ISSUED: set[str] = set()  # card numbers issued by this run (unique per organization)


def add_members(org: Any, count: int, start: int) -> list[str]:
    """``count`` customers with an open card (bulk); returns the card numbers."""
    from django.db import transaction
    from django.utils import timezone

    from cueillette.core import tenancy
    from cueillette.customers.models import Customer
    from cueillette.customers.normalize import fold
    from cueillette.loyalty import rules
    from cueillette.loyalty.models import Card

    rng = random.Random(start)
    first = ["Inès", "Paul", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Emma", "Nour"]
    last = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy"]
    numbers: list[str] = []
    seen = _ISSUED
    now = timezone.now()
    batch = 5000
    with tenancy.tenant_context(org):
        for offset in range(0, count, batch):
            size = min(batch, count - offset)
            customers = []
            for i in range(start + offset, start + offset + size):
                f, la = rng.choice(first), f"{rng.choice(last)}{i}"
                customers.append(
                    Customer(
                        organization=org,
                        first_name=f,
                        last_name=la,
                        email=f"member{i}@example.net",
                        phone=f"+3361{i:07d}",
                        search_first=fold(f),
                        search_last=fold(la),
                        search_phone=f"61{i:07d}",
                    )
                )
            with transaction.atomic():
                created = Customer.objects.bulk_create(customers)
                cards = []
                for c in created:
                    number = rules.generate_card_number(rng)
                    while number in seen:
                        number = rules.generate_card_number(rng)
                    seen.add(number)
                    numbers.append(number)
                    cards.append(Card(organization=org, customer=c, number=number, opened_at=now))
                Card.objects.bulk_create(cards)
    return numbers


def wait_ready(port: int, key: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/rewards", headers={"Authorization": f"Bearer {key}"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer")


def timed_lookups(port: int, key: str, numbers: list[str], count: int) -> list[float]:
    rng = random.Random(7)
    out = []
    headers = {"Authorization": f"Bearer {key}", "Host": "127.0.0.1"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        number = rng.choice(numbers)
        t0 = time.perf_counter()
        conn.request("GET", f"/api/v1/cards/{number}", headers=headers)
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - t0) * 1000)
        assert response.status == 200, response.status
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
    conn.close()
    return out


def run_pgbench(url_name: str, seconds: int) -> float:
    base = BASE_DATABASE_URL.rpartition("/")[0]  # postgres://user@host:port
    m = re.match(r"postgres(?:ql)?://(?:([^:@/]+)(?::[^@/]*)?@)?([^:/]+)(?::(\d+))?", base)
    if not m:
        raise SystemExit(f"cannot parse {BASE_DATABASE_URL}")
    user, host, port = m.group(1) or "postgres", m.group(2), m.group(3) or "5432"
    common = ["-h", host, "-p", port, "-U", user]
    exe = pgbench_bin()
    subprocess.run([exe, "-i", "-q", *common, url_name], check=True, capture_output=True)
    proc = subprocess.run(
        [exe, "-c", "2", "-j", "2", "-T", str(seconds), *common, url_name],
        check=True,
        capture_output=True,
        text=True,
    )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
    if tps is None:
        tps = re.search(r"tps = ([\d.]+)", proc.stdout)
    assert tps is not None, proc.stdout
    return float(tps.group(1))


def queries_per_purchase(org: Any, numbers: list[str]) -> int:
    """How many SQL statements one purchase through the service costs (for the report)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cueillette.core import tenancy
    from cueillette.core.audit import Actor
    from cueillette.loyalty import services

    with tenancy.tenant_context(org), CaptureQueriesContext(connection) as ctx:
        card = services.find_card(numbers[0])
        services.record_purchase(
            card,
            amount="12.30",
            actor=Actor.api("bench", ["loyalty:write"]),
            source="api",
            receipt_id="Q-1",
        )
    return len(ctx.captured_queries)


def profile_purchases(org: Any, numbers: list[str], raw_key: str, count: int, top: int) -> None:
    """``--profile``: ``count`` purchases through Django's test client (the whole request:
    middleware, key authentication, ninja, the action), CPU ms each, and the functions that
    cost most under cProfile (by own time, then by cumulative time)."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_HOST="127.0.0.1")
    rng = random.Random(5)

    def one(i: int) -> None:
        body = {"card_number": rng.choice(numbers), "amount": "18.40", "receipt_id": f"P-{i}"}
        response = client.post(
            "/api/v1/purchases",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"prof-{i}-{uuid.uuid4().hex[:8]}",
        )
        assert response.status_code == 201, response.content

    for i in range(50):  # warm: imports, caches, prepared rules
        one(i)
    t0 = time.process_time()
    for i in range(50, 50 + count):
        one(i)
    cpu_ms = (time.process_time() - t0) * 1000 / count
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        one(50 + 2 * count)
    print(f"profile: one HTTP purchase, {len(ctx.captured_queries)} statements:")
    for q in ctx.captured_queries:
        print("   ", q["sql"][:160].replace("\n", " "))
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
    profiler.enable()
    for i in range(50 + count, 50 + 2 * count):
        one(i)
    profiler.disable()
    connection.close()
    print(f"profile: {count} purchases in process, {cpu_ms:.2f} CPU ms each (no profiler)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        print(out.getvalue())


def gunicorn_cpu_ms(master_pid: int) -> float:
    """CPU time (user + system) of gunicorn's master and workers so far, in ms."""
    clk = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [master_pid]
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    if children.exists():
        pids += [int(x) for x in children.read_text().split()]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * 1000 / clk


def checkpoints(conn: Any) -> int:
    row = conn.execute(
        "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
    ).fetchone()
    return int(row[0])


def ledger_check(url: str) -> dict[str, int]:
    """Every card's balance against the sum of its ledger; receipts credited twice."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        mismatched = conn.execute(
            "SELECT count(*) FROM loyalty_card c LEFT JOIN (SELECT card_id, sum(points) s "
            "FROM loyalty_pointsentry GROUP BY card_id) e ON e.card_id = c.id "
            "WHERE c.balance <> COALESCE(e.s, 0)"
        ).fetchone()[0]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT purchase_id FROM loyalty_pointsentry "
            "WHERE purchase_id IS NOT NULL AND kind IN ('purchase', 'visit') "
            "GROUP BY purchase_id HAVING count(*) > 1) x"
        ).fetchone()[0]
        twice += conn.execute(
            "SELECT count(*) FROM (SELECT organization_id, receipt_id FROM loyalty_purchase "
            "GROUP BY organization_id, receipt_id HAVING count(*) > 1) x"
        ).fetchone()[0]
        twice += conn.execute(
            "SELECT count(*) FROM (SELECT cause FROM loyalty_pointsentry WHERE cause LIKE "
            "'bench:%%' GROUP BY cause HAVING count(*) > 1) x"
        ).fetchone()[0]
        purchases = conn.execute("SELECT count(*) FROM loyalty_purchase").fetchone()[0]
    return {
        "mismatched_cards": int(mismatched),
        "credited_twice": int(twice),
        "purchases": purchases,
    }


def run_phase(
    mode: str,
    args: argparse.Namespace,
    port: int,
    key: str,
    numbers_file: Path,
    url: str,
    master_pid: int,
) -> dict[str, Any]:
    """One load phase in a separate process; adds checkpoints and server CPU per request."""
    import psycopg

    load_cmd = [
        sys.executable,
        __file__,
        "--load",
        "--mode",
        mode,
        "--port",
        str(port),
        "--key",
        key,
        "--numbers",
        str(numbers_file),
        "--seconds",
        str(args.seconds),
        "--connections",
        str(args.connections),
        "--retry-every",
        str(args.retry_every),
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        ck0 = checkpoints(conn)
    cpu0 = gunicorn_cpu_ms(master_pid)
    proc = subprocess.run(load_cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"load {mode} failed: {proc.stderr[-2000:]}")
    cpu = gunicorn_cpu_ms(master_pid) - cpu0
    with psycopg.connect(url, autocommit=True) as conn:
        ck = checkpoints(conn) - ck0
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rate"] = result["count"] / args.seconds
    result["checkpoints"] = ck
    # Includes the warm-up's requests: per request over everything the workers did.
    sent = result["count"] + result.get("warmup_count", 0) + sum(result["errors"].values())
    sent += result["replays"]["ok"] + result["replays"]["bad"]
    result["machine_cpu_ms"] = cpu / max(1, sent)
    return result


def describe(label: str, r: dict[str, Any]) -> None:
    t, a = r["tail"], r["all"]
    errors = sum(r["errors"].values())
    print(
        f"{label}: {r['count']:,} in {r['seconds']} s = {r['rate']:.1f}/s; "
        f"p50 {r['p50']:.1f} / p90 {r['p90']:.1f} / p99 {r['p99']:.1f} / max {r['max']:.1f} ms; "
        f"{r['statements']:.1f} statements/request; CPU {r['server_cpu_ms']:.2f} ms/request in "
        f"the view thread, {r['machine_cpu_ms']:.2f} ms/request in gunicorn's processes; "
        f"errors {errors}" + (f" {r['errors']}" if errors else "")
    )
    print(
        f"    longest wait for the card's lock {r['max_lock']:.1f} ms; longest wait for a free "
        f"worker (gunicorn's queue and the wire) {r['max_queue']:.1f} ms"
    )
    for name, b in (("all", a), ("slowest 1%", t)):
        end = (
            f"checkpoints during the phase: {r['checkpoints']}"
            if name == "all"
            else f"tail from: {tail_cause(b)}"
        )
        print(
            f"    {name:>10}: mean {b['total']:.1f} ms = queue/wire {b['queue']:.1f} + "
            f"Python CPU {b['cpu']:.1f} + SQL {b['db']:.1f} + card lock {b['lock']:.1f} "
            f"+ other {b['other']:.1f} (gc {b['gc']:.1f}); {end}"
        )


def tail_cause(b: dict[str, float]) -> str:
    parts = {
        "gunicorn queue (all workers busy)": b["queue"],
        "Python CPU": b["cpu"],
        "SQL": b["db"],
        "card lock wait": b["lock"],
        "other (GIL/descheduled)": b["other"],
    }
    return max(parts, key=lambda k: parts[k])


def main(args: argparse.Namespace) -> None:
    import psycopg

    try:
        with psycopg.connect(BASE_DATABASE_URL, connect_timeout=3, autocommit=True):
            pass
    except Exception as exc:
        raise SystemExit(
            f"no PostgreSQL at {BASE_DATABASE_URL} ({exc}): run make pg-start"
        ) from exc
    print(f"load average at start: {os.getloadavg()} on {os.cpu_count()} cores")
    name = f"{args.db_prefix}_{os.getpid()}"
    url = db_url(name)
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-"))
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
            "CUEILLETTE_WARM_UP": "0",
        }
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"],
            env=env,
            check=True,
            cwd=ROOT,
        )
        setup_django(url, workdir)
        from decimal import Decimal

        from django.db import connection

        from cueillette.apikeys.services import create_api_key
        from cueillette.core import tenancy
        from cueillette.core.audit import Actor
        from cueillette.core.tests.factories import OrganizationFactory
        from cueillette.loyalty import services
        from cueillette.loyalty.models import Tier

        org = OrganizationFactory(name="Boulangerie Bench", slug="boulangerie-bench")
        with tenancy.tenant_context(org):
            program = services.get_program()
            program.points_per_euro = Decimal(1)
            program.points_per_visit = 1
            program.save()
            Tier.objects.create(code="silver", name="Argent", threshold=200, multiplier="1.5")
            Tier.objects.create(code="gold", name="Or", threshold=1000, multiplier="2")
            _key, raw_key = create_api_key("Bench till", "write", actor=Actor.system("bench"))
        numbers = add_members(org, args.members, 0)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"setup: {args.members:,} members, migrated and seeded in "
            f"{time.perf_counter() - t0:.1f} s (database {name})"
        )
        numbers_file = workdir / "numbers.txt"
        numbers_file.write_text("\n".join(numbers))
        nqueries = queries_per_purchase(org, numbers)
        print(f"one purchase through the service (in process): {nqueries} SQL statements")
        connection.close()
        if args.profile:
            profile_purchases(org, numbers, raw_key, args.profile, args.profile_top)
            if args.profile_only:
                return

        port = free_port()
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi:application",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env={**env, "DJANGO_SETTINGS_MODULE": "bench.till_settings"},
            cwd=ROOT,
            start_new_session=True,
        )
        wait_ready(port, raw_key, gunicorn)
        print(
            f"gunicorn: {args.workers} sync workers, bench.till_settings (persistent "
            f"connections); {args.connections} load connections, {args.seconds} s per phase"
        )

        phases: dict[str, dict[str, Any]] = {}
        for mode, label in (
            ("floor", "floor (hand-written, 1 statement)"),
            ("purchase", "ours POST /api/v1/purchases"),
            ("hot", f"hot card ({args.connections} connections, one card)"),
        ):
            phases[mode] = run_phase(mode, args, port, raw_key, numbers_file, url, gunicorn.pid)
            describe(label, phases[mode])
        floor, ours, hot = phases["floor"], phases["purchase"], phases["hot"]
        replays = ours["replays"]
        print(f"retries replayed: {replays['ok']} ok, {replays['bad']} wrong")

        check = ledger_check(url)
        double_credits = check["mismatched_cards"] + check["credited_twice"] + replays["bad"]
        print(
            f"ledger check over {check['purchases']:,} purchases: "
            f"{check['mismatched_cards']} cards whose balance differs from their ledger, "
            f"{check['credited_twice']} receipts credited twice -> double_credits={double_credits}"
        )

        tps = run_pgbench(name, args.seconds)
        ratio = ours["rate"] / floor["rate"] if floor["rate"] else 0.0
        print(f"pgbench (TPC-B-like, 2 clients, 2 threads, {args.seconds} s): {tps:.1f} tps")
        print(
            f"ratio ours/floor = {ours['rate']:.1f} / {floor['rate']:.1f} = {ratio:.3f} "
            f"(target >= {TARGET_RATIO}); floor/pgbench = {floor['rate'] / tps:.3f}"
        )

        extra = max(0, args.lookup_members - args.members)
        t1 = time.perf_counter()
        numbers += add_members(org, extra, args.members)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        added_in = time.perf_counter() - t1
        print(f"lookup: {len(numbers):,} members ({extra:,} added in {added_in:.1f} s)")
        lookups = timed_lookups(port, raw_key, numbers, args.lookups)
        in_process = []
        rng = random.Random(11)
        with tenancy.tenant_context(org):
            for _ in range(args.lookups):
                number = rng.choice(numbers)
                s = time.perf_counter()
                services.find_card(number)
                in_process.append((time.perf_counter() - s) * 1000)
        connection.close()
        lp50, lp99 = pct(lookups, 0.5), pct(lookups, 0.99)
        qp99 = pct(in_process, 0.99)
        print(
            f"counter lookup GET /api/v1/cards/{{number}} x{args.lookups}: p50 {lp50:.2f} ms, "
            f"p99 {lp99:.2f} ms (card query alone p99 {qp99:.2f} ms)"
        )
        errors = sum(ours["errors"].values()) + sum(hot["errors"].values())
        targets = {
            f"ratio >= {TARGET_RATIO}": ratio >= TARGET_RATIO,
            f"purchases/s >= {TARGET_RATE}": ours["rate"] >= TARGET_RATE,
            f"purchase p99 < {TARGET_PURCHASE_P99_MS:.0f} ms": ours["p99"] < TARGET_PURCHASE_P99_MS,
            f"hot card max < {TARGET_HOT_MAX_MS:.0f} ms": hot["max"] < TARGET_HOT_MAX_MS,
            "0 errors": errors == 0,
            "0 double credits": double_credits == 0,
            f"lookup p99 < {TARGET_LOOKUP_P99_MS:.0f} ms": lp99 < TARGET_LOOKUP_P99_MS,
        }
        for what, met in targets.items():
            print(f"target {what}: {'met' if met else 'MISSED'}")
        ok = all(targets.values())
        print(f"load average at end: {os.getloadavg()}")
        figures = {
            "bench": "loyalty",
            "ratio": f"{ratio:.3f}",
            "purchases_per_s": f"{ours['rate']:.1f}",
            "purchase_p99_ms": f"{ours['p99']:.2f}",
            "floor_per_s": f"{floor['rate']:.1f}",
            "pgbench_tps": f"{tps:.1f}",
            "statements_per_purchase": f"{ours['statements']:.1f}",
            "double_credits": str(double_credits),
            "hot_card_max_ms": f"{hot['max']:.2f}",
            "hot_card_p99_ms": f"{hot['p99']:.2f}",
            "hot_card_max_lock_ms": f"{hot['max_lock']:.2f}",
            "hot_card_max_queue_ms": f"{hot['max_queue']:.2f}",
            "hot_card_per_s": f"{hot['rate']:.1f}",
            "purchase_p50_ms": f"{ours['p50']:.2f}",
            "purchase_p90_ms": f"{ours['p90']:.2f}",
            "purchase_max_ms": f"{ours['max']:.2f}",
            "floor_p50_ms": f"{floor['p50']:.2f}",
            "floor_p99_ms": f"{floor['p99']:.2f}",
            "floor_statements": f"{floor['statements']:.1f}",
            "service_statements": str(nqueries),
            "cpu_ms_per_purchase": f"{ours['server_cpu_ms']:.2f}",
            "cpu_ms_per_floor": f"{floor['server_cpu_ms']:.2f}",
            "tail": tail_cause(ours["tail"]).split(" ")[0],
            "errors": str(errors),
            "lookup_members": str(len(numbers)),
            "lookup_p99_ms": f"{lp99:.2f}",
            "workers": str(args.workers),
            "connections": str(args.connections),
            "seconds": str(args.seconds),
            "loadavg": f"{os.getloadavg()[0]:.1f}",
            "target_met": "yes" if ok else "no",
        }
        print("RESULT " + " ".join(f"{k}={v}" for k, v in figures.items()))
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.send_signal(signal.SIGTERM)
            try:
                gunicorn.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, signal.SIGKILL)
                gunicorn.wait()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        with psycopg.connect(BASE_DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--lookup-members", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--retry-every", type=int, default=50)
    parser.add_argument("--db-prefix", default="cueillette_bench_till")
    parser.add_argument("--mode", default="purchase", choices=["purchase", "floor", "hot"])
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile N purchases in process (cProfile) before the load",
    )
    parser.add_argument("--profile-top", type=int, default=40)
    parser.add_argument(
        "--profile-only", action="store_true", help="stop after the profile (no load phases)"
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--numbers", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=float, default=2.0, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.load:
        load(cli)
    else:
        main(cli)
