"""The console channel: a survey in the terminal, choices shown as numbers.

Works interactively and with piped standard input (one line per message), which is how the
end-to-end tests drive it. A conversation's question is answered by its number because the
engine knows the question being asked; the numbers of a message outside the conversation (a
complaint's notification to officers, the citizen's rating question) are resolved here, as a
chat app resolves a tap on its buttons (:class:`ConsoleKeys`).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime
from typing import TextIO

from handlers.dispatcher import Dispatcher
from handlers.outbox import SendReceipt
from storage.outbox import PendingMessage
from survey_flows.catalog import text as catalogue_text
from survey_flows.commands import inbound_fields
from survey_flows.complaint_flow import TICKET_TOKEN
from survey_flows.officer import OFFICER_TOKEN
from survey_flows.plain_text import without_controls
from survey_flows.types import Channel, Choice, Inbound, InboundKind, Outbound

# A line longer than this is cut before it reaches the engine (which refuses it politely).
MAX_LINE_CHARS = 100_000


# Prompts that live outside the conversation: the engine cannot read their numbers.
SIDE_PROMPT_TOKENS = frozenset({OFFICER_TOKEN, TICKET_TOKEN})


class ConsoleKeys:
    """The numbered choices a terminal last showed each contact, like a chat app's buttons.

    Only prompts outside the conversation are kept; a conversation question shown afterwards
    takes the numbers back (the engine reads those against the question it asked).
    """

    def __init__(self) -> None:
        self._shown: dict[str, tuple[str, tuple[Choice, ...]]] = {}

    def show(self, address: str, message: Outbound) -> None:
        if not message.choices:
            return
        if message.prompt_token in SIDE_PROMPT_TOKENS:
            self._shown[address] = (message.prompt_token, message.answer_choices())
        else:
            self._shown.pop(address, None)

    def tap(self, address: str, line: str) -> tuple[str, str] | None:
        """(prompt token, choice id) when ``line`` is the number of a kept choice."""
        shown = self._shown.get(address)
        number = line.strip()
        if shown is None or not (number.isascii() and number.isdigit()) or len(number) > 3:
            return None
        token, choices = shown
        index = int(number) - 1
        return (token, choices[index].id) if 0 <= index < len(choices) else None


class ConsoleSender:
    """Prints outbound messages; choices become a numbered list."""

    channel = Channel.CONSOLE.value

    def __init__(self, stream: TextIO, keys: ConsoleKeys | None = None) -> None:
        self.stream = stream
        self.keys = keys

    async def send(self, message: PendingMessage) -> SendReceipt:
        if message.kind == "message":
            outbound = Outbound.from_json(message.payload)
            if self.keys is not None and message.address is not None:
                self.keys.show(message.address, outbound)
            self.stream.write(render(outbound))
            self.stream.flush()
        # No "answered" rows are queued for the console (Channel.edits_answered_prompts);
        # any other kind has nothing to show here.
        return SendReceipt()


def render(message: Outbound) -> str:
    """The terminal form of a message."""
    lines = [message.text]
    for number, choice in enumerate(message.answer_choices(), start=1):
        lines.append(f"  {number}. {choice.label}")
    if message.nav_choices():
        lines.append(f"  ({catalogue_text(message.language, message.hint_key)})")
    return "\n".join(lines) + "\n\n"


def parse_line(
    line: str, contact: str, event_id: str, now: datetime, keys: ConsoleKeys | None = None
) -> Inbound:
    """A typed line as an inbound event: a tap on a kept choice (``keys``), a command
    (``survey_flows.commands``) or text."""
    # NUL and other control characters (a paste, a stray key) are never meant: dropped.
    line = without_controls(line.rstrip("\r\n"))[:MAX_LINE_CHARS]
    tapped = keys.tap(contact, line) if keys is not None else None
    if tapped is not None:
        token, choice_id = tapped
        return Inbound(
            channel=Channel.CONSOLE,
            contact=contact,
            event_id=event_id,
            kind=InboundKind.CHOICE,
            received_at=now,
            choice_id=choice_id,
            prompt_token=token,
        )
    return Inbound(
        channel=Channel.CONSOLE,
        contact=contact,
        event_id=event_id,
        received_at=now,
        **inbound_fields(line),
    )


class ConsoleChannel:
    """Reads lines from ``stdin`` and feeds them to the dispatcher until end of input."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        contact: str = "local",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        keys: ConsoleKeys | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.keys = keys
        self.contact = contact
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.session = uuid.uuid4().hex[:12]
        self.count = 0

    async def send_line(self, line: str) -> None:
        """One typed line to the dispatcher (its replies are printed before this returns)."""
        self.count += 1
        event_id = f"{self.session}:{self.count}"
        inbound = parse_line(line, self.contact, event_id, self.dispatcher.clock(), self.keys)
        await self.dispatcher.handle(inbound)

    async def run(self, first_command: str = "/start") -> None:
        """Open the conversation with ``first_command``, then read until end of input."""
        await self.send_line(first_command)
        interactive = self.stdin.isatty()
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                break
            if not line.strip() and not interactive:
                continue
            await self.send_line(line)
