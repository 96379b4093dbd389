"""``manage.py insights``: refresh the figures, or check the models on any data set.

* ``insights refresh [--org SLUG]``: recompute segments, churn risk and customer value for one
  organization or all of them, with a progress bar (the nightly task does the same).
* ``insights fit FILE.csv --model bgnbd|gammagamma``: read a per-customer summary (columns
  ``frequency, recency, T``, plus ``monetary_value`` for Gamma-Gamma; time in any unit) and
  print one JSON object: the fitted parameters, their standard errors and the total
  log-likelihood. Exit status 1 with ``{"error": ...}`` when the data cannot be fitted.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from cueillette.core.audit import Actor
from cueillette.core.models import Organization
from cueillette.core.tenancy import tenant_context
from cueillette.insights import fitting, services

STEPS = ("summary", "rfm", "bgnbd", "gammagamma", "scores", "holdout", "write")


class Command(BaseCommand):
    help = "Refresh customer insights, or fit BG/NBD / Gamma-Gamma on a CSV summary."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="recompute the figures")
        refresh.add_argument("--org", help="the organization's slug (default: every one)")
        fit = sub.add_parser("fit", help="fit a model on a per-customer CSV summary")
        fit.add_argument("file", help="CSV with frequency, recency, T (and monetary_value)")
        fit.add_argument("--model", choices=["bgnbd", "gammagamma"], required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "fit":
            self.fit(Path(options["file"]), options["model"])
        else:
            self.refresh(options.get("org"))

    def refresh(self, slug: str | None) -> None:
        orgs = Organization.objects.order_by("pk")
        if slug:
            orgs = orgs.filter(slug=slug)
            if not orgs.exists():
                raise CommandError(f"no organization with the slug {slug!r}")
        actor = Actor.system("manage.py insights refresh")
        for org in orgs:
            with tqdm(total=len(STEPS), desc=org.slug, unit="step", file=sys.stderr) as bar:

                def step(name: str, bar: Any = bar) -> None:
                    bar.set_postfix_str(name)
                    bar.update(1)

                with tenant_context(org):
                    done = services.refresh(actor=actor, progress=step)
                bar.n = bar.total
                bar.refresh()
            run = done.run
            line = f"{org.slug}: {run.get_status_display()}, {done.scores_written} customers"
            if run.message:
                line += f" — {run.message}"
            self.stdout.write(line)

    def fit(self, path: Path, model: str) -> None:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        needed = (
            ["frequency", "recency", "T"] if model == "bgnbd" else ["frequency", "monetary_value"]
        )
        missing = [c for c in needed if not rows or c not in rows[0]]
        if missing:
            raise CommandError(f"{path} lacks the column(s): {', '.join(missing)}")
        try:
            columns = {c: [float(r[c]) for r in rows] for c in needed}
            if model == "bgnbd":
                result = fitting.fit_bgnbd(columns["frequency"], columns["recency"], columns["T"])
            else:
                result = fitting.fit_gammagamma(columns["frequency"], columns["monetary_value"])
        except (ValueError, fitting.FitError) as exc:
            self.stdout.write(json.dumps({"model": model, "error": str(exc)}))
            sys.exit(1)
        self.stdout.write(json.dumps(services._json(result.as_dict())))
