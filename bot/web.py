"""The aiohttp web server: webhooks and health checks, one app for every channel."""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from aiohttp import web

from bot.metrics import CONTENT_TYPE, Metrics
from handlers import json_codec
from handlers.dispatcher import utc_now
from handlers.telegram import WEBHOOK_OK, MalformedUpdate, TelegramUpdates, secret_matches
from handlers.whatsapp import (
    SIGNATURE_HEADER,
    WhatsAppUpdates,
    challenge_answer,
    signature_valid,
)
from storage import Storage, db
from storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Telegram updates and WhatsApp payloads are far smaller
TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"
STORAGE_KEY = web.AppKey("storage", Storage)
TELEGRAM_KEY = web.AppKey("telegram", TelegramUpdates)
TELEGRAM_SECRET_KEY = web.AppKey("telegram_secret", str)
WHATSAPP_WEBHOOK_PATH = "/whatsapp/webhook"
WHATSAPP_KEY = web.AppKey("whatsapp", WhatsAppUpdates)
WHATSAPP_APP_SECRET_KEY = web.AppKey("whatsapp_app_secret", str)
WHATSAPP_VERIFY_TOKEN_KEY = web.AppKey("whatsapp_verify_token", str)
METRICS_KEY = web.AppKey("metrics", Metrics)
OPS_TOKEN_KEY = web.AppKey("ops_token", str)


