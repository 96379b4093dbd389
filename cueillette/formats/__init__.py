"""Our own format modules (``FORMAT_MODULE_PATH``): English pages read as British English.

A French business writing in English addresses customers in Europe: dates are day first
("6 December 2026", "06/12/2026") and times on 24 hours, not the US "12/06/2026, 2 p.m.".
The language code in URLs and cookies stays ``en``.
"""
