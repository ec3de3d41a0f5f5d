"""``skm-bot web login-link --admin NAME``: a one-time sign-in link for a console admin."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.app import open_storage
from bot.settings import ConfigError, Settings
from bot.web_console import base_url
from storage.web import create_login_link, ensure_admin, record_audit
from survey_flows.web_access import LOGIN_LINK_TTL, PrincipalKind, new_token, token_digest

HELP = """\
The web console (docs/web.md). Heads and officers sign in by sending MASUK (Telegram: /masuk)
to the bot; the first administrator (Bagian Organisasi) gets a link here.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = subparsers.add_parser(
        "web",
        help="the web console: sign-in links for administrators",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = web.add_subparsers(dest="web_command", required=True, metavar="ACTION")
    link = actions.add_parser(
        "login-link",
        help="print a one-time sign-in link (valid 10 minutes) for an administrator",
    )
    link.add_argument(
        "--admin",
        required=True,
        metavar="NAME",
        help="the administrator's name (created, or re-activated, when needed)",
    )


async def dispatch(args: argparse.Namespace, settings: Settings) -> int | None:
    if args.command != "web":
        return None
    name = " ".join(args.admin.split())
    if not name or len(name) > 120:
        raise ConfigError("--admin: a name of 1 to 120 characters")
    if not settings.web_console:
        raise ConfigError("WEB_CONSOLE: the web console is switched off")
    token = new_token()
    now = datetime.now(UTC)
    async with open_storage(settings) as storage, storage.transaction() as tx:
        admin_id, created = await ensure_admin(tx, name, now)
        await create_login_link(tx, token_digest(token), PrincipalKind.ADMIN, admin_id, now,
                                LOGIN_LINK_TTL)  # fmt: skip
        await record_audit(tx, now, None, "cli.login_link", "ok", target=f"admin:{admin_id}",
                           detail="admin created" if created else None)  # fmt: skip
    minutes = int(LOGIN_LINK_TTL.total_seconds() // 60)
    print(f"{base_url(settings)}{settings.web_path_prefix}/masuk/{token}")
    print(f"(one use, valid for {minutes} minutes, for administrator {name!r})")
    return 0
