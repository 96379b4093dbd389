"""Customer-base models, fitted by maximum likelihood: BG/NBD and Gamma-Gamma.

Pure numpy/scipy, no database, no clock. Every function takes arrays of per-customer
summaries in one time unit of the caller's choice (weeks in the app, anything in
``manage.py insights fit``) and works in log space with ``scipy.special`` so that customers with
hundreds of purchases stay finite.

* **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; after each purchase
  they drop out with probability ``p ~ Beta(a, b)``. Inputs per customer: ``x`` repeat
  purchases, ``t_x`` the time of the last purchase and ``T`` the age, both measured from the
  first purchase.
* **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013 note): the
  spend of one purchase is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, gamma)`` per customer, fitted
  on customers with at least one repeat purchase from their mean repeat spend ``m``.

Fits maximise the log-likelihood with L-BFGS-B on the logarithm of the parameters, with the
analytic gradient. Standard errors come from the inverse of the Hessian of the negative
log-likelihood at the optimum, obtained by central finite differences of that analytic
gradient in the natural parameters.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

Array = npt.NDArray[np.float64]

BGNBD_PARAMS = ("r", "alpha", "a", "b")
#: Above this many customers, fits start from a fit on an evenly spaced subsample this big.
WARM_START_ABOVE = 200_000
WARM_START_SAMPLE = 100_000
GAMMAGAMMA_PARAMS = ("p", "q", "gamma")
#: The full data's evaluations (and the engine's three horizons) run in this many threads
#: above PARALLEL_ABOVE customers: the work is element-wise numpy and ``scipy.special``, which
#: release the GIL, so a second core halves it. Results equal the one-thread sums to rounding.
THREADS = max(1, min(2, os.cpu_count() or 1))
PARALLEL_ABOVE = 200_000
_POOL: ThreadPoolExecutor | None = None

T = TypeVar("T")
R = TypeVar("R")


def map_parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(i) for i in items]``, in :data:`THREADS` threads (in order; one thread: inline)."""
    global _POOL
    todo = list(items)
    if THREADS <= 1 or len(todo) <= 1:
        return [fn(i) for i in todo]
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="insights")
    return list(_POOL.map(fn, todo))


class FitError(ValueError):
    """The data cannot be fitted (too little of it, bad values) or the fit did not converge."""


