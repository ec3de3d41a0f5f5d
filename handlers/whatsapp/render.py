"""Outbound WhatsApp: an :class:`Outbound` as the content of a Graph API message.

No choices: a text message; up to three: reply buttons (up to three answers are buttons even
when navigation comes with them: the footer names the navigation words, typed); up to ten: a
list; more: pages of a list joined by "Berikutnya" / "Sebelumnya" rows, whose ids
(:func:`page_id`) come back as a page request. Texts and titles are cut to Meta's limits at
word boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from handlers.whatsapp.parse import PAGE_VERSION, REPLY_VERSION
from survey_flows.catalog import text as catalogue_text
from survey_flows.types import Choice, Outbound

log = logging.getLogger(__name__)

# Meta's limits for the messages we send (TECH.md §2f). Lengths are counted in UTF-16 code
# units, which is never less than the characters a person sees.
TEXT_MAX = 4096
BODY_MAX = 1024
FOOTER_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
LIST_BUTTON_MAX = 20

ELLIPSIS = "…"

# The few words the renderer adds itself; the engine's catalogue has the rest.
_UI: dict[str, dict[str, str]] = {
    "id": {
        "choose": "Pilih",
        "next": "Berikutnya",
        "prev": "Sebelumnya",
        "page": "Halaman {page} dari {pages}",
    },
    "en": {
        "choose": "Choose",
        "next": "Next",
        "prev": "Previous",
        "page": "Page {page} of {pages}",
    },
}


def _ui(language: str, key: str, **values: object) -> str:
    return _UI.get(language, _UI["id"])[key].format(**values)


def width(text: str) -> int:
    """Length as Meta counts it (UTF-16 code units; an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _cut_chars(text: str, room: int) -> str:
    kept: list[str] = []
    used = 0
    for char in text:
        used += width(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept)


def cut(label: str, limit: int) -> str:
    """``label`` on one line within ``limit``, cut at a word boundary with an ellipsis."""
    label = " ".join(label.split())
    if width(label) <= limit:
        return label
    room = limit - width(ELLIPSIS)
    kept = ""
    for word in label.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if width(candidate) > room:
            break
        kept = candidate
    if not kept:  # a single word longer than the limit
        kept = _cut_chars(label, room)
    return kept.rstrip(" ,.;:-/(«") + ELLIPSIS


def clip(text: str, limit: int) -> str:
    """A message text within ``limit``, keeping its lines, cut at a space when it must be."""
    if width(text) <= limit:
        return text
    kept = _cut_chars(text, limit - width(ELLIPSIS))
    space = max(kept.rfind(" "), kept.rfind("\n"))
    if space > len(kept) // 2:
        kept = kept[:space]
    log.warning("text cut to fit WhatsApp", extra={"limit": limit, "length": width(text)})
    return kept.rstrip() + ELLIPSIS


def unique_titles(labels: Sequence[str], limit: int, taken: Sequence[str] = ()) -> list[str]:
    """Titles within ``limit``, cut at word boundaries, distinct from each other and ``taken``.

    WhatsApp refuses a message whose buttons (or rows) share a title; two labels that only
    differ after the cut get a counter: ``Sangat tidak… (2)``.
    """
    used = {title.casefold() for title in taken}
    titles: list[str] = []
    for index, label in enumerate(labels, start=1):
        title = cut(label, limit) or str(index)
        counter = 2
        while title.casefold() in used:
            suffix = f" ({counter})"
            title = (cut(label, limit - width(suffix)) or str(index)) + suffix
            counter += 1
        used.add(title.casefold())
        titles.append(title)
    return titles


def compose_body(message: Outbound) -> tuple[str, bool]:
    """The body: the text and the answers numbered with their full labels, when that fits.

    The numbers are the ones the engine understands when typed. Returns the body and whether
    the numbers are in it (if not, the row and button titles carry them).
    """
    text = message.text.strip()
    answers = message.answer_choices()
    if answers:
        numbered = "\n".join(f"{n}. {c.label}" for n, c in enumerate(answers, start=1))
        full = f"{text}\n\n{numbered}"
        if width(full) <= BODY_MAX:
            return full, True
    return clip(text, BODY_MAX), False


def _labels(message: Outbound, choices: Sequence[Choice], numbered_in_body: bool) -> list[str]:
    """Labels for buttons or rows; answers get their number when the body does not show it."""
    if numbered_in_body:
        return [c.label for c in choices]
    number = {c.id: n for n, c in enumerate(message.answer_choices(), start=1)}
    return [f"{number[c.id]}. {c.label}" if c.id in number else c.label for c in choices]


def footer_hint(message: Outbound) -> str | None:
    """The footer: what this step accepts typed (``Outbound.hint_key``) and the navigation
    words, or None when the message offers no navigation.

    A step that takes a number gets the range to type (``Ketik 1-4``) when it has more than
    one answer: on WhatsApp typing a digit is one tap where a list is three."""
    if not message.nav_choices():
        return None
    answers = len(message.answer_choices())
    if message.hint is None and answers > 1:
        hint = catalogue_text(message.language, "wa.hint.range", n=answers)
    else:
        hint = catalogue_text(message.language, message.hint_key)
    return hint if width(hint) <= FOOTER_MAX else None


def _footer(message: Outbound) -> dict[str, str] | None:
    hint = footer_hint(message)
    return None if hint is None else {"text": hint}


def shown_choices(message: Outbound) -> tuple[Choice, ...]:
    """The choices as WhatsApp shows them: up to three answers as reply buttons without the
    navigation, when the navigation would push them over three (a list costs three taps: open,
    pick, send). The footer then names the navigation words, which work typed."""
    answers = message.answer_choices()
    if len(message.choices) > BUTTONS_MAX >= len(answers) and footer_hint(message) is not None:
        return answers
    return message.choices


def text_message(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": clip(text, TEXT_MAX), "preview_url": False}}


def reply_id(token: str | None, choice_id: str) -> str:
    """The id of a reply button or list row: ``v1|<prompt token>|<choice id>``."""
    value = f"{REPLY_VERSION}|{token or ''}|{choice_id}"
    if len(value) > ROW_ID_MAX:
        raise ValueError(f"reply id too long for choice {choice_id!r}")
    return value


def page_id(token: str | None, page: int) -> str:
    """The id of a list's "Berikutnya" / "Sebelumnya" row: ``wp1|<prompt token>|<page>``."""
    return f"{PAGE_VERSION}|{token or ''}|{page}"


def render(message: Outbound, page: int = 0) -> dict[str, Any]:
    """The Graph API content of one outbound message (everything but the recipient).

    No choices: a text message. Up to three (answers, once the navigation went to the footer:
    :func:`shown_choices`): reply buttons. Up to ten: a list. More: the answers in a list,
    navigation rows while room remains (they can also be typed); more than ten answers: pages
    of a list joined by "Berikutnya" / "Sebelumnya" rows.
    """
    choices = shown_choices(message)
    if not choices:
        return text_message(message.text)
    body, numbered = compose_body(message)
    interactive: dict[str, Any] = {"body": {"text": body}}
    footer = _footer(message)
    if footer is not None:
        interactive["footer"] = footer
    if len(choices) <= BUTTONS_MAX:
        titles = unique_titles(_labels(message, choices, numbered), BUTTON_TITLE_MAX)
        interactive["type"] = "button"
        interactive["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": reply_id(message.prompt_token, c.id), "title": t}}
                for c, t in zip(choices, titles, strict=True)
            ]
        }
        return {"type": "interactive", "interactive": interactive}
    answers, nav = message.answer_choices(), message.nav_choices()
    if len(choices) > ROWS_MAX and len(answers) <= ROWS_MAX:
        choices = (*answers, *nav[: ROWS_MAX - len(answers)])
    pages = _pages(len(choices))
    page = min(max(page, 0), len(pages) - 1)
    language = message.language
    paging_titles = [_ui(language, "prev"), _ui(language, "next")] if len(pages) > 1 else []
    labels = _labels(message, choices, numbered)
    titles = unique_titles(labels, ROW_TITLE_MAX, taken=paging_titles)
    start, count, has_prev, has_next = pages[page]
    rows: list[dict[str, Any]] = []
    if has_prev:
        rows.append(_page_row(message, page - 1, len(pages), "prev"))
    for choice, label, title in zip(
        choices[start : start + count],
        labels[start : start + count],
        titles[start : start + count],
        strict=True,
    ):
        row = {"id": reply_id(message.prompt_token, choice.id), "title": title}
        if title != " ".join(label.split()):
            row["description"] = cut(label, ROW_DESCRIPTION_MAX)
        rows.append(row)
    if has_next:
        rows.append(_page_row(message, page + 1, len(pages), "next"))
    button = cut(message.choices_header or _ui(language, "choose"), LIST_BUTTON_MAX)
    if len(pages) > 1 and width(f"{button} ({page + 1}/{len(pages)})") <= LIST_BUTTON_MAX:
        button = f"{button} ({page + 1}/{len(pages)})"
    interactive["type"] = "list"
    interactive["action"] = {"button": button, "sections": [{"rows": rows}]}
    return {"type": "interactive", "interactive": interactive}


def _pages(total: int) -> list[tuple[int, int, bool, bool]]:
    """(first row, rows, has previous, has next) per page, at most ten rows on each."""
    if total <= ROWS_MAX:
        return [(0, total, False, False)]
    pages: list[tuple[int, int, bool, bool]] = []
    start = 0
    while start < total:
        has_prev = bool(pages)
        room = ROWS_MAX - int(has_prev)
        if total - start <= room:
            pages.append((start, total - start, has_prev, False))
            break
        pages.append((start, room - 1, has_prev, True))
        start += room - 1
    return pages


def _page_row(message: Outbound, page: int, pages: int, key: str) -> dict[str, Any]:
    return {
        "id": page_id(message.prompt_token, page),
        "title": _ui(message.language, key),
        "description": _ui(message.language, "page", page=page + 1, pages=pages),
    }
