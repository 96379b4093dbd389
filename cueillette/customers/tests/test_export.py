"""safe_cell: nothing a customer typed becomes a spreadsheet formula (no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cueillette.customers.export import FORMULA_TRIGGERS, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd()", "'=cmd()"),
        ("+33612345678", "'+33612345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Hélène", "Hélène"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (["yoga", "thé"], "yoga, thé"),
        (["=x", "y"], "'=x, y"),
        (dt.date(1990, 5, 17), "1990-05-17"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


@given(st.text())
def test_no_cell_starts_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_TRIGGERS)
    assert cell in (text, "'" + text)  # the text itself is kept
