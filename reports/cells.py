"""Cells that came from a person, written so no spreadsheet reads them as a formula.

OWASP's CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is a formula to Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``=cmd|...``).
Such a cell gets a leading apostrophe, which every spreadsheet shows as text; in an XLSX the
cell is also typed as a string. Control characters (other than newline and tab) are removed
first: XLSX cannot hold them at all.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell, MergedCell

from survey_flows.plain_text import without_controls

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """``value`` as inert text: no control characters, a formula prefix neutralised."""
    cleaned = without_controls(value)
    return "'" + cleaned if cleaned.startswith(FORMULA_PREFIXES) else cleaned


def safe_value(value: Any) -> Any:
    """Strings through :func:`safe_text`; numbers, dates and None unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def put_text(cell: Cell | MergedCell, value: Any) -> None:
    """Set an XLSX cell: a string is always a string cell, never a formula."""
    cell.value = safe_value(value)
    if isinstance(value, str):
        cell.data_type = "s"


__all__ = ["FORMULA_PREFIXES", "put_text", "safe_text", "safe_value"]
