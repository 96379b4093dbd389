"""From purchase arrays to every figure of a refresh. Pure: no database, no clock.

``compute`` is what ``services.refresh`` runs on an organization's purchases and what
``bench/insights.py`` times on a million simulated customers: summary, RFM scores and lapses,
BG/NBD and Gamma-Gamma fits, scores for 3, 6 and 12 months, and the holdout check (a second
BG/NBD fit on the history before the last N weeks, its predictions for those weeks and what
customers really did).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from cueillette.insights import fitting, rfm
from cueillette.insights.rfm import WEEK, Summary

Array = npt.NDArray[np.float64]

#: A BG/NBD fit needs this many customers with a repeat purchase (below, the figures would
#: move with every new purchase; the page says how many are missing).
MIN_REPEATERS = 20
#: Horizons of the predictions, in months, and their length in weeks.
HORIZONS = (3, 6, 12)
MONTH_WEEKS = 365.25 / 12 / 7
#: Holdout chart: calibration purchases grouped 0, 1, ..., 6 and "7 or more".
HOLDOUT_GROUPS = 7

Progress = Callable[[str], None]


@dataclass
class Result:
    """Every figure of one refresh, as arrays aligned with ``summary.customer``."""

    summary: Summary
    scores: rfm.Scores
    lapse: rfm.Lapse
    status: str  # "ok" | "not_enough"
    message: str = ""
    bgnbd: fitting.Fit | None = None
    gammagamma: fitting.Fit | None = None
    p_alive: Array | None = None
    purchases: dict[int, Array] = field(default_factory=dict)  # months -> expected purchases
    spend: dict[int, Array] = field(default_factory=dict)  # months -> expected spend
    value_at_stake: Array | None = None
    holdout: dict[str, Any] = field(default_factory=dict)

    @property
    def repeaters(self) -> int:
        return int(np.count_nonzero(self.summary.n > 1))


def _finite_or_nan(values: Array) -> Array:
    out = np.asarray(values, dtype=np.float64).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def compute(
    customer: npt.ArrayLike,
    at: npt.ArrayLike,
    amount: npt.ArrayLike,
    now: float,
    *,
    lapse_factor: float = 3.0,
    holdout_weeks: int = 12,
    min_repeaters: int = MIN_REPEATERS,
    progress: Progress | None = None,
) -> Result:
    """Everything a refresh shows. Raises ``fitting.FitError`` when a fit fails (not for too
    little data: that is ``status="not_enough"`` with RFM figures and no model figures).
    ``holdout_weeks=0`` skips the holdout check (the benchmark times the rest).

    BLAS runs on one thread here: the work is element-wise numpy and the optimiser's tiny
    vectors, and OpenBLAS's idle threads (spinning after each call, two per library loaded)
    took the core the computation needed — a fit on 100,000 customers took twice as long.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute(
            customer,
            at,
            amount,
            now,
            lapse_factor=lapse_factor,
            holdout_weeks=holdout_weeks,
            min_repeaters=min_repeaters,
            progress=progress,
        )


