"""CSV downloads: cells a spreadsheet opens as text, lines as Excel and RFC 4180 expect."""

import csv
import io
from typing import Any

# A cell a spreadsheet would run as a formula starts with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_line(cells: list[str] | tuple[str, ...]) -> str:
    """One CSV line (CRLF-terminated) of ``cells``, quoted where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()