# JSON escapes of NUL and of UTF-16 surrogates: valid JSON, but a lone surrogate cannot be encoded
# and PostgreSQL's text cannot hold NUL. Real platforms never send them in ids or texts.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> Any:
    """``value`` with NUL and lone surrogates removed from every string in it."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


# Deeper than any Telegram update or WhatsApp payload (about 8 levels); a deeper document is
# refused before anything walks it.
MAX_JSON_DEPTH = 32


def _too_deep(body: bytes, data: Any) -> bool:
    """True when ``data`` nests deeper than :data:`MAX_JSON_DEPTH` (brackets inside strings,
    which a citizen may type, do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False  # the usual case, without a walk
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


def parse_json_body(body: bytes) -> Any:
    """The JSON document in ``body``, with unstorable characters removed; ValueError if none.

    Refused as not JSON: nesting deeper than :data:`MAX_JSON_DEPTH`, ``NaN``/``Infinity``.
    A body in UTF-16 or UTF-32 (JSON allows them) is always cleaned: its escapes do not show
    in the bytes.
    """
    data = json_codec.loads(body)
    if _too_deep(body, data):
        raise ValueError("nested too deeply")
    if _SUSPECT_ESCAPE.search(body) or json.detect_encoding(body) != "utf-8":
        return _storable(data)
    return data


def build_web_app(
    storage: Storage,
    *,
    telegram: TelegramUpdates | None = None,
    telegram_secret: str | None = None,
    whatsapp: WhatsAppUpdates | None = None,
    whatsapp_app_secret: str | None = None,
    whatsapp_verify_token: str | None = None,
    metrics: Metrics | None = None,
    ops_token: str | None = None,
) -> web.Application:
    """Routes: ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (with ``metrics``) and,
    when configured, the webhooks. With ``ops_token``, ``/readyz`` and ``/metrics`` answer
    only ``Authorization: Bearer <ops_token>`` (METRICS_TOKEN)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STORAGE_KEY] = storage
    if ops_token:
        app[OPS_TOKEN_KEY] = ops_token
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics is not None:
        app[METRICS_KEY] = metrics
        app.router.add_get("/metrics", metrics_page)
    if telegram is not None:
        if not telegram_secret:
            raise ValueError("the Telegram webhook needs its secret token")
        app[TELEGRAM_KEY] = telegram
        app[TELEGRAM_SECRET_KEY] = telegram_secret
        app.router.add_post(TELEGRAM_WEBHOOK_PATH, telegram_webhook)
    if whatsapp is not None:
        if not whatsapp_app_secret or not whatsapp_verify_token:
            raise ValueError("the WhatsApp webhook needs the app secret and the verify token")
        app[WHATSAPP_KEY] = whatsapp
        app[WHATSAPP_APP_SECRET_KEY] = whatsapp_app_secret
        app[WHATSAPP_VERIFY_TOKEN_KEY] = whatsapp_verify_token
        app.router.add_get(WHATSAPP_WEBHOOK_PATH, whatsapp_verify)
        app.router.add_post(WHATSAPP_WEBHOOK_PATH, whatsapp_webhook)
    return app


async def healthz(request: web.Request) -> web.Response:
    """The process is up."""
    return web.json_response({"status": "ok"})


def _ops_allowed(request: web.Request) -> bool:
    """No token configured, or the request carries it as a bearer token."""
    token = request.app.get(OPS_TOKEN_KEY)
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    try:
        given_bytes = given.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given_bytes, f"Bearer {token}".encode())


def _ops_refused() -> web.Response:
    return web.json_response(
        {"ok": False, "error": "unauthorised"},
        status=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def readyz(request: web.Request) -> web.Response:
    """The database answers and its schema is current."""
    if not _ops_allowed(request):
        return _ops_refused()
    storage = request.app[STORAGE_KEY]
    checks: dict[str, Any] = {"database": await storage.ping()}
    checks["migrations"] = checks["database"] and await db.schema_is_current(storage.engine)
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not ready", **checks}, status=200 if ready else 503
    )


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus metrics (text exposition format); see :mod:`bot.metrics`."""
    if not _ops_allowed(request):
        return _ops_refused()
    body = await request.app[METRICS_KEY].render(request.app[STORAGE_KEY], utc_now())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def _count(request: web.Request, channel: str, outcome: str, amount: int = 1) -> None:
    metrics = request.app.get(METRICS_KEY)
    if metrics is not None:
        metrics.count_inbound(channel, outcome, amount)


def _refuse(
    request: web.Request, channel: str, outcome: str, status: int, error: str
) -> web.Response:
    _count(request, channel, outcome)
    return web.json_response({"ok": False, "error": error}, status=status)


async def telegram_webhook(request: web.Request) -> web.Response:
    """Verify the secret, bound the body, persist the update, then answer 200."""
    channel = "telegram"
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
    if not secret_matches(request.app[TELEGRAM_SECRET_KEY], given):
        return _refuse(request, channel, "refused", 403, "forbidden")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refuse(request, channel, "invalid", 413, "too large")
    try:
        data = parse_json_body(await request.read())
    except (ValueError, UnicodeDecodeError):
        return _refuse(request, channel, "invalid", 400, "not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _refuse(request, channel, "invalid", 400, "not an update")
    try:
        processed = await request.app[TELEGRAM_KEY].process_webhook(data)
    except MalformedUpdate as exc:
        # An update we cannot read (a field missing or mistyped, as in Telegram's own webhook
        # guide): answered 200 and ignored, or Telegram would retry it for hours.
        log.info("update not understood", extra={"reason": str(exc)})
        _count(request, channel, "ignored")
        return _json_ok(WEBHOOK_OK)
    except StorageUnavailable:
        # Telegram retries non-2xx deliveries: nothing is lost while the database is down.
        return _refuse(request, channel, "unavailable", 503, "unavailable")
    if not processed.dispatched:  # dispatched events are counted by the dispatcher's observer
        _count(request, channel, "ignored")
    # The state and the replies are committed: the 200 may go, with the callback's answer.
    return _json_ok(processed.reply)


def _json_ok(body: bytes) -> web.Response:
    """A 200 with a JSON body already serialised (the webhooks' hot answer)."""
    return web.Response(body=body, content_type="application/json")


async def whatsapp_verify(request: web.Request) -> web.Response:
    """Meta's callback check: echo ``hub.challenge`` when the verify token matches."""
    challenge = challenge_answer(request.query, request.app[WHATSAPP_VERIFY_TOKEN_KEY])
    if challenge is None:
        return web.Response(status=403, text="forbidden")
    return web.Response(text=challenge)


async def whatsapp_webhook(request: web.Request) -> web.Response:
    """Verify the signature over the raw body, persist every item, then answer 200."""
    channel = "whatsapp"
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refuse(request, channel, "invalid", 413, "too large")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return _refuse(request, channel, "refused", 401, "signature missing")
    body = await request.read()  # aiohttp refuses bodies over client_max_size with 413
    if not signature_valid(request.app[WHATSAPP_APP_SECRET_KEY], body, signature):
        return _refuse(request, channel, "refused", 403, "forbidden")
    try:
        data = parse_json_body(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(request, channel, "invalid", 400, "not JSON")
    if not isinstance(data, dict):
        return _refuse(request, channel, "invalid", 400, "not a payload")
    try:
        report = await request.app[WHATSAPP_KEY].process(data)
    except StorageUnavailable:
        # Meta retries non-2xx deliveries; what was stored already is deduplicated then.
        return _refuse(request, channel, "unavailable", 503, "unavailable")
    _count(request, channel, "status", report.statuses)
    _count(request, channel, "page", report.pages)
    _count(request, channel, "ignored", len(report.ignored))
    if report.failed:
        _count(request, channel, "failed", report.failed)
        if not report.stored:  # nothing of it kept: Meta's retry may fare better
            return web.json_response({"ok": False, "error": "not processed"}, status=500)
    return web.json_response(
        {"ok": True, "messages": report.messages, "statuses": report.statuses},
        dumps=json_codec.dumps_str,
    )
