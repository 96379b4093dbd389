"""The models against finite differences, known values, CDNOW and simulated data. No database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy import special

from cueillette.insights import fitting
from cueillette.insights.fitting import (
    _bg_data,
    _bg_value_grad,
    _gg_value_grad,
    _lookup,
)
from cueillette.insights.tests import cdnow

# Fader, Hardie & Lee (2005): BG/NBD on the CDNOW sample (weeks), and Gamma-Gamma.
PUBLISHED_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _small_sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([0, 1, 2, 5, 0, 12, 3, 1, 250])
    t_x = np.array([0, 3.5, 20.1, 30.0, 0, 35.9, 10.2, 0.7, 38.0])
    t = np.array([38.9, 38.9, 30.0, 38.0, 5.0, 36.0, 24.0, 12.5, 38.5])
    return x.astype(float), t_x, t


def _numeric_grad(f: object, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.empty_like(theta)
    for j in range(len(theta)):
        up, down = theta.copy(), theta.copy()
        up[j] += h * theta[j]
        down[j] -= h * theta[j]
        out[j] = (f(up) - f(down)) / (2 * h * theta[j])  # type: ignore[operator]
    return out


def test_bgnbd_gradient_matches_finite_differences() -> None:
    x, t_x, t = _small_sample()
    d = _bg_data(x, t_x, t)
    for theta in ([0.243, 4.414, 0.793, 2.426], [1.7, 0.6, 3.2, 0.9], [0.05, 12.0, 0.2, 7.5]):
        th = np.array(theta)
        ll, grad = _bg_value_grad(th, d)
        numeric = _numeric_grad(lambda v: _bg_value_grad(v, d)[0], th)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
        assert ll == pytest.approx(float(fitting.bgnbd_log_likelihood(th, x, t_x, t).sum()))


def test_the_full_data_in_parts_sums_to_the_same_likelihood(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fitting, "PARALLEL_ABOVE", 3)
    monkeypatch.setattr(fitting, "THREADS", 2)
    x, t_x, t = _small_sample()
    parts = fitting._bg_parts(x, t_x, t)
    assert len(parts) == 2 and sum(len(p.x) for p in parts) == len(x)
    for theta in ([0.243, 4.414, 0.793, 2.426], [1.7, 0.6, 3.2, 0.9]):
        th = np.array(theta)
        ll, grad = fitting._bg_value_grad_parts(th, parts)
        ll1, grad1 = _bg_value_grad(th, _bg_data(x, t_x, t))
        assert ll == pytest.approx(ll1, rel=1e-12)
        np.testing.assert_allclose(grad, grad1, rtol=1e-12)
    assert fitting.map_parallel(lambda v: v * v, [1, 2, 3]) == [1, 4, 9]


def test_gammagamma_gradient_matches_finite_differences() -> None:
    x = np.array([1.0, 2, 3, 7, 40, 300])
    m = np.array([12.5, 30.0, 8.2, 55.0, 21.0, 19.0])
    xu, xi = _lookup(x)
    for theta in ([6.25, 3.74, 15.44], [1.2, 8.0, 0.5], [20.0, 1.5, 100.0]):
        th = np.array(theta)
        _ll, grad = _gg_value_grad(th, x, m, xu, xi)
        numeric = _numeric_grad(lambda v: _gg_value_grad(v, x, m, xu, xi)[0], th)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_bgnbd_likelihood_equals_the_paper_formula_without_logs() -> None:
    """Equation (6) of Fader, Hardie & Lee (2005) evaluated directly for small x."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    for x, t_x, t in ((0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.43, 38.86)):
        beta = special.beta
        term = (alpha + t) ** -(r + x)
        if x > 0:
            term += a / (b + x - 1) * (alpha + t_x) ** -(r + x)
        direct = beta(a, b + x) / beta(a, b) * math.gamma(r + x) / math.gamma(r) * alpha**r * term
        ours = fitting.bgnbd_log_likelihood([r, alpha, a, b], [x], [t_x], [t])[0]
        assert ours == pytest.approx(math.log(direct), rel=1e-10)