def _compute(
    customer: npt.ArrayLike,
    at: npt.ArrayLike,
    amount: npt.ArrayLike,
    now: float,
    *,
    lapse_factor: float,
    holdout_weeks: int,
    min_repeaters: int,
    progress: Progress | None,
) -> Result:
    say = progress or (lambda _step: None)
    cust = np.asarray(customer, dtype=np.int64)
    t = np.asarray(at, dtype=np.float64)
    amt = np.asarray(amount, dtype=np.float64)
    say("summary")
    summary = rfm.summarise(cust, t, amt, now)
    say("rfm")
    scores = rfm.score(summary)
    lapse = rfm.lapses(summary, lapse_factor)
    repeaters = int(np.count_nonzero(summary.n > 1))
    if repeaters < min_repeaters:
        return Result(
            summary,
            scores,
            lapse,
            "not_enough",
            str(fitting.NotEnoughData(repeaters, min_repeaters)),
        )
    x, t_x, age = summary.frequency, summary.recency(), summary.age()
    say("bgnbd")
    bg = fitting.fit_bgnbd(x, t_x, age, min_repeaters=min_repeaters)
    say("gammagamma")
    gg: fitting.Fit | None
    try:
        gg = fitting.fit_gammagamma(x, summary.repeat_mean, min_repeaters=min_repeaters)
    except fitting.NotEnoughData:
        gg = None  # visits without spend: purchases are predicted, spend is not
    say("scores")
    raw_alive = fitting.p_alive(bg, x, t_x, age)
    alive = _finite_or_nan(raw_alive)
    per_purchase = (
        _finite_or_nan(fitting.expected_spend(gg, x, summary.repeat_mean)) if gg else None
    )
    purchases: dict[int, Array] = {}
    spend: dict[int, Array] = {}

    def horizon(months: int) -> Array:
        return _finite_or_nan(
            fitting.expected_purchases(bg, months * MONTH_WEEKS, x, t_x, age, alive=raw_alive)
        )

    # The three horizons side by side when the base is big (``fitting.map_parallel``).
    parallel = len(x) > fitting.PARALLEL_ABOVE
    expectations = (
        fitting.map_parallel(horizon, HORIZONS) if parallel else [horizon(m) for m in HORIZONS]
    )
    for months, expected in zip(HORIZONS, expectations, strict=True):
        purchases[months] = expected
        if per_purchase is not None:
            spend[months] = expected * per_purchase
    if np.isnan(alive).mean() > 0.01:
        raise fitting.FitError("the fitted model gives no probability for too many customers")
    # What a year of their usual spending is worth, times the chance they have gone. Only
    # repeat customers: BG/NBD cannot tell whether a one-time customer has left.
    stake = np.where(x > 0, lapse.monthly_value * 12 * (1 - alive), np.nan)
    result = Result(
        summary,
        scores,
        lapse,
        "ok",
        bgnbd=bg,
        gammagamma=gg,
        p_alive=alive,
        purchases=purchases,
        spend=spend,
        value_at_stake=_finite_or_nan(stake),
    )
    if holdout_weeks > 0:
        say("holdout")
        result.holdout = holdout_check(cust, t, amt, now, holdout_weeks, min_repeaters)
    return result


def holdout_check(
    customer: npt.NDArray[np.int64],
    at: Array,
    amount: Array,
    now: float,
    weeks: int,
    min_repeaters: int,
) -> dict[str, Any]:
    """Fit on purchases before ``now - weeks``; predict each calibration customer's purchases
    in the kept-out weeks; compare with what they did, grouped by calibration repeat
    purchases (the chart of Fader, Hardie & Lee 2005, figure 4)."""
    cutoff = now - weeks * WEEK
    calibration = rfm.summarise(customer, at, amount, cutoff)
    repeaters = int(np.count_nonzero(calibration.n > 1))
    base: dict[str, Any] = {"weeks": weeks, "cutoff": cutoff, "customers": len(calibration)}
    if repeaters < min_repeaters:
        return {**base, "status": "not_enough", "repeaters": repeaters, "need": min_repeaters}
    x, t_x, age = calibration.frequency, calibration.recency(), calibration.age()
    try:
        fit = fitting.fit_bgnbd(x, t_x, age, min_repeaters=min_repeaters)
    except fitting.FitError as exc:
        return {**base, "status": "failed", "message": str(exc)}
    predicted = _finite_or_nan(fitting.expected_purchases(fit, float(weeks), x, t_x, age))
    in_holdout = (at > cutoff) & (at <= now)
    known = np.searchsorted(calibration.customer, customer[in_holdout])
    known = np.clip(known, 0, max(len(calibration) - 1, 0))
    match = calibration.customer[known] == customer[in_holdout]
    actual = np.bincount(known[match], minlength=len(calibration)).astype(np.float64)
    group = np.minimum(x, HOLDOUT_GROUPS).astype(np.int64)
    rows = []
    for g in range(HOLDOUT_GROUPS + 1):
        sel = group == g
        count = int(sel.sum())
        if not count:
            continue
        finite = predicted[sel][np.isfinite(predicted[sel])]
        rows.append(
            {
                "group": g,
                "customers": count,
                "predicted": float(finite.mean()) if finite.size else None,
                "actual": float(actual[sel].mean()),
            }
        )
    total_pred = float(np.nansum(predicted))
    total_actual = float(actual.sum())
    return {
        **base,
        "status": "ok",
        "repeaters": repeaters,
        "fit": fit.as_dict(),
        "rows": rows,
        "predicted_total": total_pred,
        "actual_total": total_actual,
        "error_pct": (
            100 * (total_pred - total_actual) / total_actual if total_actual > 0 else None
        ),
    }


def clean(value: float | None) -> float | None:
    """A figure for a page, a CSV or the API: None instead of NaN or infinity."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
