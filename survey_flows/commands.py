"""The bot's one vocabulary of commands and keywords, and the one parser every channel uses.

A command is ``/word args`` on any channel (Telegram adds ``@BotName`` in groups). WhatsApp
users rarely type a slash, so the officers' and staff's commands and ``status`` also work
without it when the next word is a ticket number (``TANGGAPI ADU-7K3M-Q9XP Sudah ...``): an
ordinary sentence that merely starts with such a word stays text. Single words typed alone
(``batal``, ``kembali``) stay text too: the engine reads them per step as keywords, from the
same table (:data:`KEYWORDS`). ``MASUK`` (the web console's sign-in link) is a command when it
is the whole message, slash or not. Pure and stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from survey_flows.complaints import find_ticket
from survey_flows.types import InboundKind


class Command(StrEnum):
    """Canonical command names: what ``Inbound.command`` holds, whatever word was typed."""

    START = "start"
    MENU = "menu"
    KEMBALI = "kembali"
    BATAL = "batal"
    ULANG = "ulang"
    BANTUAN = "bantuan"
    BAHASA = "bahasa"
    SURVEI = "survei"
    HAPUS = "hapus"
    PENGADUAN = "pengaduan"
    STATUS = "status"
    TANGGAPI = "tanggapi"
    VERIFIKASI = "verifikasi"
    SELESAI = "selesai"
    TOLAK = "tolak"
    RINGKASAN = "ringkasan"
    MASUK = "masuk"
    BERHENTI = "berhenti"


class Audience(StrEnum):
    """Who a command is for; officers and staff are checked against the registrations."""

    CITIZEN = "citizen"
    OFFICER = "officer"
    STAFF = "staff"


class Arguments(StrEnum):
    """What follows the command word."""

    NONE = "none"
    PAYLOAD = "payload"  # /start's deep-link payload (u_<unit>, c_<unit>)
    OPTIONAL_TICKET = "optional_ticket"
    TICKET = "ticket"
    TICKET_TEXT = "ticket_text"  # a ticket, then free text kept verbatim
    OPTIONAL_UNIT = "optional_unit"  # an OPD or unit code


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its words in each language, who it is for, and what it takes.

    ``action`` is what the engine does when one of the words is typed alone at any step
    (a keyword); None when a lone word means nothing special. ``in_menu`` puts the command in
    Telegram's command menu, described by the catalogue's ``command.<name>``.
    """

    name: Command
    indonesian: tuple[str, ...]
    english: tuple[str, ...]
    audience: Audience = Audience.CITIZEN
    arguments: Arguments = Arguments.NONE
    action: str | None = None
    in_menu: bool = False
    # A staff command typed as the whole message, without a slash (WhatsApp: ``MASUK``).
    alone: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return self.indonesian + self.english

    def word(self, language: str) -> str:
        """The word to show in ``language`` (the Indonesian one when there is no other)."""
        if language == "en" and self.english:
            return self.english[0]
        return self.indonesian[0]


VOCABULARY: tuple[CommandSpec, ...] = (
    CommandSpec(Command.START, ("mulai",), ("start",), arguments=Arguments.PAYLOAD,
                action="menu", in_menu=True),
    CommandSpec(Command.SURVEI, ("survei",), ("survey",), action="survey", in_menu=True),
    CommandSpec(Command.PENGADUAN, ("pengaduan", "lapor"), ("complaint",),
                arguments=Arguments.OPTIONAL_TICKET, action="complaint", in_menu=True),
    CommandSpec(Command.STATUS, ("status",), (), arguments=Arguments.OPTIONAL_TICKET,
                action="status", in_menu=True),
    CommandSpec(Command.BAHASA, ("bahasa",), ("language",), action="language", in_menu=True),
    CommandSpec(Command.BATAL, ("batal",), ("cancel", "stop"), action="cancel", in_menu=True),
    CommandSpec(Command.BANTUAN, ("bantuan",), ("help",), action="help", in_menu=True),
    CommandSpec(Command.HAPUS, ("hapus",), ("erase",), action="erase", in_menu=True),
    CommandSpec(Command.MENU, ("menu",), (), action="menu"),
    CommandSpec(Command.KEMBALI, ("kembali",), ("back",), action="back"),
    # "Ulang" is everyday Indonesian for "say that again": it repeats the current question.
    CommandSpec(Command.ULANG, ("ulang",), ("repeat",), action="repeat"),
    # No more "you said, we did" news (docs/rtl.md); one word, any step.
    CommandSpec(Command.BERHENTI, ("berhenti",), ("unsubscribe",), action="unfollow"),
    CommandSpec(Command.TANGGAPI, ("tanggapi", "jawab"), ("answer",), Audience.OFFICER,
                Arguments.TICKET_TEXT),
    CommandSpec(Command.VERIFIKASI, ("verifikasi",), ("verify",), Audience.OFFICER,
                Arguments.TICKET),
    CommandSpec(Command.SELESAI, ("selesai",), ("finish",), Audience.OFFICER, Arguments.TICKET),
    CommandSpec(Command.TOLAK, ("tolak",), ("reject",), Audience.OFFICER, Arguments.TICKET_TEXT),
    CommandSpec(Command.RINGKASAN, ("ringkasan",), ("summary",), Audience.STAFF,
                Arguments.OPTIONAL_UNIT),
    # The web console's one-time sign-in link (docs/web.md).
    CommandSpec(Command.MASUK, ("masuk",), ("signin",), Audience.STAFF, alone=True),
)  # fmt: skip

