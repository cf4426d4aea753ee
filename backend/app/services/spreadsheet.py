"""CSV files people open in a spreadsheet: a cell is always text, never a formula."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A cell a spreadsheet shows as written (CSV injection: ``=HYPERLINK(...)`` stays text)."""
    return "'" + text if text[:1] in FORMULA_STARTS else text
