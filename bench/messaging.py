#!/usr/bin/env python3
"""Benchmark of the send gate on PostgreSQL (``DATABASE_URL``).

1. generate N customers (1,000,000 by default) of one organization with random consent
   histories for news by email (0 to 4 entries each, some withdrawn from the unsubscribe link),
   suppressed addresses (2 %), pauses and "fewer" choices (1 %), and a log of marketing
   messages over the last 60 days (about one per two customers), written with COPY;
2. the audience decision of a campaign to all of them (consent at the time, pressure cap,
   suppression, pause, quiet hours) through ``audience.decide_audience``, the function the
   campaign page and the send use; then one hand-written SQL query of the same logic, in the
   same run, and the ratio (ours / single query) — both must give the same counts;
3. the send rate: a campaign to S customers (5,000 by default) through the task queue
   (``tasks.dispatch_campaign``: one decision per customer, then ``delivery`` batches over one
   SMTP connection each) into a local SMTP sink (aiosmtpd on loopback).

Targets: the decision under 5 s for 1M customers and within 2x of the single query; at least
200 messages per second into the sink. Last line:
``RESULT bench=messaging ratio=<ours / single query> decide_s=<s> send_per_s=<n>``.

Usage: ``DATABASE_URL=postgres://... python bench/messaging.py [--customers N] [--send S]``.
The tables of the database are migrated; the benchmark's organization is removed afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
print = functools.partial(print, flush=True)


def setup(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("CUEILLETTE_VAR_DIR", "/tmp/cueillette-bench-messaging")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def copy_rows(cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(org: Any, n: int, now: dt.datetime, rng: random.Random) -> None:
    from django.db import connection

    from cueillette.core.tenancy import tenant_context
    from cueillette.customers.models import ConsentWording

    with tenant_context(org):
        wording = ConsentWording.objects.filter(purpose="news_email", language="fr").first()
    assert wording is not None
    raw = connection.connection  # psycopg 3
    with raw.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM customers_customer")
        base = int(cur.fetchone()[0]) + 1
        t0 = time.perf_counter()
        customers = []
        for i in range(n):
            email = "" if rng.random() < 0.03 else f"client{base + i}@exemple.fr"
            seen = now - dt.timedelta(days=rng.randint(0, 700))
            customers.append(
                (
                    base + i,
                    org.pk,
                    "Prénom",
                    f"Nom{i}",
                    email,
                    "",
                    "75011",
                    "fr",
                    "",
                    "[]",
                    "",
                    "",
                    "counter",
                    "active",
                    now,
                    now,
                    seen,
                    "nom",
                    "prenom",
                    "",
                )
            )
        copy_rows(
            cur,
            "customers_customer",
            [
                "id",
                "organization_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "postal_code",
                "language",
                "notes",
                "tags",
                "heard_from",
                "heard_from_detail",
                "source",
                "status",
                "created_at",
                "updated_at",
                "last_activity_at",
                "search_last",
                "search_first",
                "search_phone",
            ],
            customers,
        )
        events = []
        for i in range(n):
            cid = base + i
            at = now - dt.timedelta(days=rng.randint(30, 900))
            granted = False
            for _ in range(rng.choice((0, 1, 1, 1, 2, 3, 4))):
                granted = not granted if rng.random() < 0.6 else granted
                source = "unsubscribe_link" if not granted and rng.random() < 0.3 else "counter"
                events.append(
                    (
                        org.pk,
                        cid,
                        "news_email",
                        "email",
                        granted,
                        at,
                        now,
                        source,
                        wording.pk,
                        wording.text_hash,
                        "system",
                        "bench",
                        "{}",
                    )
                )
                at += dt.timedelta(days=rng.randint(1, 200), seconds=rng.randint(0, 86400))
        copy_rows(
            cur,
            "customers_consentevent",
            [
                "organization_id",
                "customer_id",
                "purpose",
                "channel",
                "granted",
                "occurred_at",
                "recorded_at",
                "source",
                "wording_id",
                "wording_hash",
                "actor_kind",
                "actor_label",
                "evidence",
            ],
            events,
        )
        suppressions = [
            (
                org.pk,
                "email",
                f"client{base + i}@exemple.fr",
                rng.choice(("hard_bounce", "complaint", "cleaned_import")),
                "",
                now,
            )
            for i in rng.sample(range(n), n // 50)
        ]
        copy_rows(
            cur,
            "messaging_suppression",
            ["organization_id", "channel", "address", "reason", "detail", "created_at"],
            suppressions,
        )
        prefs = [
            (
                org.pk,
                base + i,
                rng.random() < 0.5,
                now + dt.timedelta(days=30) if rng.random() < 0.5 else None,
                now,
            )
            for i in rng.sample(range(n), n // 100)
        ]
        copy_rows(
            cur,
            "messaging_preference",
            ["organization_id", "customer_id", "fewer", "paused_until", "updated_at"],
            prefs,
        )
        log = []
        for i in rng.sample(range(n), n // 2):
            sent = now - dt.timedelta(days=rng.uniform(0, 60))
            log.append(
                (
                    org.pk,
                    base + i,
                    "campaign",
                    "marketing",
                    "email",
                    "news_email",
                    f"client{base + i}@exemple.fr",
                    "fr",
                    "",
                    "{}",
                    "sent",
                    "allowed",
                    sent,
                    sent,
                    1,
                    "",
                    "",
                )
            )
        copy_rows(
            cur,
            "messaging_delivery",
            [
                "organization_id",
                "customer_id",
                "kind",
                "klass",
                "channel",
                "purpose",
                "address",
                "language",
                "subject",
                "payload",
                "status",
                "reason",
                "decided_at",
                "sent_at",
                "attempts",
                "last_error",
                "dedupe_key",
            ],
            log,
        )
        raw.commit()
        # A database in use has been vacuumed by autovacuum (insert thresholds): the
        # visibility map the index-only scans rely on is set, as after this.
        cur.execute("VACUUM ANALYZE")
        print(
            f"generated {n:,} customers, {len(events):,} consent entries, "
            f"{len(suppressions):,} suppressions, {len(prefs):,} preferences, "
            f"{len(log):,} past messages in {time.perf_counter() - t0:.1f} s"
        )


SINGLE_QUERY = """
WITH c AS (
  SELECT id, email FROM customers_customer WHERE organization_id = %(org)s AND status = 'active'
), latest AS (
  SELECT DISTINCT ON (customer_id) customer_id, granted, source
  FROM customers_consentevent
  WHERE organization_id = %(org)s AND purpose = 'news_email' AND occurred_at <= %(now)s
  ORDER BY customer_id, occurred_at DESC, id DESC
), recent AS (
  SELECT customer_id, count(*) AS n FROM messaging_delivery
  WHERE organization_id = %(org)s AND klass = 'marketing'
    AND ((status IN ('sending', 'sent') AND sent_at > %(since)s)
         OR status IN ('queued', 'deferred'))
  GROUP BY customer_id
)
SELECT CASE
    WHEN c.email = '' THEN 'no_address'
    WHEN s.reason = 'unsubscribe' THEN 'unsubscribed'
    WHEN s.reason IN ('hard_bounce', 'complaint') THEN 'bounced'
    WHEN s.reason IS NOT NULL THEN 'suppressed'
    WHEN latest.granted IS NOT TRUE AND latest.source = 'unsubscribe_link' THEN 'unsubscribed'
    WHEN latest.granted IS NOT TRUE THEN 'no_consent'
    WHEN p.paused_until > %(now)s THEN 'paused'
    WHEN coalesce(recent.n, 0) >= CASE WHEN p.fewer THEN least(%(cap)s, 1) ELSE %(cap)s END
      THEN 'capped'
    WHEN %(quiet)s THEN 'quiet_hours'
    ELSE 'allowed' END AS reason,
  count(*)
