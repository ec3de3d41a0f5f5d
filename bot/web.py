"""The aiohttp web server: webhooks and health checks, one app for every channel."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from handlers.telegram import TelegramUpdates, secret_matches
from storage import db
from storage.repository import Storage, StorageUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Telegram updates and WhatsApp payloads are far smaller
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
STORAGE_KEY = web.AppKey("storage", Storage)
TELEGRAM_KEY = web.AppKey("telegram", TelegramUpdates)
TELEGRAM_SECRET_KEY = web.AppKey("telegram_secret", str)


def build_web_app(
    storage: Storage,
    *,
    telegram: TelegramUpdates | None = None,
    telegram_secret: str | None = None,
) -> web.Application:
    """Routes: ``GET /healthz``, ``GET /readyz`` and, when configured, the Telegram webhook."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STORAGE_KEY] = storage
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if telegram is not None:
        if not telegram_secret:
            raise ValueError("the Telegram webhook needs its secret token")
        app[TELEGRAM_KEY] = telegram
        app[TELEGRAM_SECRET_KEY] = telegram_secret
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, telegram_webhook)
    return app


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The database answers and its schema is current."""
    storage = request.app[STORAGE_KEY]
    checks: dict[str, Any] = {"database": await storage.ping()}
    checks["migrations"] = checks["database"] and await db.schema_is_current(storage.engine)
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503
    )


async def telegram_webhook(request: web.Request) -> web.Response:
    """Verify the secret, bound the body, persist the update, then answer 200."""
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not secret_matches(request.app[TELEGRAM_SECRET_KEY], given):
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return web.json_response({"ok": False, "error": "too large"}, status=413)
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "not JSON"}, status=400)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    try:
        await request.app[TELEGRAM_KEY].process_json(data)
    except StorageUnavailable:
        # Telegram retries non-2xx deliveries: nothing is lost while the database is down.
        return web.json_response({"ok": False, "error": "unavailable"}, status=503)
    return web.json_response({"ok": True})
