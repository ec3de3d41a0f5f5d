"""``MASUK`` in the chat: a registered head gets a one-time link through the outbox; anyone
else a polite refusal and no link."""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.web import ConsoleConfig, masuk_command
from storage import Storage
from storage.directory import add_recipient
from storage.web import login_link_state
from survey_flows.commands import Command, inbound_fields
from survey_flows.types import Inbound
from survey_flows.web_access import LinkState, token_digest
from tests.support.directory import load_small_directory
from tests.support.dispatcher import T0, make_bot, text_in


def typed(contact: str, body: str) -> Inbound:
    """A console line as the console channel reads it (a command when it is one)."""
    return replace(text_in(contact, body), **inbound_fields(body))


CONFIG = ConsoleConfig(secret=b"s" * 32, base_url="https://skm.example.go.id", clock=lambda: T0)


async def test_a_registered_head_gets_a_link_and_a_citizen_does_not(storage: Storage) -> None:
    await load_small_directory(storage)
    async with storage.transaction() as tx:
        await add_recipient(tx, opd_code="rsud", role="officer", channel="console",
                            address="petugas", name="Petugas RSUD", language="en")  # fmt: skip
    bot = make_bot(storage)
    bot.dispatcher.staff_commands[Command.MASUK] = masuk_command(storage, CONFIG)
    await bot.dispatcher.handle(typed("petugas", "MASUK"))
    reply = bot.sender.texts()[-1]
    assert "valid for 10 minutes" in reply  # in the officer's language
    found = re.search(r"https://skm\.example\.go\.id/konsol/masuk/([\w-]+)", reply)
    assert found is not None
    async with storage.reading() as tx:
        assert await login_link_state(tx, token_digest(found[1]), T0) is LinkState.VALID
    await bot.dispatcher.handle(typed("warga", "masuk"))
    refusal = bot.sender.texts()[-1]
    assert "hanya untuk pimpinan dan petugas OPD yang terdaftar" in refusal
    assert "/masuk/" not in refusal
