"""The web console's wiring: its configuration from the settings, its server in console mode,
and ``skm-bot web login-link``."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import timedelta

from aiohttp import web

from bot.directory_file import check_directory
from bot.settings import Settings
from handlers.dispatcher import Dispatcher
from handlers.web import ConsoleConfig, build_console, masuk_command, mount
from handlers.web.desk import DESK_KEY, DeskServices, PhotoFetch
from handlers.web.directory import DIRECTORY_CHECK
from storage import Storage
from survey_flows.commands import Command

log = logging.getLogger(__name__)


def web_secret(settings: Settings, *, console_mode: bool) -> bytes:
    """The key that signs session cookies and derives CSRF tokens.

    WEB_SESSION_SECRET when set. Otherwise, as a service: derived from PSEUDONYM_SECRET (so
    every worker agrees and sessions survive a restart); in console mode: random for this
    process (sessions end when it stops), and the log says so once.
    """
    if settings.web_session_secret:
        return settings.web_session_secret.get_secret_value().encode()
    if console_mode or not settings.pseudonym_secret:
        log.warning("WEB_SESSION_SECRET is not set: generated one for this process; "
                    "console sessions end when it stops")  # fmt: skip
        return secrets.token_bytes(32)
    log.info("WEB_SESSION_SECRET is not set: derived from PSEUDONYM_SECRET")
    pseudonym = settings.pseudonym_secret.get_secret_value().encode()
    return hmac.new(pseudonym, b"skm-bot web console cookies", hashlib.sha256).digest()


def console_port(settings: Settings) -> int:
    return settings.web_port or settings.http_port


def base_url(settings: Settings) -> str:
    """Where sign-in links point: PUBLIC_BASE_URL, else this machine's console port."""
    return settings.public_base_url or f"http://127.0.0.1:{console_port(settings)}"


def console_config(settings: Settings, *, console_mode: bool = False) -> ConsoleConfig:
    url = base_url(settings)
    secure = settings.web_cookie_secure
    return ConsoleConfig(
        secret=web_secret(settings, console_mode=console_mode),
        prefix=settings.web_path_prefix,
        base_url=url,
        idle=timedelta(minutes=settings.web_idle_minutes),
        secure_cookies=url.startswith("https://") if secure is None else secure,
        organisation=settings.organisation_name,
        zone=settings.zone,
        min_respondents=settings.report_min_respondents,
        telegram_bot_username=(settings.telegram_bot_username or "").strip().lstrip("@") or None,
        whatsapp_number=(settings.whatsapp_number or "").strip() or None,
        public_base_url=settings.public_base_url or None,
        followup_template=settings.whatsapp_followup_template_name,
        evidence_max_bytes=settings.rtl_evidence_max_bytes,
        evidence_max_files=settings.rtl_evidence_max_files,
    )


def attach_console(
    app: web.Application | None,
    storage: Storage,
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    console_mode: bool = False,
    photos: Mapping[str, PhotoFetch] | None = None,
) -> web.Application | None:
    """Build the console, register ``/masuk`` with the dispatcher, and mount the console in
    ``app`` (or, when ``app`` is None, in an application of its own, which is returned).
    ``photos``: per channel, how the complaint desk fetches a photo (Telegram's getFile)."""
    if not settings.web_console:
        return None
    config = console_config(settings, console_mode=console_mode)
    dispatcher.staff_commands[Command.MASUK] = masuk_command(storage, config)
    host = app if app is not None else web.Application()
    console = build_console(storage, config)
    console[DESK_KEY] = DeskServices(dispatcher.flow_settings, dispatcher.calendar,
                                     dispatcher.outbox.wake, photos or {})  # fmt: skip
    console[DIRECTORY_CHECK] = check_directory  # the same validation as `units import`
    mount(host, console, config.prefix)
    return host if app is None else None


async def serve_console_alone(
    stack: AsyncExitStack, app: web.Application, host: str, port: int, *, shared: bool = False
) -> bool:
    """Serve ``app`` on ``host:port`` until ``stack`` closes; False (said on stderr) when the
    port is taken: the chat goes on without the console. ``shared``: the workers of
    ``--workers`` share the port, as they share HTTP_PORT."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    try:
        await web.TCPSite(runner, host, port, reuse_port=shared or None).start()
    except OSError as exc:
        print(f"The web console could not listen on {host}:{port} ({exc.strerror}); "  # noqa: T201
              "set WEB_PORT to a free port.", file=sys.stderr)  # fmt: skip
        return False
    return True
