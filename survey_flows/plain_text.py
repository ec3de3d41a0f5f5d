"""Text from people, made safe to store and to show: control characters removed.

A NUL cannot be stored in PostgreSQL's ``text``; other control characters (``\\x01``...) break
spreadsheets (XLSX forbids them) and terminals. Newline and tab are kept: people type them.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, and the C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """``text`` without control characters other than newline and tab (CR goes too)."""
    return _CONTROLS.sub("", text)


__all__ = ["without_controls"]