FROM c
LEFT JOIN latest ON latest.customer_id = c.id
LEFT JOIN messaging_suppression s
  ON s.organization_id = %(org)s AND s.channel = 'email' AND s.address = lower(c.email)
LEFT JOIN messaging_preference p ON p.organization_id = %(org)s AND p.customer_id = c.id
LEFT JOIN recent ON recent.customer_id = c.id
GROUP BY 1
"""


def wipe(org: Any) -> None:
    """Remove the benchmark's organization and its rows (the ledgers refuse ORM deletes)."""
    from django.db import connection, transaction

    from cueillette.core.models import Organization

    tables = (
        "messaging_delivery",
        "messaging_preference",
        "messaging_suppression",
        "messaging_campaign",
        "messaging_segment",
        "messaging_pressuresettings",
        "customers_consentevent",
        "core_auditevent",
        "customers_customer",
        "customers_consentwording",
    )
    with transaction.atomic(), connection.cursor() as cur:
        for table in tables:
            cur.execute(f"DELETE FROM {table} WHERE organization_id = %s", [org.pk])
        Organization.objects.filter(pk=org.pk).delete()


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu(url: str) -> dict[str, float]:
    """CPU seconds so far of this process and of the PostgreSQL backends serving this
    benchmark's database (their process titles name it)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    dbname = url.rsplit("/", 1)[-1].split("?")[0]
    pg = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {dbname} " in f"{title} ":
            pg += _proc_cpu(int(proc.name))
    return {"self": usage.ru_utime + usage.ru_stime, "postgres": pg}


def unsend(org: Any, consent_mark: int) -> None:
    """Undo the send phase (its campaigns, deliveries, consent entries and postal codes) so the
    kept organization decides the same audience next time."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "DELETE FROM messaging_delivery WHERE organization_id = %s AND campaign_id IN "
            "(SELECT id FROM messaging_campaign WHERE organization_id = %s)",
            [org.pk, org.pk],
        )
        cur.execute("DELETE FROM messaging_campaign WHERE organization_id = %s", [org.pk])
        cur.execute("DELETE FROM messaging_segment WHERE organization_id = %s", [org.pk])
        cur.execute(
            "DELETE FROM customers_consentevent WHERE organization_id = %s AND id > %s",
            [org.pk, consent_mark],
        )
        cur.execute(
            "UPDATE customers_customer SET postal_code = '75011' WHERE organization_id = %s "
            "AND postal_code = '99999'",
            [org.pk],
        )


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.last = 0.0  # perf_counter() of the last message received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        self.last = time.perf_counter()
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--send", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="db_worker processes serving the queue (production runs one per core)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the generated organization between runs (generated once, reused while the "
        "customer count matches); only the send phase's own rows are removed afterwards",
    )
    parser.add_argument(
        "--profile-dir",
        default="",
        help="run each db_worker under cProfile, writing worker<i>.prof there",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="time the decision and the single query this many times each, alternately; "
        "the best of each is reported",
    )
    parser.add_argument(
        "--cold-workers",
        action="store_true",
        help="start the clock before the db_worker processes start (their start-up counted)",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    setup(url)
    from django.db import connection
    from django.utils import timezone

    from cueillette.core.models import Organization
    from cueillette.core.tenancy import tenant_context
    from cueillette.core.tests.factories import OrganizationFactory
    from cueillette.messaging import audience, gate, rules
    from cueillette.messaging.models import Campaign, CampaignStatus, PressureSettings, Segment

    rng = random.Random(args.seed)
    now = timezone.now()
    from cueillette.customers.models import Customer

    org = None
    if args.reuse:
        org = Organization.objects.filter(slug="bench-messaging").first()
        if org is not None:
            with tenant_context(org):
                have = Customer.objects.count()
            if have != args.customers:
                print(f"reuse: the kept organization has {have:,} customers, generating again")
                org = None
            else:
                print(f"reuse: the kept organization's {have:,} customers")
                # Its data were generated at an earlier "now": decide at that time.
                with connection.cursor() as cur:
                    cur.execute(
                        "SELECT max(recorded_at) FROM customers_consentevent "
                        "WHERE organization_id = %s AND actor_label = 'bench'",
                        [org.pk],
                    )
                    now = cur.fetchone()[0] or now
    if org is None:
        for old in Organization.objects.filter(slug="bench-messaging"):
            wipe(old)
        org = OrganizationFactory(name="Bench messaging", slug="bench-messaging")
        with tenant_context(org):
            PressureSettings.objects.create(per_second=1000)
        generate(org, args.customers, now, rng)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(max(id), 0) FROM customers_consentevent WHERE organization_id = %s",
            [org.pk],
        )
        consent_mark = int(cur.fetchone()[0])
    with tenant_context(org):
        PressureSettings.objects.update(quiet_start=dt.time(21), quiet_end=dt.time(8))
    try:
        with tenant_context(org):
            everyone = Segment.objects.create(name="all", filters={})
            campaign = Campaign.objects.create(
                name="bench", subject_fr="Bench", body_fr="Bonjour", segment=everyone
            )
            row = gate.pressure()
            quiet = rules.next_allowed(
                now, rules.Quiet(row.quiet_start, row.quiet_end, org.timezone)
            )
            params = {
                "org": org.pk,
                "now": now,
                "since": now - dt.timedelta(days=row.window_days),
                "cap": row.max_marketing,
                "quiet": quiet is not None,
            }
            # Each is timed --repeat times, alternately (ours, single, ours, single...), and
            # its best time kept: whichever ran first would otherwise pay for reading the
            # tables into the cache (seen: 3.63 s against 1.86 s right after other work).
            ours_times: list[float] = []
            single_times: list[float] = []
            for _ in range(max(args.repeat, 1)):
                t0 = time.perf_counter()
                ours = audience.decide_audience(campaign, now=now)
                ours_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                with connection.cursor() as cur:
                    cur.execute(SINGLE_QUERY, params)
                    single = dict(cur.fetchall())
                single_times.append(time.perf_counter() - t0)
            decide_s, single_s = min(ours_times), min(single_times)
            print(
                "  timings (s): ours "
                + " ".join(f"{t:.2f}" for t in ours_times)
                + ", single "
                + " ".join(f"{t:.2f}" for t in single_times)
            )
            mine = {k: v for k, v in ours.reasons.items() if v}
            print(
                f"audience of {ours.total:,}: ours {decide_s:.2f} s, single query {single_s:.2f} s"
            )
            print(f"  ours:   {dict(sorted(mine.items()))}")
            print(f"  single: {dict(sorted(single.items()))}")
            if mine != single:
                print("  MISMATCH between the gate's decision and the single query")

            # ---- the send rate through the task queue into a local SMTP sink
            from aiosmtpd.controller import Controller

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            sink = Sink()
            controller = Controller(sink, hostname="127.0.0.1", port=port)
            controller.start()
            PressureSettings.objects.update(quiet_start=dt.time(0), quiet_end=dt.time(0))
            with connection.cursor() as cur:
                # S fresh customers who may receive it (consent granted, no past message).
                cur.execute(
                    "SELECT c.id FROM customers_customer c WHERE c.organization_id = %s "
                    "AND c.email <> '' AND NOT EXISTS (SELECT 1 FROM messaging_delivery d "
                    "WHERE d.customer_id = c.id) AND NOT EXISTS (SELECT 1 FROM "
                    "messaging_suppression s WHERE s.address = c.email) AND NOT EXISTS (SELECT "
                    "1 FROM messaging_preference p WHERE p.customer_id = c.id) "
                    "ORDER BY c.id LIMIT %s",
                    [org.pk, args.send * 3],
                )
                pool = [r[0] for r in cur.fetchall()]
            Customer.objects.filter(pk__in=pool[: args.send]).update(postal_code="99999")
            from cueillette.core.audit import Actor
            from cueillette.customers import services as customer_services

            for c in Customer.objects.filter(pk__in=pool[: args.send]):
                if not customer_services.has_consent(c, "news_email"):
                    customer_services.record_consent(
                        c,
                        "news_email",
                        True,
                        source="counter",
                        actor=Actor.system("bench"),
                        evidence={"double_opt_in_confirmed_at": now.isoformat()},
                    )
            send_seg = Segment.objects.create(name="send", filters={"postal_prefix": "99999"})
            send_campaign = Campaign.objects.create(
                name="send",
                subject_fr="Bench",
                body_fr="Bonjour {first_name}",
                segment=send_seg,
                status=CampaignStatus.SENDING,
                started_at=timezone.now(),
            )
            from cueillette.messaging import tasks

            # The real queue: the task is a row in the database; a worker process (db_worker,
            # as in production) runs it, then the delivery tasks it queues, into the sink.
            env = {
                **os.environ,
                "CUEILLETTE_EMAIL_HOST": "127.0.0.1",
                "CUEILLETTE_EMAIL_PORT": str(port),
                "CUEILLETTE_LOG_LEVEL": "ERROR",
            }
            command = [
                sys.executable,
                str(ROOT / "manage.py"),
                "db_worker",
                "--queue-name",
                "*",
                "--no-startup-delay",
                "--interval",
                "0.05",
            ]

            def worker(i: int) -> list[str]:
                if not args.profile_dir:
                    return command
                os.makedirs(args.profile_dir, exist_ok=True)
                prof = os.path.join(args.profile_dir, f"worker{i}.prof")
                return [sys.executable, "-m", "cProfile", "-o", prof, *command[1:]]

            # Production workers are running when a campaign is sent: by default they are
            # started and ready (Django loaded, polling) before the clock starts; --cold-workers
            # starts the clock first, so the workers' start-up (seconds on a loaded machine)
            # is counted in the send time as it was before.
            import tempfile

            logs = [
                tempfile.NamedTemporaryFile("w+", prefix=f"bench-worker{i}-", suffix=".log")  # noqa: SIM115
                for i in range(max(args.workers, 1))
            ]
            if args.cold_workers:
                t0 = time.perf_counter()
                cpu0 = _cpu(url)
                tasks.dispatch_campaign.enqueue(org.pk, send_campaign.pk)
            workers = [
                subprocess.Popen(worker(i), cwd=ROOT, env=env, stdout=log, stderr=log)
                for i, log in enumerate(logs)
            ]
            if not args.cold_workers:
                ready = time.monotonic() + 300
                while time.monotonic() < ready and not all(
                    "Starting worker" in Path(log.name).read_text() for log in logs
                ):
                    time.sleep(0.1)
                t0 = time.perf_counter()
                cpu0 = _cpu(url)
                tasks.dispatch_campaign.enqueue(org.pk, send_campaign.pk)
            # The workers serve the queue until the campaign is decided and nothing of it is
            # left to hand over; the time is the last message's arrival in the sink.
            from cueillette.messaging.models import Delivery, Status

            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                time.sleep(0.25)
                send_campaign.refresh_from_db()
                pending = Delivery.objects.filter(
                    campaign=send_campaign, status__in=(Status.QUEUED, Status.SENDING)
                ).exists()
                if send_campaign.status == CampaignStatus.SENT and not pending:
                    break
            send_s = (sink.last or time.perf_counter()) - t0
            cpu1 = _cpu(url)
            pg_cpu = cpu1["postgres"] - cpu0["postgres"]
            worker_cpu = sum(_proc_cpu(w.pid) for w in workers)
            own_cpu = cpu1["self"] - cpu0["self"]
            for w in workers:
                w.terminate()
                w.wait(timeout=60)
            for log in logs:
                failed = [ln for ln in Path(log.name).read_text().splitlines() if "FAILED" in ln]
                if failed:
                    print(f"  worker log: {failed[:3]}")
                log.close()
            controller.stop()
            per_s = sink.count / send_s if send_s else 0.0
            from django.db.models import Count

            outcome = {
                f"{status}/{reason}": n
                for status, reason, n in Delivery.objects.filter(campaign=send_campaign)
                .order_by()
                .values("status", "reason")
                .annotate(n=Count("id"))
                .values_list("status", "reason", "n")
            }
            print(f"  send campaign decisions: {dict(sorted(outcome.items()))}")
            n = max(sink.count, 1)
            print(
                f"  cpu during the send: workers {worker_cpu:.1f} s, postgres (this database) "
                f"{pg_cpu:.1f} s, bench + sink {own_cpu:.1f} s = "
                f"{1000 * (worker_cpu + pg_cpu + own_cpu) / n:.2f} ms a message "
                "(load-independent, unlike the rate)"
            )
            print(
                f"sent {sink.count:,} of {args.send:,} into the sink in {send_s:.1f} s "
                f"by {len(workers)} worker(s): {per_s / len(workers):.0f}/s per worker"
            )
        ratio = decide_s / single_s if single_s else float("inf")
        print(
            f"targets: decide < 5 s ({'ok' if decide_s < 5 else 'MISSED'}), ratio <= 2 "
            f"({'ok' if ratio <= 2 else 'MISSED'}), >= 200/s ({'ok' if per_s >= 200 else 'MISSED'})"
        )
        print(
            f"RESULT bench=messaging ratio={ratio:.2f} decide_s={decide_s:.2f} "
            f"send_per_s={per_s:.0f} workers={args.workers}"
            f"{' cold_workers=1' if args.cold_workers else ''}"
        )
    finally:
        if args.reuse:
            unsend(org, consent_mark)
        else:
            # Printed first: deleting a million rows takes minutes (foreign keys checked at commit).
            wipe(org)


if __name__ == "__main__":
    main()
