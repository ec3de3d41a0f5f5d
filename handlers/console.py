"""The console channel: a survey in the terminal, choices shown as numbers.

Works interactively and with piped standard input (one line per message), which is how the
end-to-end tests drive it.
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
from survey_flows.types import Channel, Inbound, Outbound

# A line longer than this is cut before it reaches the engine (which refuses it politely).
MAX_LINE_CHARS = 100_000


class ConsoleSender:
    """Prints outbound messages; choices become a numbered list."""

    channel = Channel.CONSOLE.value

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def send(self, message: PendingMessage) -> SendReceipt:
        if message.kind == "message":
            self.stream.write(render(Outbound.from_json(message.payload)))
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
        lines.append(f"  ({catalogue_text(message.language, 'nav.hint')})")
    return "\n".join(lines) + "\n\n"


def parse_line(line: str, contact: str, event_id: str, now: datetime) -> Inbound:
    """A typed line as an inbound event: a command (``survey_flows.commands``) or text."""
    line = line.rstrip("\r\n")[:MAX_LINE_CHARS]
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
    ) -> None:
        self.dispatcher = dispatcher
        self.contact = contact
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.session = uuid.uuid4().hex[:12]
        self.count = 0

    async def _send_line(self, line: str) -> None:
        self.count += 1
        event_id = f"{self.session}:{self.count}"
        inbound = parse_line(line, self.contact, event_id, self.dispatcher.clock())
        await self.dispatcher.handle(inbound)

    async def run(self, first_command: str = "/start") -> None:
        """Open the conversation with ``first_command``, then read until end of input."""
        await self._send_line(first_command)
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
            await self._send_line(line)
