"""``/masuk`` (WhatsApp and console: ``MASUK``): a registered head or officer asks the bot for
a one-time sign-in link to the web console. The reply goes through the outbox like every
reply; only the SHA-256 of the link's token is kept in ``web_login_links``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from handlers.web.core import ConsoleConfig
from storage import Storage
from storage.directory import recipients_by_address
from storage.web import create_login_link
from survey_flows.catalog import text
from survey_flows.types import Inbound, Outbound
from survey_flows.web_access import (
    LOGIN_LINK_TTL,
    PrincipalKind,
    new_token,
    preferred_registration,
    token_digest,
)

Replies = list[tuple[str, dict[str, Any]]]


def masuk_command(
    storage: Storage, config: ConsoleConfig
) -> Callable[[Inbound], Awaitable[Replies]]:
    """The dispatcher's staff command for ``/masuk``."""

    async def handle(inbound: Inbound) -> Replies:
        token = new_token()
        async with storage.transaction() as tx:
            registrations = await recipients_by_address(
                tx, inbound.channel.value, inbound.contact, phone=inbound.phone, remember=False
            )
            chosen = preferred_registration([(r.id, r.role, r.opd_code) for r in registrations])
            if chosen is not None:
                await create_login_link(tx, token_digest(token), PrincipalKind.RECIPIENT, chosen,
                                        config.clock(), LOGIN_LINK_TTL)  # fmt: skip
        if chosen is None:
            return [("message", Outbound(text("id", "web.not_registered")).to_json())]
        language = next(r.language for r in registrations if r.id == chosen)
        minutes = int(LOGIN_LINK_TTL.total_seconds() // 60)
        reply = Outbound(
            text(language, "web.login_link", url=config.link(f"/masuk/{token}"), minutes=minutes),
            language=language,
        )
        return [("message", reply.to_json())]

    return handle
