"""The periodic passes: where apps register them, and the plumbing every pass shares.

Apps register their tasks module in ``AppConfig.ready()``: ``scheduling.register_job(
"cueillette.<app>.tasks")`` (daily) or ``register_job(..., hourly=True)`` (every wake-up of
``manage.py run_scheduler``, for work whose timing a person notices). Core imports no domain
app: modules are named, and imported by the scheduler when it runs them.

A pass is a function ``run(org, now) -> report`` for one organization. Each module exposes
``run_all(now=None)`` (every organization, inline) and ``enqueue_all()`` (one task per
organization, for the worker), written with :func:`run_for_each` and :func:`enqueue_for_each`.
Tasks receive ``now`` as ISO text (so a run can be replayed): :func:`parse_now` reads it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.utils import timezone

from cueillette.core.models import Organization

R = TypeVar("R")

_jobs: dict[bool, list[str]] = {True: [], False: []}


def register_job(module: str, *, hourly: bool = False) -> str:
    """Run ``module.run_all()`` / ``module.enqueue_all()`` daily (or hourly); order kept."""
    if module not in _jobs[hourly]:
        _jobs[hourly].append(module)
    return module


def jobs(*, hourly: bool = False) -> tuple[str, ...]:
    """The registered task modules, daily or hourly, in the order they run."""
    return tuple(_jobs[hourly])


class Enqueueable(Protocol):
    def enqueue(self, *args: Any, **kwargs: Any) -> Any: ...


def parse_now(now: str | dt.datetime | None) -> dt.datetime:
    """``now`` as given to a task: None (the current time), ISO text or an aware datetime."""
    if now is None:
        return timezone.now()
    value = dt.datetime.fromisoformat(now) if isinstance(now, str) else now
    if timezone.is_naive(value):
        raise ValueError("now must be timezone-aware")
    return value


def organization(org_id: int) -> Organization | None:
    """The organization a queued task names (None once it is gone)."""
    return Organization.objects.filter(pk=org_id).first()


def run_for_each(
    run: Callable[[Organization, dt.datetime | None], R], now: dt.datetime | None = None
) -> dict[str, R]:
    """Run a pass for every organization, inline; the reports by organization slug."""
    # Organizations are not tenant rows: listing them all is the scheduler's job.
    return {org.slug: run(org, now) for org in Organization.objects.order_by("pk")}


def enqueue_for_each(task: Enqueueable) -> int:
    """Queue ``task(org_id)`` for every organization; returns how many were queued."""
    count = 0
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        task.enqueue(org_id)
        count += 1
    return count
