"""Customer-base models over 1,000,000 customers: ours against lifetimes and a numpy floor.

Data: 1,000,000 customers aged 26 to 104 weeks, their purchases drawn from a BG/NBD process
with known parameters (r=0.9, alpha=13 weeks, a=0.8, b=2.5: about 3 million purchases at
exact, non-round instants) and their spends from a Gamma-Gamma process (p=6, q=4, gamma=15),
shuffled as a till would deliver them.

* **Ours** (``cueillette.insights.engine.compute``, what the nightly refresh runs after reading
  the purchases): per-customer summary, RFM scores and segments, lapses, BG/NBD fit with
  standard errors, Gamma-Gamma fit with standard errors, then every customer's probability of
  being active and expected purchases and spend over 3, 6 and 12 months.
* **lifetimes 0.11.3** (the reference implementation, in its own virtualenv under /tmp built
  from ``bench/requirements-lifetimes.txt`` because it needs numpy<2, pandas<2, scipy<1.12): the
  same steps on the same purchases — ``summary_data_from_transaction_data`` (daily periods,
  converted to weeks), RFM quintiles with pandas, ``BetaGeoFitter`` and ``GammaGammaFitter``,
  ``conditional_probability_alive``, ``conditional_expected_number_of_purchases_up_to_time``
  for the three horizons and ``conditional_expected_average_profit``. To compare parameters on
  the *same summary*, lifetimes then also fits both models on ours (exact times).
* **Floor**: a single numpy pass over the purchases that produces a per-customer summary
  (count and total by ``bincount``, first and last by ``minimum.at`` / ``maximum.at``).

Targets: at least 10x faster than lifetimes end to end; parameters equal to lifetimes' to 1e-3
(relative) on the same summary; within 20x of the numpy floor; peak memory under 2 GB.
Last line: ``RESULT bench=insights ratio=... floor_ratio=... max_param_diff=... seconds=...
peak_mb=...``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cueillette.insights import engine, fitting  # noqa: E402

WEEK = 7 * 86400.0
NOW = 1_790_000_000.0  # a fixed instant (2026-09), so runs are comparable
TRUTH = {"r": 0.9, "alpha": 13.0, "a": 0.8, "b": 2.5}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
REQUIREMENTS = ROOT / "bench" / "requirements-lifetimes.txt"
VENV = Path(tempfile.gettempdir()) / "cueillette-bench-lifetimes"


def generate(n: int, seed: int) -> dict[str, np.ndarray]:
    """Purchases of ``n`` customers from BG/NBD (times) and Gamma-Gamma (spends)."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(26, 104, size=n)
    x, t_x, age = fitting.simulate_bgnbd(TRUTH, ages, rng)
    xi = x.astype(np.int64)
    # Given x purchases of a Poisson process by t_x, the first x-1 are uniform on (0, t_x).
    inner = np.maximum(xi - 1, 0)
    owner_inner = np.repeat(np.arange(n), inner)
    inner_t = rng.uniform(0, 1, size=owner_inner.size) * t_x[owner_inner]
    owner_last = np.flatnonzero(xi > 0)
    customer = np.concatenate([np.arange(n), owner_inner, owner_last])
    since_first = np.concatenate([np.zeros(n), inner_t, t_x[owner_last]])
    at = NOW - (age[customer] - since_first) * WEEK
    nu = rng.gamma(SPEND["q"], 1 / SPEND["gamma"], size=n)
    amount = rng.gamma(SPEND["p"], 1 / nu[customer])
    order = rng.permutation(customer.size)
    return {
        "customer": (customer[order] + 100_000).astype(np.int64),
        "at": at[order],
        "amount": np.round(amount[order], 2),
    }


def numpy_floor(customer: np.ndarray, at: np.ndarray, amount: np.ndarray) -> float:
    """The per-customer summary alone (count, first, last, total) in linear numpy passes
    over the purchases: customers found by a bincount over the id range, no sort."""
    start = time.perf_counter()
    low = int(customer.min())
    g = customer - low
    k = int(g.max()) + 1
    _count = np.bincount(g, minlength=k)
    _total = np.bincount(g, weights=amount, minlength=k)
    first = np.full(k, np.inf)
    np.minimum.at(first, g, at)
    last = np.full(k, -np.inf)
    np.maximum.at(last, g, at)
    return time.perf_counter() - start


def ours(data: dict[str, np.ndarray]) -> tuple[float, engine.Result]:
    start = time.perf_counter()
    result = engine.compute(
        data["customer"], data["at"], data["amount"], NOW, lapse_factor=3.0, holdout_weeks=0
    )
    return time.perf_counter() - start, result


