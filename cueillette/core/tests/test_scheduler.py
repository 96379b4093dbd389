"""``run_scheduler``: hourly passes at every wake-up, the daily ones once a day."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from cueillette.core import scheduling
from cueillette.core.models import Organization
from cueillette.customers.management.commands import run_scheduler

pytestmark = pytest.mark.django_db


class Clock:
    """A monotonic clock the test moves forward; sleep() advances it and stops after N wake-ups."""

    def __init__(self, wakeups: int) -> None:
        self.now = 1000.0
        self.left = wakeups

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.left -= 1
        if self.left <= 0:
            raise KeyboardInterrupt
        self.now += seconds


def _run(monkeypatch: pytest.MonkeyPatch, wakeups: int, *args: str) -> list[str]:
    clock = Clock(wakeups)
    monkeypatch.setattr(time, "monotonic", clock.monotonic)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    calls: list[str] = []
    monkeypatch.setattr(
        run_scheduler.Command, "hourly_pass", lambda self, **kw: calls.append("hourly")
    )
    monkeypatch.setattr(
        run_scheduler.Command, "daily_pass", lambda self, **kw: calls.append("daily")
    )
    call_command("run_scheduler", *args, stdout=StringIO())
    return calls


def test_hourly_passes_every_wake_up_daily_ones_once_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _run(monkeypatch, 50)  # 50 wake-ups an hour apart: a little over two days
    assert calls.count("hourly") == 50
    assert calls.count("daily") == 3  # at start, after 24 h, after 48 h
    assert calls[:2] == ["hourly", "daily"]
    daily_at = [i for i, c in enumerate(calls) if c == "daily"]
    hourly_before = [calls[:i].count("hourly") for i in daily_at]
    assert hourly_before == [1, 25, 49]


def test_once_runs_everything_and_hourly_only_the_hourly(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, 1, "--once") == ["hourly", "daily"]
    assert _run(monkeypatch, 1, "--once", "--hourly") == ["hourly"]


def test_nps_surveys_are_hourly_and_every_module_has_both_entry_points() -> None:
    assert "cueillette.feedback.tasks" in run_scheduler.HOURLY_MODULES
    assert "cueillette.feedback.tasks" not in run_scheduler.DAILY_MODULES
    from importlib import import_module

    for name in run_scheduler.HOURLY_MODULES + run_scheduler.DAILY_MODULES:
        module: Any = import_module(name)
        assert callable(module.run_all) and callable(module.enqueue_all), name


def test_inline_once_runs_the_real_passes(org: Organization) -> None:
    out = StringIO()
    call_command("run_scheduler", "--once", "--inline", stdout=out)
    lines = out.getvalue().splitlines()
    mine = [line for line in lines if line.startswith(f"{org.slug}: ")]
    # Hourly first (surveys), then retention and every daily module, for this organization.
    assert mine[0].startswith(f"{org.slug}: feedback ")
    assert any("anonymised" in line for line in mine)
    labels = {line.split(" ")[1] for line in mine}
    assert {"feedback", "loyalty", "referrals", "community", "core"} <= labels


def test_hourly_inline_runs_only_the_hourly_passes(org: Organization) -> None:
    out = StringIO()
    call_command("run_scheduler", "--once", "--hourly", "--inline", stdout=out)
    mine = [line for line in out.getvalue().splitlines() if line.startswith(f"{org.slug}: ")]
    # The registered hourly jobs only (surveys, sessions' reminders, the send gate's queue).
    hourly = tuple(f"{org.slug}: {m.split('.')[1]} " for m in scheduling.jobs(hourly=True))
    assert mine and all(line.startswith(hourly) for line in mine)
