#!/usr/bin/env python3
"""Benchmark: bulk import of 100,000 customers with consents, then searches.

For each database (SQLite in a temporary file; PostgreSQL when DATABASE_URL is set or the
throwaway server of ``make pg-start`` answers on 127.0.0.1:55432):

1. generate 100,000 realistic rows (French names, phones in the formats people type, emails,
   consent columns);
2. baselines: a plain ``executemany`` of the same, already-normalised customer and consent
   rows into the same tables, in one transaction; on PostgreSQL also ``COPY ... FROM STDIN``
   of the same rows (``copy_ratio`` = bulk path : COPY);
3. the bulk path the project offers (``cueillette.customers.bulk.import_rows``, what the
   ``import_customers`` command and the API use): validation of every row, duplicate checks,
   consent ledger entries, batched transactions;
4. 1,000 searches each by phone, by email and by name prefix through
   ``cueillette.customers.queries.search`` (what the counter page calls), p50 and p99.

Targets: the bulk path at least one third of the raw insert rate (executemany, and COPY on
PostgreSQL); search p99 under 10 ms; name search p99 under 5 ms on PostgreSQL.
The last line is machine-readable: ``RESULT bench=customers ratio=<x> key=value ...``.

Usage: ``python bench/customers.py [--rows N] [--searches N] [--db sqlite|postgres|all]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgres://cueillette@127.0.0.1:55432/cueillette"
DOMAINS = ["orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "outlook.fr"]
TARGET_RATIO = 1 / 3
TARGET_P99_MS = 10.0
TARGET_PG_NAME_P99_MS = 5.0  # issue 16, at 100,000 customers


# --------------------------------------------------------------------------- orchestration


# The server given at start (setup_django points DATABASE_URL at a scratch database after).
BASE_DATABASE_URL = os.environ.get("DATABASE_URL") or PG_DEFAULT


def pg_url() -> str | None:
    """The PostgreSQL server to use, if any answers."""
    url = BASE_DATABASE_URL
    if not url.startswith("postgres"):
        return None
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2):
            return url
    except Exception:
        return None


def run_child(db: str, args: argparse.Namespace) -> dict[str, str]:
    """Run one database's measurement in its own process (Django settings are per process)."""
    cmd = [
        sys.executable,
        __file__,
        "--db",
        db,
        "--child",
        "--rows",
        str(args.rows),
        "--searches",
        str(args.searches),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench on {db} failed")
    last = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return dict(kv.split("=", 1) for kv in last.split()[1:])


def orchestrate(args: argparse.Namespace) -> None:
    dbs = ["sqlite"]
    if args.db in ("postgres", "all"):
        if pg_url() is None:
            if args.db == "postgres":
                raise SystemExit("no PostgreSQL answers (set DATABASE_URL or run make pg-start)")
            print("PostgreSQL: not reachable, skipped (make pg-start, or set DATABASE_URL)")
        else:
            dbs.append("postgres")
    if args.db == "postgres":
        dbs = ["postgres"]
    results = {db: run_child(db, args) for db in dbs}
    ratio = min(float(r["ratio"]) for r in results.values())
    p99 = max(float(v) for r in results.values() for k, v in r.items() if k.endswith("_p99_ms"))
    ok = ratio >= TARGET_RATIO and p99 < TARGET_P99_MS
    pg = results.get("postgres")
    if pg is not None:
        pg_p99 = float(pg["search_name_p99_ms"])
        ok = ok and pg_p99 < TARGET_PG_NAME_P99_MS and float(pg["copy_ratio"]) >= TARGET_RATIO
        print(
            f"PostgreSQL name search p99 {pg_p99:.2f} ms (target < {TARGET_PG_NAME_P99_MS:.0f} "
            f"ms at {args.rows:,} customers); bulk : COPY {float(pg['copy_ratio']):.2f}"
        )
    print()
    print(
        f"overall: worst ratio {ratio:.2f} (target >= {TARGET_RATIO:.2f}), "
        f"worst search p99 {p99:.2f} ms (target < {TARGET_P99_MS:.0f} ms): "
        f"{'OK' if ok else 'MISSED'}"
    )
    copy_ratios = [float(r["copy_ratio"]) for r in results.values() if "copy_ratio" in r]
    pg_name_p99 = results.get("postgres", {}).get("search_name_p99_ms")
    figures = {
        "bench": "customers",
        "ratio": f"{ratio:.3f}",
        "copy_ratio": f"{min(copy_ratios):.3f}" if copy_ratios else "n/a",
        "worst_search_p99_ms": f"{p99:.2f}",
        "pg_name_search_p99_ms": pg_name_p99 or "n/a",
    }
    for db, res in results.items():
        for key, value in res.items():
            if key != "bench":
                figures[f"{db}_{key}"] = value
    figures["target_met"] = "yes" if ok else "no"
    print("RESULT " + " ".join(f"{k}={v}" for k, v in figures.items()))


# --------------------------------------------------------------------------- one database


def setup_django(db: str, workdir: Path) -> str | None:
    """Point Django at a fresh database; return a PostgreSQL database name to drop after."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CUEILLETTE_VAR_DIR"] = str(workdir)
    os.environ["CUEILLETTE_LOG_LEVEL"] = "ERROR"
    created = None
    if db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        os.environ["CUEILLETTE_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
    else:
        import psycopg

        base = pg_url()
        if base is None:
            raise SystemExit("no PostgreSQL")
        created = f"cueillette_bench_till_customers_{os.getpid()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{created}"')
            conn.execute(f'CREATE DATABASE "{created}"')
        prefix, _sep, _name = base.rpartition("/")
        os.environ["DATABASE_URL"] = f"{prefix}/{created}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return created


def drop_pg(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    base = pg_url()
    if base:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def make_rows(n: int, seed: int = 42) -> list[dict[str, str]]:
    """CSV-like rows as an export from another tool would give them."""
    from faker import Faker

    from cueillette.customers.normalize import fold

    rng = random.Random(seed)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    firsts = list({fake.first_name() for _ in range(3000)})
    lasts = list({fake.last_name() for _ in range(6000)})
    phone_numbers = rng.sample(range(10_000_000), n)  # 06 1x xx xx xx: valid French mobiles
    rows = []
    for i in range(n):
        first, last = rng.choice(firsts), rng.choice(lasts)
        digits = f"61{phone_numbers[i]:07d}"
        fmt = rng.random()
        if fmt < 0.4:
            phone = "0" + " ".join([digits[0], digits[1:3], digits[3:5], digits[5:7], digits[7:]])
        elif fmt < 0.7:
            phone = "0" + digits
        else:
            phone = "+33 " + digits[0] + " " + digits[1:]
        email = f"{fold(first).replace(' ', '-')}.{fold(last).replace(' ', '')}{i}"
        email += "@" + rng.choice(DOMAINS)
        row = {
            "first_name": first,
            "last_name": last,
            "email": email if rng.random() > 0.08 else "",
            "phone": phone if rng.random() > 0.05 else "",
            "postal_code": rng.choice(["69001", "69002", "69003", "69004", "69006", "69007"]),
            "consent_loyalty": "oui" if rng.random() < 0.6 else "",
            "consent_news_sms": "",
            "consent_news_email": "",
            "consent_news_email_confirmed_at": "",
            "consent_profiling": "oui" if rng.random() < 0.2 else "",
        }
        if row["phone"]:
            r = rng.random()
            row["consent_news_sms"] = "oui" if r < 0.15 else ("non" if r < 0.25 else "")
        if row["email"] and rng.random() < 0.3:
            row["consent_news_email"] = "oui"
            row["consent_news_email_confirmed_at"] = f"2024-{rng.randint(1, 12):02d}-15T10:00"
        if not row["email"] and not row["phone"]:
            row["email"] = email
        rows.append(row)
    return rows


def raw_tables(rows: list[dict[str, str]], org_id: int, id_base: int) -> tuple[Any, ...]:
    """The same rows, already normalised, as tuples for a plain executemany (not timed)."""
    from django.utils import timezone

    from cueillette.customers.bulk import _parse_moment
    from cueillette.customers.models import PURPOSE_CHANNEL, ConsentEvent, ConsentWording, Customer
    from cueillette.customers.normalize import fold, normalize_email, normalize_phone

    now = timezone.now()
    wordings = {
        w.purpose: w
        for w in ConsentWording.objects.unscoped().filter(organization_id=org_id, language="fr")
    }
    cust_fields = [f for f in Customer._meta.concrete_fields]
    event_fields = [f for f in ConsentEvent._meta.concrete_fields if f.column != "id"]
    customers, events = [], []
    for i, row in enumerate(rows):
        pk = id_base + i
        phone = normalize_phone(row["phone"])
        values = {
            "id": pk,
            "organization_id": org_id,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email": normalize_email(row["email"]),
            "phone": phone,
            "postal_code": row["postal_code"],
            "language": "fr",
            "birthday": None,
            "notes": "",
            "tags": "[]",
            "heard_from": "",
            "heard_from_detail": "",
            "source": "import",
            "status": "active",
            "merged_into_id": None,
            "created_at": now,
            "updated_at": now,
            "last_activity_at": now,
            "retention_warned_at": None,
            "erased_at": None,
            "search_last": fold(row["last_name"]),
            "search_first": fold(row["first_name"]),
            "search_phone": phone[3:] if phone else "",
        }
        customers.append(tuple(values[f.column] for f in cust_fields))
        for purpose in ("loyalty", "news_sms", "news_email", "profiling"):
            answer = row[f"consent_{purpose}"]
            if not answer:
                continue
            evidence: dict[str, Any] = {"import_line": i + 2}
            if purpose == "news_email":
                proof = _parse_moment(row["consent_news_email_confirmed_at"])
                evidence["double_opt_in_confirmed_at"] = proof.isoformat()
            w = wordings[purpose]
            ev = {
                "organization_id": org_id,
                "customer_id": pk,
                "purpose": purpose,
                "channel": PURPOSE_CHANNEL[purpose],
                "granted": answer == "oui",
                "occurred_at": now,
                "recorded_at": now,
                "source": "import",
                "wording_id": w.pk,
                "wording_hash": w.text_hash,
                "actor_kind": "system",
                "actor_user_id": None,
                "actor_label": "bench",
                "evidence": json.dumps(evidence),
            }
            events.append(tuple(ev[f.column] for f in event_fields))
    return cust_fields, customers, event_fields, events


def insert_sql(table: str, fields: list[Any]) -> str:
    from django.db import connection

    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {connection.ops.quote_name(table)} ({cols}) VALUES ({marks})"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(db: str, n_rows: int, n_searches: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="cueillette-bench-"))
    pg_name = None
    try:
        pg_name = setup_django(db, workdir)
        _measure(db, n_rows, n_searches)
    finally:
        if pg_name:
            drop_pg(pg_name)
        shutil.rmtree(workdir, ignore_errors=True)


def _measure(db: str, n_rows: int, n_searches: int) -> None:
    from django.db import connection, transaction

    from cueillette.core.audit import Actor
    from cueillette.core.models import Organization
    from cueillette.core.tenancy import tenant_context
    from cueillette.customers import queries
    from cueillette.customers.bulk import import_rows
    from cueillette.customers.models import ConsentEvent, Customer
    from cueillette.customers.services import seed_wordings

    label = "SQLite" if db == "sqlite" else "PostgreSQL"
    print(f"== {label}: {n_rows:,} customers with consents")
    t0 = time.perf_counter()
    rows = make_rows(n_rows)
    print(f"generated rows in {time.perf_counter() - t0:.1f} s")

    raw_org = Organization.objects.create(name="Raw", slug="bench-raw")
    org = Organization.objects.create(name="Épicerie du banc d'essai", slug="bench-bulk")
    for o in (raw_org, org):
        with tenant_context(o):
            seed_wordings(o)

    # Baseline: plain executemany of the same normalised rows, same tables, one transaction.
    cust_fields, customers, event_fields, events = raw_tables(rows, raw_org.pk, 50_000_000)
    cust_sql = insert_sql(Customer._meta.db_table, cust_fields)
    event_sql = insert_sql(ConsentEvent._meta.db_table, event_fields)
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(cust_sql, customers)
        cursor.executemany(event_sql, events)
    raw_s = time.perf_counter() - t0
    raw_rate = n_rows / raw_s
    print(
        f"raw executemany: {n_rows:,} customers + {len(events):,} consent rows "
        f"in {raw_s:.2f} s = {raw_rate:,.0f} customers/s"
    )
    with transaction.atomic():
        ConsentEvent.objects.unscoped().filter(organization=raw_org).delete()
        Customer.objects.unscoped().filter(organization=raw_org).delete()

    # PostgreSQL's own bulk door: COPY of the same normalised rows, same tables, one transaction.
    copy_rate = None
    if connection.vendor == "postgresql":
        q = connection.ops.quote_name
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            raw_cursor = cursor.cursor  # psycopg's own cursor (Django's wrapper has no copy)
            for table, fields, values in (
                (Customer._meta.db_table, cust_fields, customers),
                (ConsentEvent._meta.db_table, event_fields, events),
            ):
                cols = ", ".join(q(f.column) for f in fields)
                with raw_cursor.copy(f"COPY {q(table)} ({cols}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
        copy_s = time.perf_counter() - t0
        copy_rate = n_rows / copy_s
        print(
            f"raw COPY: {n_rows:,} customers + {len(events):,} consent rows "
            f"in {copy_s:.2f} s = {copy_rate:,.0f} customers/s"
        )
        with transaction.atomic():
            ConsentEvent.objects.unscoped().filter(organization=raw_org).delete()
            Customer.objects.unscoped().filter(organization=raw_org).delete()

    # The bulk path.
    with tenant_context(org):
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # where the bulk path's time goes (cProfile)
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        report = import_rows(rows, actor=Actor.system("bench"))
        bulk_s = time.perf_counter() - t0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    assert report.ok, report.errors[:5]
    assert report.created == n_rows, (report.created, report.duplicates)
    bulk_rate = n_rows / bulk_s
    ratio = bulk_rate / raw_rate
    print(
        f"bulk import (validation, duplicates, consents): {report.created:,} customers + "
        f"{report.consents:,} consent rows in {bulk_s:.2f} s = {bulk_rate:,.0f} customers/s"
    )
    print(f"ratio to raw executemany: {ratio:.2f} (target >= {TARGET_RATIO:.2f})")
    copy_ratio = bulk_rate / copy_rate if copy_rate else None
    if copy_ratio is not None:
        print(f"ratio to raw COPY: {copy_ratio:.2f} (target >= {TARGET_RATIO:.2f})")

    # What autovacuum does after a bulk load on PostgreSQL (statistics, visibility map).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")

    # Searches: what the counter types.
    rng = random.Random(7)
    with tenant_context(org):
        sample = list(
            Customer.objects.exclude(phone="")
            .exclude(email="")
            .values_list("phone", "email", "search_last")[:20000]
        )
        terms = {
            "phone": [],
            "email": [],
            "name": [],
        }
        for _ in range(n_searches):
            phone, email, last = rng.choice(sample)
            national = "0" + phone[3:]
            terms["phone"].append(
                " ".join([national[:2], national[2:4], national[4:6], national[6:8], national[8:]])
            )
            terms["email"].append(email)
            terms["name"].append(last[: rng.choice([3, 4, 5])])
        figures: dict[str, float] = {}
        for kind, queries_list in terms.items():
            for term in queries_list[:50]:  # warm up (plans, caches)
                list(queries.search(term))
            timings = []
            found = 0
            for term in queries_list:
                t0 = time.perf_counter()
                result = list(queries.search(term))
                timings.append((time.perf_counter() - t0) * 1000)
                found += bool(result)
            p50, p99 = percentile(timings, 50), percentile(timings, 99)
            figures[f"search_{kind}_p50_ms"] = p50
            figures[f"search_{kind}_p99_ms"] = p99
            print(
                f"search by {kind}: {len(timings)} queries, p50 {p50:.2f} ms, p99 {p99:.2f} ms "
                f"(found {found}/{len(timings)}, target p99 < {TARGET_P99_MS:.0f} ms)"
            )
            if found != len(timings):
                raise SystemExit(f"search by {kind} missed existing customers")
    out = {
        "bench": "customers",
        "db": db,
        "rows": str(n_rows),
        "ratio": f"{ratio:.3f}",
        "rows_per_s": f"{bulk_rate:.0f}",
        "raw_rows_per_s": f"{raw_rate:.0f}",
        **(
            {"copy_ratio": f"{copy_ratio:.3f}", "copy_rows_per_s": f"{copy_rate:.0f}"}
            if copy_ratio is not None and copy_rate is not None
            else {}
        ),
        "bulk_s": f"{bulk_s:.2f}",
        "raw_s": f"{raw_s:.2f}",
        "consent_rows": str(report.consents),
        "searches": str(n_searches),
        **{k: f"{v:.2f}" for k, v in figures.items()},
    }
    print("RESULT " + " ".join(f"{k}={v}" for k, v in out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.db, args.rows, args.searches)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