LIFETIMES_RUN = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np, pandas as pd
    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data
    folder, now = sys.argv[1], float(sys.argv[2])
    load = lambda name: np.load(f"{folder}/{name}.npy")
    HORIZONS = [m * 365.25 / 12 / 7 for m in (3, 6, 12)]
    df = pd.DataFrame({"customer": load("customer"),
                       "date": pd.to_datetime(load("at"), unit="s"),
                       "amount": load("amount")})
    start = time.perf_counter()
    s = summary_data_from_transaction_data(
        df, "customer", "date", monetary_value_col="amount",
        observation_period_end=pd.to_datetime(now, unit="s"), freq="D")
    for col in ("recency", "T"):
        s[col] = s[col] / 7.0
    rfm = pd.DataFrame({
        "r": np.ceil(5 * (-(s["T"] - s["recency"])).rank(method="average", pct=True)),
        "f": np.ceil(5 * s["frequency"].rank(method="average", pct=True)),
        "m": np.ceil(5 * (s["monetary_value"] * s["frequency"]).rank(method="average", pct=True)),
    })
    bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    spend = ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    for h in HORIZONS:
        expected = bgf.conditional_expected_number_of_purchases_up_to_time(
            h, s["frequency"], s["recency"], s["T"])
        _ = expected * spend
    seconds = time.perf_counter() - start
    # The same models on OUR summary (exact times), to compare parameters.
    x, t_x, T, m = load("x"), load("t_x"), load("T"), load("m")
    bg2 = BetaGeoFitter().fit(x, t_x, T)
    keep = (x > 0) & (m > 0)
    gg2 = GammaGammaFitter().fit(x[keep], m[keep])
    print(json.dumps({
        "seconds": seconds, "customers": int(len(s)), "rfm_rows": int(len(rfm)),
        "bgnbd": {k: float(v) for k, v in bg2.params_.items()},
        "gammagamma": {k: float(v) for k, v in gg2.params_.items()},
        "own_summary_bgnbd": {k: float(v) for k, v in bgf.params_.items()},
    }))
    """
)


def lifetimes_venv() -> Path:
    python = VENV / "bin" / "python"
    if (
        not python.exists()
        or subprocess.run(
            [str(python), "-c", "import lifetimes"], capture_output=True, check=False
        ).returncode
    ):
        print(f"building {VENV} for lifetimes (bench only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True
        )
    return python


def run_lifetimes(data: dict[str, np.ndarray], result: engine.Result) -> dict[str, object]:
    python = lifetimes_venv()
    s = result.summary
    with tempfile.TemporaryDirectory() as folder:
        for name, values in data.items():
            np.save(f"{folder}/{name}.npy", values)
        for name, values in (
            ("x", s.frequency),
            ("t_x", s.recency()),
            ("T", s.age()),
            ("m", s.repeat_mean),
        ):
            np.save(f"{folder}/{name}.npy", values)
        script = Path(folder) / "run.py"
        script.write_text(LIFETIMES_RUN)
        done = subprocess.run(
            [str(python), str(script), folder, str(NOW)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"lifetimes failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# lifetimes names Gamma-Gamma's scale "v"; ours is "gamma".
LIFETIMES_NAMES = {
    "bgnbd": {"r": "r", "alpha": "alpha", "a": "a", "b": "b"},
    "gammagamma": {"p": "p", "q": "q", "gamma": "v"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--skip-lifetimes", action="store_true", help="ours and the floor only")
    args = parser.parse_args()

    data = generate(args.customers, args.seed)
    n_purchases = data["customer"].size
    print(f"{args.customers:,} customers, {n_purchases:,} purchases")
    floor = min(numpy_floor(data["customer"], data["at"], data["amount"]) for _ in range(3))
    print(f"numpy floor (one grouping pass): {floor:.3f} s")
    seconds, result = ours(data)
    assert result.bgnbd is not None and result.gammagamma is not None
    print(f"ours end to end: {seconds:.2f} s")
    for fit, truth in ((result.bgnbd, TRUTH), (result.gammagamma, SPEND)):
        for k, v in fit.params.items():
            print(
                f"  {fit.model} {k} = {v:.4f} ± {fit.std_errors[k]:.4f} (simulated with {truth[k]})"
            )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ratio = max_diff = float("nan")
    if not args.skip_lifetimes:
        theirs = run_lifetimes(data, result)
        their_seconds = float(theirs["seconds"])  # type: ignore[arg-type]
        ratio = their_seconds / seconds
        print(f"lifetimes end to end: {their_seconds:.2f} s ({ratio:.1f}x ours)")
        diffs = []
        for model, fit in (("bgnbd", result.bgnbd), ("gammagamma", result.gammagamma)):
            params = theirs[model]
            assert isinstance(params, dict)
            for ours_name, their_name in LIFETIMES_NAMES[model].items():
                mine, other = fit.params[ours_name], float(params[their_name])
                diff = abs(mine - other) / abs(other)
                diffs.append(diff)
                print(
                    f"  {model} {ours_name}: ours {mine:.6f}, lifetimes {other:.6f} "
                    f"(relative difference {diff:.1e})"
                )
        max_diff = max(diffs)
    floor_ratio = seconds / floor
    print(
        f"targets: >= 10x lifetimes ({ratio:.1f}x), params within 1e-3 ({max_diff:.1e}), "
        f"<= 20x the floor ({floor_ratio:.1f}x), peak under 2 GB ({peak_mb:.0f} MB)"
    )
    print(
        f"RESULT bench=insights ratio={ratio:.2f} floor_ratio={floor_ratio:.2f} "
        f"max_param_diff={max_diff:.2e} seconds={seconds:.2f} peak_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
