"""A complaint's photo and reading callback data."""

from __future__ import annotations

from typing import Any

PHOTO = {"photo": [{"file_id": "AgAD-photo-1", "file_unique_id": "p1", "width": 800,
                    "height": 600}]}  # fmt: skip


def data_of(message: dict[str, Any], label: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {message['reply_markup']}")
