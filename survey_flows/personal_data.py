"""Personal data a citizen may type into free text (UU 27/2022): found and masked.

Pure: stdlib only. Masks e-mail addresses, NIK (16 digits) and phone numbers; names cannot be
recognised reliably and are not touched (docs/privacy.md says so).
"""

from __future__ import annotations

import re

MASK = "[disamarkan]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# NIK: 16 digits, possibly grouped by spaces, dots or dashes.
_NIK = re.compile(r"(?<!\d)\d(?:[ .-]?\d){15}(?!\d)")
# Indonesian numbers (+62 / 62 / 0 then 8-13 digits) and any other run of 9-15 digits.
_PHONE = re.compile(r"(?<![\w])\+?\d(?:[ .()-]{0,2}\d){8,14}(?!\d)")


def mask_personal_data(text: str) -> str:
    """``text`` with e-mail addresses, NIK and phone numbers replaced by :data:`MASK`."""
    for pattern in (_EMAIL, _NIK, _PHONE):
        text = pattern.sub(MASK, text)
    return text


def mask_optional(text: str | None) -> str | None:
    """:func:`mask_personal_data` for an optional text (``None`` and ``""`` stay as they are)."""
    return mask_personal_data(text) if text else text


# What stays of a complaint's description once its personal content is erased (on /hapus, or
# by the retention purge after it closed): the officers who open it see why it is empty.
ERASED = "[dihapus atas permintaan pelapor atau masa simpan habis]"