BY_NAME: dict[Command, CommandSpec] = {spec.name: spec for spec in VOCABULARY}
BY_WORD: dict[str, CommandSpec] = {word: spec for spec in VOCABULARY for word in spec.words}

# Words a citizen may type alone at any step, in either language, mapped to the engine's action.
KEYWORDS: dict[str, str] = {
    word: spec.action for spec in VOCABULARY if spec.action for word in spec.words
}

# Actions that leave a survey or complaint in progress: with answers given, they ask first.
LEAVING_ACTIONS = frozenset({"menu", "survey", "complaint", "status"})
# Cancel words of everyday talk ("stop" ends a sentence as often as a survey): they ask too.
# BATAL, CANCEL and the Cancel button are explicit and cancel at once.
CASUAL_CANCEL_WORDS = frozenset({"stop"})

# Without a slash, only these take the text as a command, and only before a ticket number.
_SLASH_FREE = frozenset(
    spec.name
    for spec in VOCABULARY
    if spec.audience is Audience.OFFICER or spec.name is Command.STATUS
)

# Commands that are the whole message, typed without a slash.
_ALONE = {word: spec for spec in VOCABULARY if spec.alone for word in spec.words}

# Control characters, invisible formatting and lone surrogates (which no database can store).
# Newlines and tabs stay: an officer's answer keeps its lines.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff"
    r"\ud800-\udfff]"
)
# Bounded quantifiers on an anchored match: a long line costs one linear pass, never more.
_SLASHED = re.compile(r"\s*/(\w{1,64})(?:@\w{1,64})?(?=\s|\Z)")
_BARE = re.compile(r"\s*(\w{1,32})[ \t]+(\S{1,40})(?=\s|\Z)")
_TICKET_LENGTH = len("ADU") + 8
_TICKET_TRAILING = ".,:;"


def drop_invisible(text: str) -> str:
    """``text`` without control characters (but newline and tab) and invisible formatting."""
    return _INVISIBLE.sub("", text)


def strict_ticket(token: str) -> str | None:
    """The ticket when ``token`` IS a ticket number (any case, with or without dashes)."""
    compact = token.rstrip(_TICKET_TRAILING).replace("-", "")
    if len(compact) != _TICKET_LENGTH:
        return None
    return find_ticket(compact)


def text_after_words(text: str, count: int) -> str:
    """What follows the first ``count`` words of ``text``, verbatim (outer space trimmed)."""
    rest = text.lstrip()
    for _ in range(count):
        parts = rest.split(maxsplit=1)
        rest = parts[1] if len(parts) == 2 else ""
    return rest.strip()


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command found in a message.

    ``name`` is the canonical name, or the typed word (lower case) when it is not a command
    we know (the flow answers with help). ``text`` is everything after the command word,
    verbatim but for invisible characters; ``args`` is the same split on whitespace.
    """

    name: str
    args: tuple[str, ...]
    text: str
    spec: CommandSpec | None

    @property
    def known(self) -> bool:
        return self.spec is not None


def parse_command(text: str) -> ParsedCommand | None:
    """The command in ``text``, or None when it is ordinary text."""
    cleaned = drop_invisible(text)
    slashed = _SLASHED.match(cleaned)
    if slashed is not None:
        word = slashed[1].lower()
        return _parsed(word, BY_WORD.get(word), cleaned[slashed.end() :])
    alone = _ALONE.get(cleaned.strip().lower())
    if alone is not None:
        return _parsed(alone.name, alone, "")
    bare = _BARE.match(cleaned)
    if bare is None:
        return None
    spec = BY_WORD.get(bare[1].lower())
    if spec is None or spec.name not in _SLASH_FREE or strict_ticket(bare[2]) is None:
        return None
    return _parsed(spec.name, spec, cleaned[bare.end(1) :])


def _parsed(word: str, spec: CommandSpec | None, rest: str) -> ParsedCommand:
    rest = rest.strip()
    return ParsedCommand(spec.name.value if spec else word, tuple(rest.split()), rest, spec)


def inbound_fields(text: str) -> dict[str, Any]:
    """The ``Inbound`` fields of a typed message: a command, or the text as it came."""
    parsed = parse_command(text)
    if parsed is None:
        return {"kind": InboundKind.TEXT, "text": text}
    return {
        "kind": InboundKind.COMMAND,
        "command": parsed.name,
        "command_args": parsed.args,
        "command_text": parsed.text,
    }


def menu(language: str) -> tuple[tuple[str, str], ...]:
    """Telegram's command menu in ``language``: (word, catalogue key of its description)."""
    return tuple(
        (spec.word(language), f"command.{spec.name.value}")
        for spec in VOCABULARY
        if spec.in_menu and spec.audience is Audience.CITIZEN
    )
