"""Logging for `skm-bot`: JSON lines for a service, plain text for people.

``LOG_FORMAT=json`` writes one JSON object per line on stderr: ``ts``, ``level``, ``logger``,
``event`` (the message) and the record's extra fields (``event_id``, ``channel``, ``outcome``,
``step_ms``, ``reason`` ...). Whatever the format, nothing identifying leaves the process in
plain: fields that hold an address are replaced by a keyed hash, fields that could hold a message
body are dropped, and in every remaining string (the message, reasons, tracebacks) runs of seven
or more digits (phone numbers, chat ids) and WhatsApp message ids (which encode the phone
number) are replaced by a keyed hash too. The same value always hashes the same within a
deployment, so lines can still be correlated.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from handlers import json_codec

LogFormat = Literal["json", "text"]

# Attributes every LogRecord has; anything else came in through ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Fields that name a person's platform address: always hashed.
_ADDRESS_FIELDS = frozenset(
    {"contact", "address", "chat", "chat_id", "phone", "wa_id", "user_id", "recipient", "to"}
)
# Fields that could carry what a person wrote: never logged.
_BODY_FIELDS = frozenset({"text", "body", "payload", "suggestion", "caption", "quoted_text"})
# Phone numbers and chat ids (7+ digits, maybe with a +), and WhatsApp message ids.
_IDENTIFYING = re.compile(r"wamid\.[A-Za-z0-9_=+/-]+|\+?\d{7,}")
# Libraries that would log URLs with the bot token (httpx) or chatter at INFO.
_QUIET = ("httpx", "httpcore", "apscheduler", "aiohttp.access", "telegram", "asyncio")


class Pseudonymiser:
    """Keyed hashes of identifying values: ``#`` and 12 hex digits."""

    def __init__(self, key: bytes) -> None:
        self.key = hmac.new(key, b"skm-bot logs", hashlib.sha256).digest()

    def hash(self, value: object) -> str:
        digest = hmac.new(self.key, str(value).encode("utf-8", "replace"), hashlib.sha256)
        return "#" + digest.hexdigest()[:12]

    def scrub(self, text: str) -> str:
        return _IDENTIFYING.sub(lambda match: self.hash(match.group().lstrip("+")), text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, identifying values hashed."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        super().__init__()
        self.pseudonymiser = pseudonymiser

    def format(self, record: logging.LogRecord) -> str:
        scrub = self.pseudonymiser.scrub
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": scrub(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name in _RECORD_FIELDS or name.startswith("_") or name in _BODY_FIELDS:
                continue
            if name in _ADDRESS_FIELDS and value is not None:
                entry[name] = self.pseudonymiser.hash(value)
            elif isinstance(value, str):
                entry[name] = scrub(value)
            elif value is None or isinstance(value, bool | int | float):
                entry[name] = value
            else:
                entry[name] = scrub(str(value))
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json_codec.dumps_str(entry)


class TextFormatter(logging.Formatter):
    """The classic one-line format, with identifying values hashed like the JSON one."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.pseudonymiser = pseudonymiser

    def format(self, record: logging.LogRecord) -> str:
        return self.pseudonymiser.scrub(super().format(record))


def configure_logging(
    log_format: LogFormat,
    level: int | str,
    *,
    key: bytes | None = None,
    stream: TextIO | None = None,
) -> None:
    """Route the root logger to ``stream`` (stderr) in ``log_format`` at ``level``.

    ``key`` keys the hashes (derive it from the deployment's secret so that hashes are stable
    across restarts); without one a random key is used.
    """
    pseudonymiser = Pseudonymiser(key or secrets.token_bytes(32))
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter(pseudonymiser) if log_format == "json" else TextFormatter(pseudonymiser)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python warnings become records too: every line is JSON


__all__ = ["JsonFormatter", "LogFormat", "Pseudonymiser", "TextFormatter", "configure_logging"]
