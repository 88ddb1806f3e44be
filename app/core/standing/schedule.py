"""When a standing instruction falls due (`ledger.md`, "Standing instructions").

DAILY: every day from the start date. WEEKLY: on the start date's weekday. MONTHLY: on
the start date's day of the month, or the month's last day when it is shorter (a
standing order from 31 January runs on 28 or 29 February, then on 31 March).
"""

import calendar
from datetime import date, timedelta

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")


def _monthly_day(start: date, year: int, month: int) -> date:
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_due(frequency: str, start: date, end: date | None, on: date) -> bool:
    """Whether an instruction of this schedule runs on ``on``."""
    if on < start or (end is not None and on > end):
        return False
    if frequency == "DAILY":
        return True
    if frequency == "WEEKLY":
        return on.weekday() == start.weekday()
    return on == _monthly_day(start, on.year, on.month)


def next_due(frequency: str, start: date, end: date | None, on_or_after: date) -> date | None:
    """The first due date on or after ``on_or_after``; None when the schedule has ended."""
    day = max(start, on_or_after)
    if frequency == "WEEKLY":
        day += timedelta(days=(start.weekday() - day.weekday()) % 7)
    elif frequency == "MONTHLY":
        candidate = _monthly_day(start, day.year, day.month)
        if candidate < day:
            year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
            candidate = _monthly_day(start, year, month)
        day = candidate
    if end is not None and day > end:
        return None
    return day
