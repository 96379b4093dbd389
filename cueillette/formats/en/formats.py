"""English formats: those of en-GB (day first), with times on 24 hours as in our French pages."""

DATE_FORMAT = "j F Y"  # '6 December 2026'
TIME_FORMAT = "H:i"  # '14:30'
DATETIME_FORMAT = "j F Y, H:i"  # '6 December 2026, 14:30'
YEAR_MONTH_FORMAT = "F Y"  # 'December 2026'
MONTH_DAY_FORMAT = "j F"  # '6 December'
SHORT_DATE_FORMAT = "d/m/Y"  # '06/12/2026'
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # '06/12/2026 14:30'
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-12-06' (what <input type="date"> sends)
    "%d/%m/%Y",  # '06/12/2026'
    "%d/%m/%y",  # '06/12/26'
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",  # <input type="datetime-local">
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%y %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
