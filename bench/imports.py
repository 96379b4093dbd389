#!/usr/bin/env python3
# ruff: noqa: E501
"""Benchmark: importing a 1,000,000-row customer CSV and a 5,000,000-row sales CSV.

Everything is generated in the run, in a scratch PostgreSQL database:

1. a customers CSV as a French spreadsheet saves it (``;``, Windows-1252, CRLF, phones in the
   formats people type, consent to personalised offers for 60 % and to SMS news for 20 % of
   the rows; not the loyalty consent: each loyalty grant also issues a card through loyalty's
   own action, which is loyalty's cost, not the import's)
   and a sales CSV (date, ticket, amount with a decimal comma, the customer's email for half of
   the rows, the others anonymous);
2. ``manage.py import_customers <org> FILE --consent-basis paper`` and ``manage.py import_sales``,
   each in its own process (its peak resident memory is read from ``wait4``): validation of
   every row, duplicate checks, consent ledger entries, batches committed with their offset;
3. the baseline: PostgreSQL ``COPY`` of the same rows, already normalised (customers and their
   consent entries; sales), into the same tables, in the same run.

Targets: at least 1/5 of COPY's rate (both files); peak memory flat in file size (the 5M sales
import within 1.5x the 1M customer import's peak). Last line:
``RESULT bench=imports ratio=<x> customers_per_s=<n> sales_per_s=<n> peak_mb=<n>``.

Usage: ``python bench/imports.py [--quick] [--customers N] [--sales N]`` (DATABASE_URL names
the PostgreSQL server; ``--quick`` is for development: 20,000 and 100,000 rows).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgres://cueillette@127.0.0.1:55432/cueillette"
TARGET_RATIO = 1 / 5
TARGET_MEMORY = 1.5
FIRSTS = [
    "Camille",
    "Léa",
    "Hélène",
    "Zoé",
    "Chloé",
    "Inès",
    "Noé",
    "Jérôme",
    "François",
    "Aurélie",
    "Maël",
    "Loïc",
    "Anaïs",
    "Bastien",
    "Yann",
    "Gaëlle",
]
LASTS = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
]
DOMAINS = ["orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "outlook.fr"]


def phone_for(i: int, rng: random.Random) -> str:
    digits = f"61{(i * 7919) % 10_000_000:07d}"
    r = rng.random()
    if r < 0.4:
        return "0" + " ".join([digits[0], digits[1:3], digits[3:5], digits[5:7], digits[7:]])
    if r < 0.7:
        return "0" + digits
    return "+33 " + digits[0] + " " + digits[1:]


def email_for(i: int) -> str:
    return f"client.{i}@{DOMAINS[i % len(DOMAINS)]}"


def write_customers(path: Path, n: int) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write("Prénom;Nom;Courriel;Portable;Code postal;consent_profiling;consent_news_sms\r\n")
        for i in range(n):
            loyalty = "oui" if rng.random() < 0.6 else ""
            sms = "oui" if rng.random() < 0.2 else ""
            out.write(
                f"{FIRSTS[i % 16]};{LASTS[(i // 16) % 20]}{i};{email_for(i)};{phone_for(i, rng)};{69001 + i % 9};{loyalty};{sms}\r\n"
            )


def write_sales(path: Path, n: int, customers: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Date;Ticket;Montant;Courriel\r\n")
        for i in range(n):
            day = 1 + i % 28
            cents = rng.randint(100, 20000)
            email = email_for(rng.randrange(customers)) if rng.random() < 0.5 else ""
            out.write(
                f"{day:02d}/03/2024 {10 + i % 9}:{i % 60:02d};T-{i};{cents // 100},{cents % 100:02d};{email}\r\n"
            )


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one child process."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if proc.returncode != 0:
            sys.stderr.write(err.read()[-4000:])
            raise SystemExit(f"{' '.join(cmd[:4])} failed")
    return seconds, usage.ru_maxrss / 1024, stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="development sizes (20,000 / 100,000)")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--sales", type=int, default=5_000_000)
    args = parser.parse_args()
    if args.quick:
        args.customers, args.sales = 20_000, 100_000
    import psycopg

    base = os.environ.get("DATABASE_URL") or PG_DEFAULT
    scratch = f"cueillette_bench_imports_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    prefix = base.rpartition("/")[0]
    url = f"{prefix}/{scratch}"
    work = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="config.settings",
               CUEILLETTE_VAR_DIR=str(work), CUEILLETTE_LOG_LEVEL="ERROR", CUEILLETTE_FAST_HASHER="1")  # fmt: skip
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        setup = (
            "from cueillette.core.tests.factories import OrganizationFactory as F;"
            "F(slug='bench-import', name='Épicerie du banc');F(slug='bench-copy', name='Copie')"
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", setup], cwd=ROOT, env=env, check=True
        )
        customers_csv, sales_csv = work / "clients.csv", work / "ventes.csv"
        t0 = time.perf_counter()
        write_customers(customers_csv, args.customers)
        write_sales(sales_csv, args.sales, args.customers)
        print(f"generated {args.customers:,} customers and {args.sales:,} sales in {time.perf_counter() - t0:.1f} s "
              f"({customers_csv.stat().st_size / 1e6:.0f} MB + {sales_csv.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        manage = [sys.executable, "manage.py"]
        c_s, c_mb, c_out = run_measured(
            [
                *manage,
                "import_customers",
                "bench-import",
                str(customers_csv),
                "--consent-basis",
                "paper",
                "--quiet",
                "--batch-size",
                "2000",
            ],
            env,
        )
        c_line = c_out.strip().splitlines()[-1]
        print(
            f"import_customers: {c_s:.1f} s, {args.customers / c_s:,.0f} rows/s, peak {c_mb:.0f} MB: {c_line}"
        )
        s_s, s_mb, s_out = run_measured(
            [
                *manage,
                "import_sales",
                "bench-import",
                str(sales_csv),
                "--quiet",
                "--batch-size",
                "5000",
            ],
            env,
        )
        s_line = s_out.strip().splitlines()[-1]
        print(
            f"import_sales: {s_s:.1f} s, {args.sales / s_s:,.0f} rows/s, peak {s_mb:.0f} MB: {s_line}"
        )
        copy_c, copy_s = copy_baseline(url, c_line, args.customers, args.sales)
        print(
            f"COPY customers + consent entries: {copy_c:.1f} s, {args.customers / copy_c:,.0f} rows/s"
        )
        print(f"COPY sales: {copy_s:.1f} s, {args.sales / copy_s:,.0f} rows/s")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        for p in work.glob("*"):
            if p.is_file():
                p.unlink()
    c_ratio = copy_c / c_s
    s_ratio = copy_s / s_s
    ratio = min(c_ratio, s_ratio)
    memory = s_mb / c_mb
    print(f"ratio to COPY: customers {c_ratio:.3f}, sales {s_ratio:.3f} (target >= {TARGET_RATIO:.2f}): "
          f"{'OK' if ratio >= TARGET_RATIO else 'MISSED'}")  # fmt: skip
    print(f"peak memory: customers {c_mb:.0f} MB ({args.customers:,} rows), sales {s_mb:.0f} MB ({args.sales:,} rows): "
          f"{memory:.2f}x (target <= {TARGET_MEMORY}x): {'OK' if memory <= TARGET_MEMORY else 'MISSED'}")  # fmt: skip
    print(
        f"RESULT bench=imports ratio={ratio:.3f} customers_per_s={args.customers / c_s:.0f} "
        f"sales_per_s={args.sales / s_s:.0f} peak_mb={max(c_mb, s_mb):.0f} customers_ratio={c_ratio:.3f} "
        f"sales_ratio={s_ratio:.3f} customers_peak_mb={c_mb:.0f} sales_peak_mb={s_mb:.0f} "
        f"memory_ratio={memory:.2f} customers={args.customers} sales={args.sales}"
    )


def copy_baseline(url: str, summary: str, n_customers: int, n_sales: int) -> tuple[float, float]:
    """Seconds for COPY of the same rows, normalised, into the same tables (another org)."""
    import psycopg

    counts = dict(kv.split("=") for kv in summary.split())
    consents = int(counts.get("consent_entries", 0))
    rng = random.Random(42)
    with psycopg.connect(url) as conn:
        org = conn.execute("SELECT id FROM core_organization WHERE slug = 'bench-copy'").fetchone()[
            0
        ]
        wording = conn.execute(
            "SELECT id, text_hash FROM customers_consentwording WHERE organization_id = %s AND purpose = 'profiling' AND language = 'fr'",
            [org],
        ).fetchone()
        stamp = "2026-12-07 02:00:00+00"
        cust = io.StringIO()
        for i in range(n_customers):
            digits = f"61{(i * 7919) % 10_000_000:07d}"
            cust.write(
                f"{org}\t{FIRSTS[i % 16]}\t{LASTS[(i // 16) % 20]}{i}\t{email_for(i)}\t+33{digits}\t{69001 + i % 9}\tfr\t[]\timport\tactive\t{stamp}\t{stamp}\t{stamp}\t{LASTS[(i // 16) % 20].lower()}{i}\t{FIRSTS[i % 16].lower()}\t{digits}\t\t\\N\t\t\n"
            )
        rng.random()
        cols = "organization_id, first_name, last_name, email, phone, postal_code, language, tags, source, status, created_at, updated_at, last_activity_at, search_last, search_first, search_phone, notes, birthday, heard_from"
        data = cust.getvalue().encode()
        del cust
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(
                f"COPY customers_customer ({cols}, heard_from_detail) FROM STDIN"
            ) as copy:
                view = memoryview(data)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i : i + (1 << 20)])
            first_id = cur.execute(
                "SELECT min(id) FROM customers_customer WHERE organization_id = %s", [org]
            ).fetchone()[0]
            ev = io.StringIO()
            for k in range(consents):
                ev.write(
                    f'{org}\t{first_id + k % n_customers}\tprofiling\tnone\tt\t{stamp}\t{stamp}\timport\t{wording[0]}\t{wording[1]}\tsystem\timport\t{{"basis": "paper", "import_line": {k + 2}}}\n'
                )
            evdata = ev.getvalue().encode()
            del ev
            with cur.copy(
                "COPY customers_consentevent (organization_id, customer_id, purpose, channel, granted, occurred_at, recorded_at, source, wording_id, wording_hash, actor_kind, actor_label, evidence) FROM STDIN"
            ) as copy:
                view = memoryview(evdata)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i : i + (1 << 20)])
        conn.commit()
        copy_customers = time.perf_counter() - t0
        del data, evdata
        # Sales: generated and written in chunks (5M rows do not sit in memory); only COPY is timed.
        copy_sales = 0.0
        chunk = 500_000
        rng = random.Random(7)
        with conn.cursor() as cur:
            for start in range(0, n_sales, chunk):
                buf = io.StringIO()
                for i in range(start, min(n_sales, start + chunk)):
                    cents = rng.randint(100, 20000)
                    buf.write(
                        f"{org}\tcsv:T-{i}:sale\tsale\t{cents // 100}.{cents % 100:02d}\tEUR\t2024-03-{1 + i % 28:02d} 10:00:00+01\t\\N\t\tT-{i}\t\t\t\\N\t\\N\n"
                    )
                payload = buf.getvalue().encode()
                t0 = time.perf_counter()
                with cur.copy(
                    "COPY imports_importedsale (organization_id, row_key, kind, amount, currency, occurred_at, customer_id, matched_by, transaction_id, location, description, purchase_id, import_run_id) FROM STDIN"
                ) as copy:
                    copy.write(payload)
                conn.commit()
                copy_sales += time.perf_counter() - t0
    return copy_customers, copy_sales


if __name__ == "__main__":
    main()