def test_gammagamma_likelihood_known_value() -> None:
    """One customer, three repeat purchases averaging 20: the density written out by hand."""
    p, q, g = 6.25, 3.74, 15.44
    x, m = 3, 20.0
    direct = (
        math.gamma(p * x + q)
        / (math.gamma(p * x) * math.gamma(q))
        * g**q
        * m ** (p * x - 1)
        * x ** (p * x)
        / (g + m * x) ** (p * x + q)
    )
    ours = fitting.gammagamma_log_likelihood([p, q, g], [x], [m])[0]
    assert ours == pytest.approx(math.log(direct), rel=1e-10)


def test_expected_purchases_known_value_and_direct_formula() -> None:
    """FHL 2005: the customer with x=2, t_x=30.43, T=38.86 is expected to make 1.226
    purchases in the next 39 weeks. The Euler form agrees with the direct form (eq. 10)."""
    params = PUBLISHED_BG
    value = fitting.expected_purchases(params, 39, [2], [30.43], [38.86])[0]
    assert value == pytest.approx(1.226, abs=2e-3)
    r, alpha, a, b = (params[k] for k in fitting.BGNBD_PARAMS)
    for x, t_x, t in ((0, 0.0, 20.0), (3, 10.0, 30.0), (15, 29.0, 30.0)):
        z = 39 / (alpha + t + 39)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        unc = (a + b + x - 1) / (a - 1) * (1 - ((alpha + t) / (alpha + t + 39)) ** (r + x) * hyp)
        alive = fitting.p_alive(params, [x], [t_x], [t])[0]
        ours = fitting.expected_purchases(params, 39, [x], [t_x], [t])[0]
        assert ours == pytest.approx(unc * alive, rel=1e-8)


def test_many_purchases_stay_finite() -> None:
    """Customers with hundreds (and thousands) of purchases: no overflow, sensible values."""
    params = {"r": 2.5, "alpha": 1.2, "a": 0.4, "b": 6.0}
    x = np.array([300.0, 800.0, 3000.0, 3000.0])
    t_x = np.array([99.0, 99.5, 99.9, 10.0])
    t = np.full(4, 100.0)
    alive = fitting.p_alive(params, x, t_x, t)
    expected = fitting.expected_purchases(params, 52, x, t_x, t)
    ll = fitting.bgnbd_log_likelihood(list(params.values()), x, t_x, t)
    assert np.all(np.isfinite(alive)) and np.all(np.isfinite(expected)) and np.all(np.isfinite(ll))
    assert expected[2] == pytest.approx(3000 / 100 * 52, rel=0.1)  # still buying at ~30/week
    assert alive[3] < 1e-100  # gone for 90 weeks after buying 30 a week


@hsettings(max_examples=60)
@given(
    x=st.integers(0, 400),
    frac=st.floats(0.01, 1.0),
    t=st.floats(0.5, 500.0),
    horizon=st.floats(0.1, 200.0),
)
def test_predictions_are_probabilities_and_grow_with_horizon(
    x: int, frac: float, t: float, horizon: float
) -> None:
    t_x = 0.0 if x == 0 else frac * t
    alive = fitting.p_alive(PUBLISHED_BG, [x], [t_x], [t])[0]
    assert 0.0 <= alive <= 1.0
    short = fitting.expected_purchases(PUBLISHED_BG, horizon, [x], [t_x], [t])[0]
    long = fitting.expected_purchases(PUBLISHED_BG, horizon * 2, [x], [t_x], [t])[0]
    assert np.isfinite(short) and 0.0 <= short <= long + 1e-9


def test_cdnow_bgnbd_reproduces_the_published_parameters() -> None:
    x, t_x, t = cdnow.summary()
    assert len(x) == 2357
    fit = fitting.fit_bgnbd(x, t_x, t)
    for name, value in PUBLISHED_BG.items():
        assert fit.params[name] == pytest.approx(value, abs=1e-3), name
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.1)
    assert all(0 < fit.std_errors[k] < fit.params[k] for k in fitting.BGNBD_PARAMS)


def test_cdnow_bgnbd_in_days_gives_the_same_model() -> None:
    """Time in any unit: alpha scales with it, r, a, b do not."""
    x, t_x, t = cdnow.summary()
    fit = fitting.fit_bgnbd(x, t_x * 7, t * 7)
    assert fit.params["alpha"] == pytest.approx(PUBLISHED_BG["alpha"] * 7, rel=1e-3)
    assert fit.params["r"] == pytest.approx(PUBLISHED_BG["r"], abs=1e-3)