class NotEnoughData(FitError):
    """Fewer customers with a repeat purchase than a fit needs."""

    def __init__(self, have: int, need: int) -> None:
        super().__init__(
            f"not enough data yet (need {need} customers with a repeat purchase, have {have})"
        )
        self.have = have
        self.need = need


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters, their standard errors and the total log-likelihood."""

    model: str
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n_customers: int
    iterations: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "params": self.params,
            "std_errors": self.std_errors,
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "iterations": self.iterations,
        }


def _as_array(values: Any, name: str) -> Array:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise FitError(f"{name} has values that are not finite numbers")
    return arr


def check_summary(frequency: Any, recency: Any, age: Any) -> tuple[Array, Array, Array]:
    """The three columns as float arrays, or a FitError naming what is wrong."""
    x = _as_array(frequency, "frequency")
    t_x = _as_array(recency, "recency")
    t = _as_array(age, "T")
    if not (len(x) == len(t_x) == len(t)):
        raise FitError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(np.floor(x) != x):
        raise FitError("frequency must be a whole number of repeat purchases, 0 or more")
    if np.any(t_x < 0) or np.any(t_x > t * (1 + 1e-12) + 1e-12):
        raise FitError("recency must be between 0 and T")
    if np.any((x == 0) & (t_x > 0)):
        raise FitError("recency must be 0 for customers without a repeat purchase")
    if np.any((x > 0) & (t_x <= 0)):
        raise FitError("recency must be positive for customers with repeat purchases")
    return x, np.minimum(t_x, t), t


# --------------------------------------------------------------------------- BG/NBD


def _lookup(values: Array) -> tuple[Array, npt.NDArray[np.intp]]:
    """Distinct values and the index of each element (``special`` calls per distinct x)."""
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, inverse.reshape(-1)


@dataclass(frozen=True)
class _BgData:
    """The summary arranged for fast evaluations: customers with repeat purchases first (so
    their slices are views), the per-x terms computed once per distinct x and weighted by how
    many customers share it; only logs of times are per customer."""

    x: Array
    t_x: Array
    T: Array
    w: Array
    xu: Array
    xi: npt.NDArray[np.intp]
    pos: npt.NDArray[np.bool_]
    count_u: Array  # total weight per distinct x
    wsum: float
    n_pos: int
    xi_pos: npt.NDArray[np.intp]
    unit: bool  # every weight is 1


def _bg_data(x: Array, t_x: Array, t: Array, weights: Array | None = None) -> _BgData:
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(x == 0, kind="stable")  # repeat customers first
    x, t_x, t, w = x[order], t_x[order], t[order], w[order]
    xu, xi = _lookup(x)
    pos = x > 0
    n_pos = int(np.count_nonzero(pos))
    return _BgData(
        x,
        t_x,
        t,
        w,
        xu,
        xi,
        pos,
        np.bincount(xi, weights=w, minlength=len(xu)).astype(np.float64),
        float(w.sum()),
        n_pos,
        xi[:n_pos],
        weights is None,
    )


def _bg_terms(theta: Array, d: _BgData) -> tuple[Array, Array, Array, Array]:
    """Per-customer pieces of the log-likelihood: A1 + A2 + logaddexp(A3, A4)."""
    r, alpha, a, b = theta
    xu = d.xu
    a1 = (special.gammaln(r + xu) - special.gammaln(r))[d.xi] + r * math.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + xu)
        - special.gammaln(b)
        - special.gammaln(a + b + xu)
    )[d.xi]
    log_at = np.log(alpha + d.T)
    a3 = -(r + d.x) * log_at
    a4 = np.full_like(d.x, -np.inf)
    pos = d.pos
    a4[pos] = math.log(a) - np.log(b + d.x[pos] - 1) - (r + d.x[pos]) * np.log(alpha + d.t_x[pos])
    return a1, a2, a3, a4


def _bg_parts(x: Array, t_x: Array, t: Array) -> list[_BgData]:
    """The summary in :data:`THREADS` contiguous parts (one below PARALLEL_ABOVE customers)."""
    parts = THREADS if len(x) > PARALLEL_ABOVE else 1
    bounds = np.linspace(0, len(x), parts + 1).astype(int)
    return [_bg_data(x[i:j], t_x[i:j], t[i:j]) for i, j in itertools.pairwise(bounds)]


def _bg_value_grad_parts(theta: Array, parts: list[_BgData]) -> tuple[float, Array]:
    """:func:`_bg_value_grad` of the whole summary, as the sum over its parts."""
    if len(parts) == 1:
        return _bg_value_grad(theta, parts[0])
    results = map_parallel(lambda d: _bg_value_grad(theta, d), parts)
    return sum(r[0] for r in results), np.sum([r[1] for r in results], axis=0)


def bgnbd_log_likelihood(params: Any, frequency: Any, recency: Any, age: Any) -> Array:
    """The log-likelihood of each customer under BG/NBD with ``params = (r, alpha, a, b)``."""
    x, t_x, t = check_summary(frequency, recency, age)
    theta = np.asarray(params, dtype=np.float64)
    a1, a2, a3, a4 = _bg_terms(theta, _bg_data(x, t_x, t))
    return a1 + a2 + np.logaddexp(a3, a4)


def _bg_value_grad(theta: Array, d: _BgData) -> tuple[float, Array]:
    """Total weighted log-likelihood and its gradient in the natural parameters.

    ll_i = A1 + A2 + A3 + [x > 0] log(1 + exp(u)), u = A4 - A3; A1 and A2 depend on x only,
    so they are summed per distinct x. Five logarithms per customer in all.
    """
    r, alpha, a, b = theta
    xu, cnt, k = d.xu, d.count_u, d.n_pos
    log_alpha = math.log(alpha)
    # Per distinct x.
    g_rx = special.gammaln(r + xu) - special.gammaln(r)
    dg_rx = special.digamma(r + xu) - special.digamma(r)
    dig_ab, dig_abx = special.digamma(a + b), special.digamma(a + b + xu)
    g_ab = (
        special.gammaln(a + b)
        + special.gammaln(b + xu)
        - special.gammaln(b)
        - special.gammaln(a + b + xu)
    )
    dga = dig_ab - dig_abx
    dgb = dig_ab + special.digamma(b + xu) - special.digamma(b) - dig_abx
    bx1_u = b + np.maximum(xu, 1.0) - 1
    log_bx1 = np.log(bx1_u)[d.xi_pos]
    inv_bx1 = (1.0 / bx1_u)[d.xi_pos]
    # Per customer (repeat customers are the first k).
    rx = r + d.x
    at = alpha + d.T
    log_at = np.log(at)
    inv_at = 1.0 / at
    atx = alpha + d.t_x[:k]
    log_atx = np.log(atx)
    inv_atx = 1.0 / atx
    rxp = rx[:k]
    dlog = log_at[:k] - log_atx
    u = math.log(a) - log_bx1 + rxp * dlog
    e = np.exp(-np.abs(u))
    soft = np.maximum(u, 0.0) + np.log1p(e)  # log(1 + exp(u)), stable
    w4 = np.where(u >= 0, 1.0, e) / (1.0 + e)  # weight of "dropped out after t_x"
    if not d.unit:
        wp = d.w[:k]
        w4 = w4 * wp
        rx_log = float(np.sum(d.w * rx * log_at))
        sum_log_at = float(np.sum(d.w * log_at))
        rx_inv = float(np.sum(d.w * rx * inv_at))
        soft_sum = float(np.sum(wp * soft))
    else:
        rx_log = float(np.sum(rx * log_at))
        sum_log_at = float(np.sum(log_at))
        rx_inv = float(np.sum(rx * inv_at))
        soft_sum = float(np.sum(soft))
    ll = float(cnt @ (g_rx + g_ab)) + d.wsum * r * log_alpha - rx_log + soft_sum
    dr = float(cnt @ dg_rx) + d.wsum * log_alpha - sum_log_at + float(np.sum(w4 * dlog))
    dalpha = d.wsum * r / alpha - rx_inv + float(np.sum(w4 * rxp * (inv_at[:k] - inv_atx)))
    da = float(cnt @ dga) + float(np.sum(w4)) / a
    db = float(cnt @ dgb) - float(np.sum(w4 * inv_bx1))
    return ll, np.array([dr, dalpha, da, db])


def _numeric_hessian(grad: Any, theta: Array, at_theta: Array | None = None) -> Array:
    """Forward differences of the analytic gradient (relative steps of 1e-6), symmetrised:
    one gradient per parameter, enough for standard errors to several digits."""
    k = len(theta)
    base = grad(theta) if at_theta is None else at_theta
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-6 * max(abs(theta[j]), 1e-8)
        up = theta.copy()
        up[j] += h
        hess[:, j] = (grad(up) - base) / h
    return (hess + hess.T) / 2


def _std_errors(neg_hessian: Array, names: tuple[str, ...]) -> dict[str, float]:
    """Square roots of the diagonal of the inverse observed information (NaN if singular)."""
    try:
        cov = np.linalg.inv(neg_hessian)
        diag = np.diag(cov)
    except np.linalg.LinAlgError:
        diag = np.full(len(names), np.nan)
    return {n: float(math.sqrt(v)) if v > 0 else math.nan for n, v in zip(names, diag, strict=True)}


def _maximise(value_grad: Any, start: Array, *, max_iter: int) -> tuple[Array, int]:
    """Maximise over log-parameters with L-BFGS-B; returns natural parameters and iterations."""

    def objective(log_theta: Array) -> tuple[float, Array]:
        theta = np.exp(log_theta)
        ll, grad = value_grad(theta)
        if not np.isfinite(ll) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(log_theta)
        return -ll, -grad * theta

    result = optimize.minimize(
        objective,
        np.log(start),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-25.0, 25.0)] * len(start),
        options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-9, "maxcor": 20},
    )
    theta = np.exp(result.x)
    if not np.all(np.isfinite(theta)) or not np.isfinite(result.fun) or result.fun >= 1e299:
        raise FitError("the fit did not converge (the likelihood was not finite)")
    if not result.success and result.nit >= max_iter:
        raise FitError(f"the fit did not converge in {max_iter} iterations")
    return theta, int(result.nit)


def _newton_polish(
    value_grad: Any, start: Array, sample_value_grad: Any, weight: float, *, max_steps: int = 12
) -> tuple[Array, Array, int, float] | None:
    """Newton steps on the full data from a warm start: the full gradient each step; first the
    Hessian of a subsample (times ``weight``, the full-to-sample size ratio), which shrinks the
    error by its own relative error (a few per cent) each step, then, once the steps are small
    (relative 1e-4), the FULL data's Hessian there, which converges quadratically and serves
    for the standard errors (a Hessian taken that close to the optimum differs from the one at
    the optimum by about as much: far below what a standard error shows). A step that lowers
    the likelihood or leaves the positive parameters is halved. Returns the optimum, the full
    Hessian, the steps taken and the log-likelihood there; None when it does not settle (the
    caller then runs the quasi-Newton fit)."""
    hess = weight * _numeric_hessian(lambda th: sample_value_grad(th)[1], start)
    full_hessian = False
    theta = start.copy()
    ll, grad = value_grad(theta)
    for step in range(1, max_steps + 1):
        try:
            move = -np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.isfinite(move)):
            return None
        shrink = 1.0
        while True:
            trial = theta + shrink * move
            if np.all(trial > 0):
                trial_ll, trial_grad = value_grad(trial)
                if np.isfinite(trial_ll) and trial_ll >= ll - 1e-12 * abs(ll):
                    break
            shrink /= 2
            if shrink < 1e-3:
                return None
        relative = float(np.max(np.abs(trial - theta) / np.abs(theta)))
        theta, ll, grad = trial, trial_ll, trial_grad
        if relative < 1e-9:
            if not full_hessian:
                hess = _numeric_hessian(lambda th: value_grad(th)[1], theta, grad)
            return theta, hess, step, ll
        if relative < 1e-4 and not full_hessian:
            hess = _numeric_hessian(lambda th: value_grad(th)[1], theta, grad)
            full_hessian = True
    return None


def _quasi_newton(
    value_grad: Any, start: Array, *, max_iter: int
) -> tuple[Array, Array, int, float]:
    """The fit on the full data with L-BFGS-B (small data, or a polish that did not settle):
    the optimum, the Hessian there, the iterations and the log-likelihood — what
    :func:`_newton_polish` returns."""
    theta, nit = _maximise(value_grad, start, max_iter=max_iter)
    ll, grad = value_grad(theta)
    return theta, _numeric_hessian(lambda th: value_grad(th)[1], theta, grad), nit, ll


def fit_bgnbd(
    frequency: Any,
    recency: Any,
    age: Any,
    *,
    min_repeaters: int = 1,
    max_iter: int = 2000,
) -> Fit:
    """Fit BG/NBD by maximum likelihood. Time in any unit; ``alpha`` comes back in that unit."""
    x, t_x, t = check_summary(frequency, recency, age)
    repeaters = int(np.count_nonzero(x > 0))
    if repeaters < max(min_repeaters, 1):
        raise NotEnoughData(repeaters, max(min_repeaters, 1))
    if np.any(t <= 0):
        raise FitError("T must be positive for every customer")
    # Work in a time unit where the mean age is 1: alpha ~ 1 and the problem is well
    # conditioned whatever the caller's unit (alpha scales with time, r, a, b do not).
    scale = float(np.mean(t))
    start = np.array([1.0, 1.0, 1.0, 1.0])
    parts = _bg_parts(x, t_x / scale, t / scale)

    def full(th: Array) -> tuple[float, Array]:
        return _bg_value_grad_parts(th, parts)

    polished = None
    if len(x) > WARM_START_ABOVE:
        # A fit on an evenly spaced subsample starts the full fit next to its optimum, so
        # the full data is evaluated a few times instead of dozens.
        step = len(x) // WARM_START_SAMPLE
        sample = _bg_data(x[::step], t_x[::step] / scale, t[::step] / scale)
        start, _ = _maximise(lambda th: _bg_value_grad(th, sample), start, max_iter=max_iter)
        polished = _newton_polish(
            full, start, lambda th: _bg_value_grad(th, sample), len(x) / sample.wsum
        )
    # The Hessian in the scaled unit, carried back: alpha's row and column scale with time.
    theta, hess, nit, ll_scaled = polished or _quasi_newton(full, start, max_iter=max_iter)
    unscale = np.array([1.0, 1.0 / scale, 1.0, 1.0])
    hess = hess * np.outer(unscale, unscale)
    theta[1] *= scale
    # The log-likelihood in the caller's unit: each repeat purchase's density changes by 1/scale.
    ll = ll_scaled - float(np.sum(x)) * math.log(scale)
    params = dict(zip(BGNBD_PARAMS, (float(v) for v in theta), strict=True))
    if not np.isfinite(ll):
        raise FitError("the fitted log-likelihood is not finite")
    return Fit("bgnbd", params, _std_errors(-hess, BGNBD_PARAMS), float(ll), len(x), nit)


def _theta(params: dict[str, float] | Fit, names: tuple[str, ...]) -> tuple[float, ...]:
    values = params.params if isinstance(params, Fit) else params
    return tuple(float(values[n]) for n in names)


def log_p_alive(params: dict[str, float] | Fit, frequency: Any, recency: Any, age: Any) -> Array:
    """log P(still active | x, t_x, T) under BG/NBD (0 for customers without repeat purchase)."""
    r, alpha, a, b = _theta(params, BGNBD_PARAMS)
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    t = np.asarray(age, dtype=np.float64)
    out = np.zeros_like(x)
    pos = x > 0
    log_odds = (
        math.log(a)
        - np.log(b + x[pos] - 1)
        + (r + x[pos]) * (np.log(alpha + t[pos]) - np.log(alpha + t_x[pos]))
    )
    out[pos] = -np.logaddexp(0.0, log_odds)
    return out


def p_alive(params: dict[str, float] | Fit, frequency: Any, recency: Any, age: Any) -> Array:
    """P(still active | x, t_x, T) under BG/NBD."""
    return np.exp(log_p_alive(params, frequency, recency, age))


def expected_purchases(
    params: dict[str, float] | Fit,
    horizon: float,
    frequency: Any,
    recency: Any,
    age: Any,
    *,
    alive: Array | None = None,
) -> Array:
    """E[purchases in (T, T + horizon] | x, t_x, T] under BG/NBD (Fader, Hardie & Lee eq. 10).
    ``alive`` may pass P(alive) already computed for these customers.

    The Gaussian hypergeometric term is taken through Euler's transformation,
    ``((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
    = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose parameters stay small however many
    purchases a customer made (the direct form overflows past a few hundred).
    """
    r, alpha, a, b = _theta(params, BGNBD_PARAMS)
    x = np.asarray(frequency, dtype=np.float64)
    t = np.asarray(age, dtype=np.float64)
    if horizon <= 0:
        return np.zeros_like(x)
    if a + b > CONCENTRATED_BETA:
        given_alive = _expected_given_alive_concentrated(r, alpha, a, b, x, t, horizon)
        return given_alive * (p_alive(params, x, recency, t) if alive is None else alive)
    if abs(a - 1) < 1e-9:
        # The a -> 1 limit is not worth a special case; nudge a so the formula is defined.
        a = 1 + 1e-9
    z = horizon / (alpha + t + horizon)
    one_minus_z = (alpha + t) / (alpha + t + horizon)
    hyp = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    bracket = 1.0 - np.power(one_minus_z, a - 1) * hyp
    unconditional = (a + b + x - 1) / (a - 1) * bracket
    return unconditional * (p_alive(params, x, recency, t) if alive is None else alive)


#: Beyond this a + b the dropout probabilities hardly vary between customers (the fit says
#: everyone drops out at about the same rate) and the hypergeometric form overflows: the
#: expectation is integrated over the (then nearly normal) Beta posterior instead.
CONCENTRATED_BETA = 1000.0
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


def _expected_given_alive_concentrated(
    r: float, alpha: float, a: float, b: float, x: Array, t: Array, horizon: float
) -> Array:
    """E[purchases in (T, T+t] | alive] = E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p] with
    p ~ Beta(a, b + x), by Gauss-Hermite quadrature on its normal approximation."""
    bx = b + x
    mean = a / (a + bx)
    sd = np.sqrt(a * bx / ((a + bx) ** 2 * (a + bx + 1)))
    p = np.clip(mean[:, None] + sd[:, None] * _HERMITE_NODES[None, :], 1e-12, 1.0)
    ratio = (alpha + t)[:, None] / ((alpha + t)[:, None] + p * horizon)
    inner = -np.expm1((r + x)[:, None] * np.log(ratio)) / p
    return np.asarray(inner @ _HERMITE_WEIGHTS, dtype=np.float64)


# --------------------------------------------------------------------------- Gamma-Gamma


def check_spend(frequency: Any, monetary: Any) -> tuple[Array, Array]:
    x = _as_array(frequency, "frequency")
    m = _as_array(monetary, "monetary_value")
    if len(x) != len(m):
        raise FitError("frequency and monetary_value must have the same length")
    return x, m


def _gg_terms(theta: Array, x: Array, m: Array, xu: Array, xi: Any) -> Array:
    p, q, g = theta
    px_u = p * xu
    return (
        (special.gammaln(px_u + q) - special.gammaln(px_u) + px_u * np.log(xu))[xi]
        - special.gammaln(q)
        + q * math.log(g)
        + (p * x - 1) * np.log(m)
        - (p * x + q) * np.log(x * m + g)
    )


def gammagamma_log_likelihood(params: Any, frequency: Any, monetary: Any) -> Array:
    """The log-likelihood of each customer's mean repeat spend (customers with x > 0)."""
    x, m = check_spend(frequency, monetary)
    if np.any(x <= 0) or np.any(m <= 0):
        raise FitError("Gamma-Gamma needs customers with repeat purchases and a positive spend")
    xu, xi = _lookup(x)
    return _gg_terms(np.asarray(params, dtype=np.float64), x, m, xu, xi)


@dataclass(frozen=True)
class _GgData:
    """The mean spends arranged once for a fit: what does not depend on the parameters is
    computed here (per distinct x, and the sums over customers of the logs of spends)."""

    x: Array
    xm: Array  # x * m
    xu: Array
    log_xu: Array
    cnt: Array  # customers per distinct x
    n: float
    sum_log_m: float
    sum_x_log_m: float


def _gg_data(x: Array, m: Array, xu: Array, xi: Any) -> _GgData:
    log_m = np.log(m)
    return _GgData(
        x,
        x * m,
        xu,
        np.log(xu),
        np.bincount(xi, minlength=len(xu)).astype(np.float64),
        float(len(x)),
        float(np.sum(log_m)),
        float(np.sum(x * log_m)),
    )


def _gg_value_grad(theta: Array, x: Array, m: Array, xu: Array, xi: Any) -> tuple[float, Array]:
    """Total log-likelihood of the mean spends and its gradient (see :func:`_gg_eval`)."""
    return _gg_eval(theta, _gg_data(x, m, xu, xi))


def _gg_eval(theta: Array, d: _GgData) -> tuple[float, Array]:
    """Total log-likelihood and gradient: terms in x alone once per distinct x, one logarithm
    and one division per customer."""
    p, q, g = theta
    n, cnt, xu, log_xu = d.n, d.cnt, d.xu, d.log_xu
    px_u = p * xu
    xm_g = d.xm + g
    log_xmg = np.log(xm_g)
    pxq = p * d.x + q
    ll = (
        float(cnt @ (special.gammaln(px_u + q) - special.gammaln(px_u) + px_u * log_xu))
        - n * special.gammaln(q)
        + n * q * math.log(g)
        + p * d.sum_x_log_m
        - d.sum_log_m
        - float(np.sum(pxq * log_xmg))
    )
    dig_pxq = special.digamma(px_u + q)
    dp = (
        float(cnt @ (xu * (dig_pxq - special.digamma(px_u) + log_xu)))
        + d.sum_x_log_m
        - float(np.sum(d.x * log_xmg))
    )
    dq = float(cnt @ dig_pxq) - n * special.digamma(q) + n * math.log(g) - float(np.sum(log_xmg))
    dg = n * q / g - float(np.sum(pxq / xm_g))
    return ll, np.array([dp, dq, dg])


def fit_gammagamma(
    frequency: Any, monetary: Any, *, min_repeaters: int = 1, max_iter: int = 2000
) -> Fit:
    """Fit Gamma-Gamma on the customers with repeat purchases (others are left out).

    ``monetary`` is each customer's mean spend over their repeat purchases; customers with a
    zero mean (visits without spend) carry no information on spend and are left out too.
    """
    x_all, m_all = check_spend(frequency, monetary)
    keep = (x_all > 0) & (m_all > 0)
    x, m = x_all[keep], m_all[keep]
    if len(x) < max(min_repeaters, 1):
        raise NotEnoughData(len(x), max(min_repeaters, 1))
    # Spend in units where the mean is 1: gamma scales with money, p and q do not.
    scale = float(np.mean(m))
    start = np.array([1.0, 1.0, 1.0])
    xu, xi = _lookup(x)
    data = _gg_data(x, m / scale, xu, xi)

    def full(th: Array) -> tuple[float, Array]:
        return _gg_eval(th, data)

    polished = None
    if len(x) > WARM_START_ABOVE:
        # As for BG/NBD: a fit on an evenly spaced subsample, then Newton steps on the full
        # data with the subsample's Hessian (a few full evaluations instead of dozens).
        step = len(x) // WARM_START_SAMPLE
        xs = x[::step]
        xsu, xsi = _lookup(xs)
        sample_data = _gg_data(xs, m[::step] / scale, xsu, xsi)

        def sample(th: Array) -> tuple[float, Array]:
            return _gg_eval(th, sample_data)

        start, _ = _maximise(sample, start, max_iter=max_iter)
        polished = _newton_polish(full, start, sample, len(x) / len(xs))
    theta, hess, nit, ll_scaled = polished or _quasi_newton(full, start, max_iter=max_iter)
    unscale = np.array([1.0, 1.0, 1.0 / scale])
    hess = hess * np.outer(unscale, unscale)
    theta[2] *= scale
    # Densities of mean spends change by 1/scale each when money is rescaled.
    ll = ll_scaled - len(x) * math.log(scale)
    params = dict(zip(GAMMAGAMMA_PARAMS, (float(v) for v in theta), strict=True))
    if not np.isfinite(ll):
        raise FitError("the fitted log-likelihood is not finite")
    return Fit("gammagamma", params, _std_errors(-hess, GAMMAGAMMA_PARAMS), float(ll), len(x), nit)


def expected_spend(params: dict[str, float] | Fit, frequency: Any, monetary: Any) -> Array:
    """E[spend of one future purchase | x, m] under Gamma-Gamma: a weighted mean of the
    population mean ``p gamma / (q - 1)`` and the customer's own mean ``m`` (weight grows with
    ``x``). For customers without repeat purchase it is the population mean."""
    p, q, g = _theta(params, GAMMAGAMMA_PARAMS)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.nan_to_num(np.asarray(monetary, dtype=np.float64), nan=0.0)
    return p * (g + x * m) / (p * x + q - 1)


# --------------------------------------------------------------------------- simulation


def simulate_bgnbd(
    params: dict[str, float],
    ages: Any,
    rng: np.random.Generator,
    *,
    max_purchases: int = 10_000,
) -> tuple[Array, Array, Array]:
    """Draw (x, t_x, T) for customers of the given ages from a BG/NBD process (tests, bench).

    Vectorised over customers: each round draws every still-active customer's next purchase
    time and whether they drop out after it.
    """
    t = np.asarray(ages, dtype=np.float64)
    n = len(t)
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], size=n)
    drop = rng.beta(params["a"], params["b"], size=n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    active = np.ones(n, dtype=bool)
    for _ in range(max_purchases):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        clock[idx] += rng.exponential(1.0, size=idx.size) / lam[idx]
        bought = clock[idx] <= t[idx]
        done = idx[~bought]
        active[done] = False
        won = idx[bought]
        x[won] += 1
        t_x[won] = clock[won]
        # A dropout happens after a purchase (the BG/NBD "die at a purchase" story).
        gone = won[rng.random(won.size) < drop[won]]
        active[gone] = False
    return x, t_x, t
