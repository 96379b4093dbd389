"""The import benchmark still runs (a small smoke run; speed is measured by ``make bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_bench_script_prints_a_machine_readable_last_line() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "bench/customers.py",
            "--db",
            "sqlite",
            "--rows",
            "300",
            "--searches",
            "20",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT bench=customers ratio=")
    figures = dict(kv.split("=", 1) for kv in last.split()[1:])
    for key in (
        "sqlite_rows_per_s",
        "sqlite_raw_rows_per_s",
        "sqlite_search_phone_p99_ms",
        "sqlite_search_email_p50_ms",
        "sqlite_search_name_p99_ms",
    ):
        assert float(figures[key]) > 0, key
    assert figures["sqlite_rows"] == "300"