def test_cdnow_gammagamma_reproduces_the_published_parameters() -> None:
    x, m = cdnow.spend()
    fit = fitting.fit_gammagamma(x, m)
    assert fit.n_customers == 946
    for name, value in PUBLISHED_GG.items():
        assert fit.params[name] == pytest.approx(value, abs=0.02), name


def test_bgnbd_recovers_simulated_parameters_within_their_standard_errors() -> None:
    truth = {"r": 0.8, "alpha": 3.0, "a": 0.6, "b": 2.5}
    rng = np.random.default_rng(20260301)
    ages = rng.uniform(20, 80, size=6000)
    x, t_x, t = fitting.simulate_bgnbd(truth, ages, rng)
    fit = fitting.fit_bgnbd(x, t_x, t)
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 2 * fit.std_errors[name], (name, fit.params)


def test_gammagamma_recovers_simulated_parameters_within_their_standard_errors() -> None:
    truth = {"p": 4.0, "q": 5.0, "gamma": 30.0}
    rng = np.random.default_rng(7)
    n = 5000
    x = rng.integers(1, 15, size=n).astype(float)
    nu = rng.gamma(truth["q"], 1 / truth["gamma"], size=n)
    # The mean of x spends Gamma(p, nu) is Gamma(p x, nu x).
    m = rng.gamma(truth["p"] * x, 1 / (nu * x))
    fit = fitting.fit_gammagamma(x, m)
    for name, value in truth.items():
        assert abs(fit.params[name] - value) < 2 * fit.std_errors[name], (name, fit.params)


def test_not_enough_data_says_how_many_are_needed() -> None:
    with pytest.raises(fitting.NotEnoughData) as exc:
        fitting.fit_bgnbd([0, 1, 0], [0, 2.0, 0], [5, 5, 5], min_repeaters=20)
    assert "need 20 customers with a repeat purchase" in str(exc.value)


@pytest.mark.parametrize(
    ("x", "t_x", "t", "words"),
    [
        ([1, float("nan")], [1, 0], [2, 2], "not finite"),
        ([1, 2], [1, 3], [2, 2], "between 0 and T"),
        ([1.5], [1], [2], "whole number"),
        ([0], [1], [2], "recency must be 0"),
    ],
)
def test_bad_summaries_are_refused_with_a_reason(
    x: list[float], t_x: list[float], t: list[float], words: str
) -> None:
    with pytest.raises(fitting.FitError, match=words):
        fitting.fit_bgnbd(x, t_x, t)


@pytest.mark.parametrize(("a", "b"), [(900.0, 18000.0), (1e4, 2e5), (2e6, 8e7)])
def test_concentrated_dropout_gives_finite_forecasts_that_agree_across_methods(
    a: float, b: float
) -> None:
    """When every customer drops out at about the same rate (a + b huge, as a fit on data
    without heterogeneity gives), the forecast stays finite and matches a direct numerical
    integration over the Beta posterior (midpoint rule on a fine grid around its mean)."""
    params = {"r": 0.3, "alpha": 2.0, "a": a, "b": b}
    x = np.array([0.0, 3.0, 40.0])
    t_x = np.array([0.0, 45.0, 45.0])
    t = np.full(3, 50.0)
    ours = fitting.expected_purchases(params, 52.0, x, t_x, t)
    for i in range(3):
        bx = b + x[i]
        mean = a / (a + bx)
        sd = math.sqrt(a * bx / ((a + bx) ** 2 * (a + bx + 1)))
        grid = np.linspace(max(mean - 12 * sd, 1e-12), mean + 12 * sd, 200_001)
        from scipy import stats

        density = stats.beta.pdf(grid, a, bx)
        inner = (1 - (50 + 2.0) ** (0.3 + x[i]) / (52.0 + grid * 52.0) ** (0.3 + x[i])) / grid
        direct = float((inner * density).sum() / density.sum())
        alive = fitting.p_alive(params, [x[i]], [t_x[i]], [t[i]])[0]
        assert ours[i] == pytest.approx(direct * alive, rel=1e-6)
