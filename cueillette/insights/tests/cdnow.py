"""The CDNOW summaries of Fader, Hardie & Lee (2005), read from the ``lifetimes`` package.

The data ship without a licence, so they are not committed: an installed ``lifetimes`` is used
when there is one, otherwise its wheel is fetched with ``pip download --no-deps`` into a
temporary folder and read from the zip. Tests skip, saying why, only when both fail.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import subprocess
import sys
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest

WHEEL = "lifetimes==0.11.3"
SUMMARY = "lifetimes/datasets/cdnow_customers_summary.csv"
WITH_SPEND = "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv"


@cache
def _read(name: str) -> str:
    spec = importlib.util.find_spec("lifetimes")
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent.parent / name
        if path.exists():
            return path.read_text()
    folder = Path(tempfile.gettempdir()) / "cueillette-lifetimes-wheel"
    folder.mkdir(exist_ok=True)
    wheels = list(folder.glob("*.whl"))
    if not wheels:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        wheels = list(folder.glob("*.whl"))
        if not wheels:
            pytest.skip(
                f"CDNOW data unavailable: pip download {WHEEL} failed: {done.stderr[-300:]}"
            )
    with zipfile.ZipFile(wheels[0]) as z:
        return z.read(name).decode()


def _columns(name: str, *cols: str) -> list[np.ndarray]:
    rows = list(csv.DictReader(io.StringIO(_read(name))))
    return [np.array([float(r[c]) for r in rows]) for c in cols]


def summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,357 customers: repeat purchases, recency and age in weeks."""
    x, t_x, t = _columns(SUMMARY, "frequency", "recency", "T")
    return x, t_x, t


def spend() -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases and mean repeat spend (``zbar``)."""
    x, m = _columns(WITH_SPEND, "x", "zbar")
    return x, m
